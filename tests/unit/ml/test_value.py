"""The 12-month value model (ml/value.py) on buyers simulated from BG/NBD and Gamma-Gamma."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.value import AGE, FREQUENCY, MONETARY, RECENCY, CustomerValueModel
from tests.unit.ml.test_clv import BG, GG, simulate_bgnbd


def buyers(n: int = 4000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x, t_x, age, _ = simulate_bgnbd(n, rng.uniform(100, 700, n), rng, **BG)
    # Gamma-Gamma: a customer's mean spend per purchase ~ Gamma(p x, nu x), nu ~ Gamma(q, v)
    nu = rng.gamma(GG["q"], 1.0 / GG["v"], n)
    monetary = np.where(x > 0, rng.gamma(GG["p"] * np.maximum(x, 1), 1.0 / (nu * np.maximum(x, 1))), np.nan)
    revenue = np.nan_to_num(monetary) * (x + 1)
    return pd.DataFrame(
        {
            FREQUENCY: x,
            RECENCY: t_x,
            AGE: age,
            MONETARY: monetary,
            "revenue_lifetime": revenue,
            "margin_lifetime": 0.4 * revenue,
        }
    )


@pytest.fixture(scope="module")
def model() -> CustomerValueModel:
    return CustomerValueModel().fit(buyers())


def test_a_repeat_buyer_without_repeat_revenue_is_valued_at_the_population_mean_spend(model):
    # real data has free and fully discounted orders: a repeat buyer whose repeats brought nothing
    frame = buyers(6, seed=11)
    frame[FREQUENCY] = [3.0, 3.0, 3.0, 0.0, 2.0, 2.0]
    frame[RECENCY] = [200.0, 200.0, 200.0, 0.0, 150.0, 150.0]
    frame[AGE] = 300.0
    frame[MONETARY] = [0.0, -5.0, np.nan, np.nan, 40.0, 40.0]
    value = model.value(frame)
    assert value["expected_spend_12m"].notna().all()
    newcomer_mean = model.gamma_gamma_.conditional_expected_average_value([0.0], [0.0])[0]
    per_purchase = value["expected_spend_12m"] / value["expected_transactions_12m"]
    # no revenue, negative revenue, unknown revenue: the population's mean, like a customer without repeats
    np.testing.assert_allclose(per_purchase.iloc[:4], newcomer_mean, rtol=1e-9)
    assert (value["clv_12m"].iloc[:3] > 0).all()
    # a known spend still moves the expectation away from the mean
    assert abs(per_purchase.iloc[4] - newcomer_mean) > 1.0
