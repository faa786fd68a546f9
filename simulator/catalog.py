"""The shared product catalogue and campaign definitions (global to a world, not per person)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.reference import CAMPAIGN_CHANNELS, CAMPAIGN_TYPES, LINE_ECONOMICS, PRODUCT_LINES

PRODUCTS_PER_LINE = 60
ADJECTIVES = ("Basic", "Comfort", "Premium", "Classic", "Sport", "Eco", "Deluxe", "Mini", "Pro", "Soft")
TYPE_UPLIFT = {
    "ad": 0.015,
    "offer": 0.07,
    "cross_sell": 0.04,
    "up_sell": 0.03,
    "loyalty_promotion": 0.05,
    "service_follow_up": 0.025,
}
CHANNEL_MULT = {"email": 1.0, "web": 0.6, "social": 0.5, "sms": 1.2, "post": 0.9, "store": 1.1}
TIER_MULT = {"low": 0.4, "mid": 1.0, "high": 1.7}


def make_products(rng: np.random.Generator, start_day: int, horizon_days: int) -> pd.DataFrame:
    """Products per line sorted by price; some change price (or are discontinued) once."""
    frames = []
    for li, line in enumerate(PRODUCT_LINES):  # six product lines
        median, sigma, margin, cats = LINE_ECONOMICS[line]
        price = np.sort(np.round(median * np.exp(rng.normal(0, sigma, PRODUCTS_PER_LINE)), 0) - 0.01).clip(
            1.99
        )
        cost = np.round(price * (1 - margin) * rng.uniform(0.85, 1.15, PRODUCTS_PER_LINE), 2)
        cat = np.array(cats)[rng.integers(0, len(cats), PRODUCTS_PER_LINE)]
        adj = np.array(ADJECTIVES)[rng.integers(0, len(ADJECTIVES), PRODUCTS_PER_LINE)]
        k = np.arange(PRODUCTS_PER_LINE)
        frames.append(
            pd.DataFrame(
                {
                    "product_id": [f"PR{li + 1}{i:04d}" for i in k],
                    "sku": [f"SKU-{line[:3].upper()}-{rng.integers(10000, 99999)}" for _ in k],
                    "product_name": [
                        f"{c.capitalize()} {a} {i + 1}" for c, a, i in zip(cat, adj, k, strict=True)
                    ],
                    "product_line": line,
                    "category": cat,
                    "price0": price,
                    "cost": cost,
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    n = len(df)
    df["line_idx"] = np.repeat(np.arange(len(PRODUCT_LINES)), PRODUCTS_PER_LINE)
    df["created_day"] = start_day - rng.integers(30, 2000, n)
    change = rng.random(n) < 0.15
    df["change_day"] = np.where(change, start_day + rng.integers(-300, horizon_days, n), 10**7)
    df["price1"] = np.round(df["price0"] * rng.uniform(0.85, 1.15, n), 0) - 0.01
    df["price1"] = df["price1"].clip(lower=1.99)
    df["active1"] = (rng.random(n) > 0.3).astype(np.int64)
    return df


def make_campaigns(rng: np.random.Generator, start_day: int, horizon_days: int) -> pd.DataFrame:
    """About two campaigns a month over the horizon (and a few just before the start)."""
    n = max(4, (horizon_days + 60) // 15)
    first = start_day - 45 + np.sort(rng.integers(0, horizon_days + 30, n))
    ctype = np.array(CAMPAIGN_TYPES)[rng.choice(len(CAMPAIGN_TYPES), n, p=(0.2, 0.3, 0.15, 0.1, 0.15, 0.1))]
    channel = np.array([CAMPAIGN_CHANNELS[t][rng.integers(0, len(CAMPAIGN_CHANNELS[t]))] for t in ctype])
    line = np.array(PRODUCT_LINES)[rng.integers(0, len(PRODUCT_LINES), n)].astype(object)
    line[np.isin(ctype, ["loyalty_promotion", "service_follow_up"])] = ""
    duration = rng.integers(10, 40, n)
    control = np.where(rng.random(n) < 0.2, 0.5, rng.choice([0.1, 0.15, 0.2], n))
    cpc = {"email": 0.02, "web": 0.15, "social": 0.2, "sms": 0.08, "post": 0.9, "store": 0.3}
    names = [
        f"{t.replace('_', ' ').title()} {ln or 'algemeen'} {i + 1}"
        for i, (t, ln) in enumerate(zip(ctype, line, strict=True))
    ]
    return pd.DataFrame(
        {
            "campaign_id": [f"CMP{i + 1:04d}" for i in range(n)],
            "campaign_name": names,
            "campaign_type": ctype,
            "channel": channel,
            "product_line": line,
            "start_day": first,
            "end_day": first + duration,
            "defined_day": first - 10,
            "cost_per_contact": [cpc[c] for c in channel],
            "control_share": control,
            "audience_rate": rng.uniform(0.1, 0.35, n),
            "coupon_pct": np.where(
                np.isin(ctype, ["offer", "loyalty_promotion"]), rng.choice([10, 15, 20, 25], n), 0
            ),
        }
    )


def uplift_table() -> pd.DataFrame:
    """Planted extra purchase probability for treated (alive) persons by type × channel × value tier."""
    rows = [
        (t, c, tier, TYPE_UPLIFT[t] * CHANNEL_MULT[c] * TIER_MULT[tier])
        for t in CAMPAIGN_TYPES
        for c in CAMPAIGN_CHANNELS[t]
        for tier in TIER_MULT
    ]
    return pd.DataFrame(rows, columns=["campaign_type", "channel", "value_tier", "uplift_purchase_prob"])
