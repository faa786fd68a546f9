"""Customer value over the next 12 months, as one model for the registry: BG/NBD for repeat purchases
and P(alive), Gamma-Gamma for spend per purchase, and optionally a machine-learning regressor of
12-month spend that replaces their spend estimate when it was better on the holdout.

The inputs are the point-in-time features (`ml.customer_features`): `bgnbd_frequency` (purchase days
after the first), `bgnbd_recency_days`, `bgnbd_age_days`, `bgnbd_monetary_value` and the lifetime
revenue and margin for the customer's margin rate. Customers without a purchase by the cutoff are
outside the BG/NBD population: their expected purchases and P(alive) are empty, their spend is the
regressor's when it serves, else 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from ml.clv import BetaGeoFitter, GammaGammaFitter, customer_lifetime_value

FREQUENCY, RECENCY, AGE, MONETARY = (
    "bgnbd_frequency",
    "bgnbd_recency_days",
    "bgnbd_age_days",
    "bgnbd_monetary_value",
)
BGNBD_COLUMNS = [FREQUENCY, RECENCY, AGE, MONETARY, "revenue_lifetime", "margin_lifetime"]
PROBABILISTIC = "bgnbd_gamma_gamma"
REGRESSOR = "spend_regressor"
DAYS_PER_YEAR = 365.0


def is_buyer(frame: pd.DataFrame) -> np.ndarray:
    """Customers with a first purchase on or before the cutoff (the BG/NBD population)."""
    return frame[AGE].notna().to_numpy()


class CustomerValueModel(BaseEstimator):
    """Expected purchases, P(alive), expected spend and discounted margin (CLV) over `horizon_days`.

    `penalizer`: a small L2 penalty on the BG/NBD parameters, so a few hundred buyers (a young or
    small customer base) still give a finite fit instead of a dropout parameter running off.

    `predict` returns the expected (undiscounted) spend over the horizon, the quantity the holdout
    compares with actual spend; `value` returns every column the scores table needs.
    """

    def __init__(
        self,
        horizon_days: int = 365,
        annual_discount_rate: float = 0.10,
        penalizer: float = 0.001,
        spend_regressor: Any = None,
        regressor_features: list[str] | None = None,
    ) -> None:
        self.horizon_days = horizon_days
        self.annual_discount_rate = annual_discount_rate
        self.penalizer = penalizer
        self.spend_regressor = spend_regressor
        self.regressor_features = regressor_features

    @property
    def method(self) -> str:
        return REGRESSOR if self.spend_regressor is not None else PROBABILISTIC

    def fit(self, frame: pd.DataFrame, y: Any = None) -> CustomerValueModel:
        """Fit BG/NBD on every buyer and Gamma-Gamma on the repeat buyers of `frame` (one cutoff)."""
        buyers = frame[is_buyer(frame)]
        if len(buyers) < 10:
            raise ValueError(f"too few buyers to fit BG/NBD: {len(buyers)} with a purchase by the cutoff")
        self.bgnbd_ = BetaGeoFitter(penalizer=self.penalizer).fit(
            buyers[FREQUENCY], buyers[RECENCY], buyers[AGE]
        )
        repeat = buyers[(buyers[FREQUENCY] > 0) & (buyers[MONETARY] > 0)]
        # no penalty here: shrinking q towards 0 would leave the mean spend undefined (q <= 1)
        self.gamma_gamma_ = GammaGammaFitter().fit(repeat[FREQUENCY], repeat[MONETARY])
        revenue = float(buyers["revenue_lifetime"].sum())
        self.population_margin_rate_ = (
            float(buyers["margin_lifetime"].sum()) / revenue if revenue > 0 else 0.0
        )
        return self

    def with_regressor(self, regressor: Any, features: list[str]) -> CustomerValueModel:
        """The same fitted BG/NBD and Gamma-Gamma, with the regressor's spend instead of theirs."""
        model = CustomerValueModel(
            self.horizon_days, self.annual_discount_rate, self.penalizer, regressor, list(features)
        )
        model.bgnbd_, model.gamma_gamma_ = self.bgnbd_, self.gamma_gamma_
        model.population_margin_rate_ = self.population_margin_rate_
        return model

    def margin_rate(self, frame: pd.DataFrame) -> np.ndarray:
        """The customer's lifetime margin / revenue in [0, 1]; the population's rate without revenue."""
        revenue = frame["revenue_lifetime"].to_numpy(dtype=float)
        margin = frame["margin_lifetime"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(revenue > 0, margin / revenue, np.nan)
        return np.clip(np.nan_to_num(rate, nan=self.population_margin_rate_), 0.0, 1.0)

    def repeat_value(self, rows: pd.DataFrame) -> pd.Series:
        """Mean revenue of the repeat purchases, as Gamma-Gamma reads it. A repeat buyer whose repeat
        purchases brought no revenue (free or fully discounted orders) tells nothing about spend: they
        get the population's mean, where Gamma-Gamma's expectation then stays."""
        monetary = rows[MONETARY].fillna(0.0)
        no_value = (rows[FREQUENCY] > 0) & (monetary <= 0)
        if not no_value.any():
            return monetary
        return monetary.mask(no_value, self.gamma_gamma_.population_mean())

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.value(frame)["expected_spend_12m"].to_numpy()

    def value(self, frame: pd.DataFrame) -> pd.DataFrame:
        buyers = is_buyer(frame)
        rows = frame[buyers]
        count = np.full(len(frame), np.nan)
        alive = np.full(len(frame), np.nan)
        probabilistic_spend = np.zeros(len(frame))
        if len(rows):
            f, r, t = rows[FREQUENCY], rows[RECENCY], rows[AGE]
            count[buyers] = self.bgnbd_.expected_purchases(self.horizon_days, f, r, t)
            alive[buyers] = self.bgnbd_.probability_alive(f, r, t)
            monetary = self.repeat_value(rows)
            average = self.gamma_gamma_.conditional_expected_average_value(f, monetary)
            probabilistic_spend[buyers] = count[buyers] * average
        margin_rate = self.margin_rate(frame)
        if self.spend_regressor is not None:
            spend = np.clip(self.spend_regressor.predict(frame[self.regressor_features]), 0.0, None)
            # the regressor gives a year's total: spread evenly over the months, each month discounted
            months = np.arange(1, int(np.ceil(self.horizon_days / 30.0)) + 1)
            discount = np.mean(1.0 / (1.0 + self.annual_discount_rate) ** (months * 30.0 / DAYS_PER_YEAR))
            clv = spend * margin_rate * discount
        else:
            spend = probabilistic_spend
            clv = np.zeros(len(frame))
            if len(rows):
                clv[buyers] = customer_lifetime_value(
                    self.bgnbd_,
                    self.gamma_gamma_,
                    rows[FREQUENCY],
                    rows[RECENCY],
                    rows[AGE],
                    monetary,
                    margin_rate[buyers],
                    horizon_days=self.horizon_days,
                    annual_discount_rate=self.annual_discount_rate,
                )
        return pd.DataFrame(
            {
                "expected_transactions_12m": count,
                "p_alive": alive,
                "expected_spend_12m": spend,
                "clv_12m": clv,
            },
            index=frame.index,
        )
