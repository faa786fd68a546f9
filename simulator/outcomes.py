"""Outcomes per person as of the published day, from the simulated future, and the best-possible
30-day purchase probability under the generating process."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.behaviour import Clock
from simulator.persons import Persons
from simulator.reference import PRODUCT_LINES


def p_purchase_30d(p: Persons, tx: pd.DataFrame, clock: Clock, as_of: int) -> np.ndarray:
    """P(alive | λ, p, repeat purchases up to as_of) × P(≥1 purchase in the next 30 days | alive, λ, season).

    BG/NBD with individual parameters: with x repeat purchases and the last one at t_x,
    P(alive) = 1 / (1 + p/(1-p) · exp(λ · Λ(t_x, as_of))) for x > 0 and 1 for x = 0, where Λ is the
    seasonal intensity integrated over the days after t_x. Campaign-driven (incremental) purchases are left
    out: they do not cause dropout and the model does not know future campaigns."""
    n = p["idx"].size
    base = tx[(tx["campaign"] < 0) & tx["repeat"] & (tx["day"] <= as_of)]
    x = np.bincount(base["person"].to_numpy(), minlength=n)
    t_x = np.full(n, -1, dtype=np.int64)
    np.maximum.at(t_x, base["person"].to_numpy(), base["day"].to_numpy())
    gap = clock.at(np.array(as_of + 1)) - clock.at(t_x + 1)
    ratio = p["p_drop"] / (1 - p["p_drop"])
    alive = np.where(x > 0, 1.0 / (1.0 + ratio * np.exp(np.minimum(p["lam"] * gap, 700))), 1.0)
    window = clock.at(np.array(as_of + 31)) - clock.at(np.array(as_of + 1))
    return alive * (1.0 - np.exp(-p["lam"] * window))


def outcomes(p: Persons, tx: pd.DataFrame, lines: pd.DataFrame, clock: Clock, as_of: int) -> pd.DataFrame:
    """One row per person acquired on or before as_of."""
    n = p["idx"].size
    person = tx["person"].to_numpy()
    day = tx["day"].to_numpy()
    total = tx["total"].to_numpy()

    def count(lo: int, hi: int, weights: np.ndarray | None = None) -> np.ndarray:
        sel = (day > lo) & (day <= hi)
        return np.bincount(person[sel], None if weights is None else weights[sel], minlength=n)

    past_365 = count(as_of - 365, as_of)
    out = pd.DataFrame(
        {
            "person_id": p["person_id"].astype(object),
            "as_of": np.datetime64(as_of, "D"),
            "p_purchase_30d": p_purchase_30d(p, tx, clock, as_of),
            "purchased_30d": count(as_of, as_of + 30) > 0,
            "purchases_365d": count(as_of, as_of + 365),
            "spend_365d": np.round(count(as_of, as_of + 365, total), 2),
            "margin_365d": np.round(count(as_of, as_of + 365, tx["margin"].to_numpy()), 2),
            "churned_180d": pd.array(
                np.where(past_365 > 0, count(as_of, as_of + 180) == 0, pd.NA), dtype="boolean"
            ),
            "purchases_past_365d": past_365,
        }
    )
    lt = lines["tx"].to_numpy()
    ld = day[lt]
    sel = (ld > as_of) & (ld <= as_of + 90)
    for li, line in enumerate(PRODUCT_LINES):
        s = sel & (lines["line"].to_numpy() == li)
        out[f"purchased_90d_{line}"] = np.bincount(person[lt[s]], minlength=n) > 0
    return out[p["acquisition_day"] <= as_of].reset_index(drop=True)
