"""Persons, households and the latent traits that drive all behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.reference import FIRST_NAMES_F, FIRST_NAMES_M, PRODUCT_LINES, STREETS, SURNAMES
from simulator.textops import S, cat, ids, pick, sarr

Persons = dict[str, np.ndarray]

PC_LETTERS = tuple("ABCDEGHJKLMNPRSTVWXZ")
VALUE_TIERS = ("low", "mid", "high")
AGE_BANDS = ("18-34", "35-54", "55+")


def _address(rng: np.random.Generator, n: int, pc4: pd.DataFrame) -> dict[str, np.ndarray]:
    w = pc4["households"].to_numpy(dtype=np.float64)
    area = rng.choice(len(pc4), n, p=w / w.sum())
    number = (rng.gamma(1.3, 30, n) + 1).astype(np.int64)
    suffix = np.where(rng.random(n) < 0.08, pick(("a", "b", "c", "2", "3", "h"), rng.integers(0, 6, n)), "")
    return {
        "area": area,
        "postcode4": pc4["postcode4"].to_numpy()[area],
        "pc_letters": cat(pick(PC_LETTERS, rng.integers(0, 20, n)), pick(PC_LETTERS, rng.integers(0, 20, n))),
        "street": pick(STREETS, rng.integers(0, len(STREETS), n)),
        "house_number": number,
        "house_suffix": sarr(suffix),
        "city": sarr(pc4["municipality"].to_numpy()[area]),
    }


def make_persons(
    rng: np.random.Generator,
    n: int,
    first_index: int,
    pc4: pd.DataFrame,
    stores: pd.DataFrame,
    start_day: int,
    horizon_days: int,
) -> Persons:
    """n persons (index first_index..) grouped in households, with latent traits."""
    sizes = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.3, 0.36, 0.14, 0.14, 0.06])
    hh_of = np.repeat(np.arange(n), sizes)[:n]
    n_hh = int(hh_of.max()) + 1
    first_of_hh = np.r_[True, hh_of[1:] != hh_of[:-1]]
    rank = np.arange(n) - np.maximum.accumulate(np.where(first_of_hh, np.arange(n), 0))

    p: Persons = {"idx": np.arange(first_index, first_index + n)}
    p["person_id"] = ids("P", p["idx"], 7)
    p["household_id"] = ids("H", first_index + hh_of, 7)
    p["hh"] = hh_of
    p["hh_rank"] = rank

    # names: household surname shared by most members
    hh_surname = rng.integers(0, len(SURNAMES), n_hh)
    own = rng.integers(0, len(SURNAMES), n)
    surname = np.where((rank > 0) & (rng.random(n) < 0.3), own, hh_surname[hh_of])
    p["infix"] = pick(tuple(s[0] for s in SURNAMES), surname)
    p["last_name"] = pick(tuple(s[1] for s in SURNAMES), surname)
    hh_gender0 = rng.random(n_hh) < 0.5
    female = np.where(rank == 1, ~hh_gender0[hh_of], rng.random(n) < 0.52)
    female = np.where(rank == 0, hh_gender0[hh_of], female)
    p["gender"] = np.where(female, "f", "m").astype(S)
    p["first_name"] = np.where(
        female,
        pick(FIRST_NAMES_F, rng.integers(0, len(FIRST_NAMES_F), n)),
        pick(FIRST_NAMES_M, rng.integers(0, len(FIRST_NAMES_M), n)),
    ).astype(S)
    adult_age = rng.normal(48, 15, n_hh).clip(19, 88)
    age = np.where(rank <= 1, adult_age[hh_of] + rng.normal(0, 3, n), rng.uniform(16, 30, n)).clip(16, 92)
    p["birth_day"] = (start_day - age * 365.25).astype(np.int64)
    p["age"] = age
    p["age_band"] = pick(AGE_BANDS, np.digitize(age, [35, 55]))

    # address per household, a move for some households
    home = _address(rng, n_hh, pc4)
    moved = _address(rng, n_hh, pc4)
    move_day = np.where(
        rng.random(n_hh) < 0.1,
        start_day + rng.integers(-200, horizon_days, n_hh),
        10**7,
    )
    for k, v in home.items():
        p[k] = v[hh_of]
        p["new_" + k] = moved[k][hh_of]
    p["move_day"] = move_day[hh_of]

    # acquisition spread over two years before the start and most of the horizon
    before = rng.random(n) < 0.35
    acq = np.where(
        before,
        start_day - rng.integers(1, 730, n),
        start_day + (rng.random(n) ** 1.15 * horizon_days * 0.8).astype(np.int64),
    )
    p["acquisition_day"] = acq

    income = pc4["median_household_income"].to_numpy()[p["area"]]
    urban = pc4["urban_latent"].to_numpy()[p["area"]]
    # BG/NBD-like: purchase rate per year (gamma) and dropout probability after each repeat (beta)
    p["lam"] = rng.gamma(1.6, 3.2, n)
    p["p_drop"] = rng.beta(1.3, 7.0, n)
    p["spend"] = rng.gamma(4.0, 14.0, n) * (income / 40000.0) ** 0.7 * (1 + 0.004 * (age - 40))
    young = np.clip((60 - age) / 40, 0, 1)
    p["online_pref"] = np.clip(rng.beta(2, 2.5, n) * 0.7 + 0.25 * young + 0.1 * urban, 0.02, 0.98)
    alpha = np.full(len(PRODUCT_LINES), 0.7)
    p["pl_pref"] = rng.dirichlet(alpha, n)
    has_kids = (np.bincount(hh_of, minlength=n_hh) >= 3)[hh_of]
    kids_col = PRODUCT_LINES.index("kids")
    p["pl_pref"][:, kids_col] *= np.where(has_kids, 3.0, 0.5)
    p["pl_pref"] /= p["pl_pref"].sum(axis=1, keepdims=True)
    p["email_aff"] = np.clip(rng.beta(1.5, 3.0, n) + 0.02 * (p["lam"] - 5), 0.01, 0.95)
    p["web_rate"] = rng.gamma(2.0, 4.0, n) * (0.4 + 0.12 * p["lam"]) * (0.5 + p["online_pref"])
    p["research"] = rng.beta(2, 3, n)
    p["offer_resp"] = rng.beta(2, 5, n)
    p["service_rate"] = rng.gamma(1.5, 0.3, n)
    value = p["lam"] * p["spend"]
    p["value_tier"] = pick(VALUE_TIERS, np.digitize(value, [150.0, 450.0]))

    store_pc4 = stores["pc4"].to_numpy()
    dist = np.abs(p["postcode4"][:, None] - store_pc4[None, :]) + np.where(
        stores["opened_day"].to_numpy()[None, :] > start_day, 500, 0
    )
    p["home_store"] = np.argmin(dist, axis=1)
    return p
