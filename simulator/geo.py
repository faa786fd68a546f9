"""Places and time: PC4 areas with correlated demographics, stores, the calendar and seasonality."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from simulator.reference import CITIES, VILLAGES

N_STORES = 40
_EPOCH = date(1970, 1, 1)


def day_number(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - _EPOCH).days


def day_date(n: int) -> date:
    return _EPOCH + timedelta(days=int(n))


def make_pc4(rng: np.random.Generator) -> pd.DataFrame:
    """About 4,000 PC4 areas between 1000 and 9999 with demographics correlated through urbanisation."""
    candidates = np.arange(1000, 10000)
    in_city = np.zeros(candidates.size, dtype=bool)
    urban = np.full(candidates.size, 0.15)
    municipality = np.array([VILLAGES[i] for i in (candidates // 100 * 7919) % len(VILLAGES)], dtype=object)
    for name, lo, hi, u in CITIES:
        m = (candidates >= lo) & (candidates <= hi)
        in_city |= m
        urban[m] = u
        municipality[m] = name
    keep = in_city | (rng.random(candidates.size) < (4000 - in_city.sum()) / (~in_city).sum())
    pc4 = candidates[keep]
    urban = np.clip(urban[keep] + rng.normal(0, 0.08, pc4.size), 0, 1)
    n = pc4.size
    urbanisation = np.clip(5 - np.floor(urban * 5 + rng.normal(0, 0.3, n)), 1, 5).astype(np.int64)
    wealth = rng.normal(0, 1, n)
    hh_size = np.clip(1.6 + 0.9 * (1 - urban) + 0.15 * wealth + rng.normal(0, 0.12, n), 1.3, 3.4)
    income = np.clip(np.exp(10.65 + 0.22 * wealth + 0.05 * urban + rng.normal(0, 0.05, n)), 18000, 140000)
    higher_edu = np.clip(22 + 25 * urban + 9 * wealth + rng.normal(0, 4, n), 3, 85)
    house_value = np.clip(np.exp(12.6 + 0.35 * wealth + 0.45 * urban + rng.normal(0, 0.08, n)), 120000, 1.6e6)
    households = np.round(rng.gamma(3.0, 600 + 1200 * urban)).astype(np.int64) + 50
    return pd.DataFrame(
        {
            "postcode4": pc4,
            "municipality": municipality[keep].astype(str),
            "households": households,
            "avg_household_size": hh_size.round(2),
            "median_household_income": income.round(-2),
            "pct_higher_education": higher_edu.round(1),
            "avg_house_value": house_value.round(-3),
            "urbanisation": urbanisation,
            "urban_latent": urban,
            "wealth_latent": wealth,
        }
    )


def demographics_for_year(pc4: pd.DataFrame, year: int, seed: int) -> pd.DataFrame:
    """The published demographics file for a reference year: the same areas, slowly drifting numbers."""
    rng = np.random.default_rng([seed, 77, year])
    drift = 1.03 ** (year - 2024)
    out = pc4.drop(columns=["urban_latent", "wealth_latent"]).copy()
    out["postcode4"] = out["postcode4"].astype(str)
    out["households"] = (out["households"] * (1 + rng.normal(0, 0.01, len(out)))).round().astype(np.int64)
    out["median_household_income"] = (
        out["median_household_income"] * drift * (1 + rng.normal(0, 0.01, len(out)))
    ).round(-2)
    out["avg_house_value"] = (out["avg_house_value"] * 1.05 ** (year - 2024)).round(-3)
    out["reference_year"] = year
    return out


def make_stores(rng: np.random.Generator, start_day: int, horizon_days: int) -> pd.DataFrame:
    """Forty stores in the larger cities; most open before the start, a few open during the horizon."""
    city_idx = np.concatenate([np.arange(len(CITIES)), rng.choice(len(CITIES), N_STORES - len(CITIES))])
    suffix = np.array(["Centrum", "Zuid", "Noord", "Oost", "West", "Plein"])
    seen: dict[int, int] = {}
    names, cities, postcodes, pc4s = [], [], [], []
    for ci in city_idx:  # 40 stores: a loop over stores, not over people
        k = seen.get(int(ci), 0)
        seen[int(ci)] = k + 1
        city, lo, hi, _ = CITIES[ci]
        p4 = int(rng.integers(lo, hi + 1))
        names.append(f"Klantbeeld {city} {suffix[k % len(suffix)]}")
        cities.append(city)
        pc4s.append(p4)
        postcodes.append(f"{p4}{''.join(rng.choice(list('ABCDEGHJKLMNPRTVWXZ'), 2))}")
    opened = start_day - rng.integers(200, 6000, N_STORES)
    late = rng.choice(N_STORES, 4, replace=False)
    opened[late] = start_day + np.sort(rng.integers(30, max(31, horizon_days - 60), 4))
    return pd.DataFrame(
        {
            "store_id": [f"S{i + 1:03d}" for i in range(N_STORES)],
            "store_name": names,
            "city": cities,
            "postcode": postcodes,
            "pc4": pc4s,
            "opened_day": opened,
        }
    )


def _easter(year: int) -> date:
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ll = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ll) // 451
    month = (h + ll - 7 * m + 114) // 31
    day = (h + ll - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    d = date(year, month, 1)
    d += timedelta(days=(weekday - d.weekday()) % 7)
    return d + timedelta(weeks=n - 1)


def black_friday(year: int) -> date:
    return _nth_weekday(year, 11, 3, 4) + timedelta(days=1)


def make_calendar(year: int) -> pd.DataFrame:
    """Dutch public holidays, school holidays (per region), shopping days and a few events for a year."""
    easter = _easter(year)
    kingsday = date(year, 4, 27)
    if kingsday.weekday() == 6:
        kingsday = date(year, 4, 26)
    rows: list[tuple[date, str, str, str | None]] = [
        (date(year, 1, 1), "Nieuwjaarsdag", "public_holiday", None),
        (easter - timedelta(days=2), "Goede Vrijdag", "public_holiday", None),
        (easter, "Eerste Paasdag", "public_holiday", None),
        (easter + timedelta(days=1), "Tweede Paasdag", "public_holiday", None),
        (kingsday, "Koningsdag", "public_holiday", None),
        (date(year, 5, 5), "Bevrijdingsdag", "public_holiday", None),
        (easter + timedelta(days=39), "Hemelvaartsdag", "public_holiday", None),
        (easter + timedelta(days=49), "Eerste Pinksterdag", "public_holiday", None),
        (easter + timedelta(days=50), "Tweede Pinksterdag", "public_holiday", None),
        (date(year, 12, 25), "Eerste Kerstdag", "public_holiday", None),
        (date(year, 12, 26), "Tweede Kerstdag", "public_holiday", None),
        (date(year, 2, 14), "Valentijnsdag", "shopping_day", None),
        (_nth_weekday(year, 5, 6, 2), "Moederdag", "shopping_day", None),
        (_nth_weekday(year, 6, 6, 3), "Vaderdag", "shopping_day", None),
        (black_friday(year), "Black Friday", "shopping_day", None),
        (black_friday(year) + timedelta(days=3), "Cyber Monday", "shopping_day", None),
        (date(year, 12, 5), "Sinterklaas", "shopping_day", None),
        (date(year, 12, 31), "Oudejaarsdag", "shopping_day", None),
        (_nth_weekday(year, 6, 5, 4), "TT Assen", "event", "noord"),
        (_nth_weekday(year, 8, 5, 1), "Pride Amsterdam", "event", "noord"),
        (_nth_weekday(year, 10, 2, 3), "Amsterdam Dance Event", "event", "noord"),
        (_nth_weekday(year, 2, 6, 2) + timedelta(days=1), "Carnaval", "event", "zuid"),
    ]
    # school holidays: (name, start week, weeks, region offsets in weeks for noord/midden/zuid)
    holidays = [
        ("Voorjaarsvakantie", 7, 1, (1, 0, 0)),
        ("Meivakantie", 17, 1, (0, 0, 0)),
        ("Zomervakantie", 27, 6, (2, 1, 0)),
        ("Herfstvakantie", 42, 1, (0, 1, 0)),
        ("Kerstvakantie", 52, 2, (0, 0, 0)),
    ]
    for name, week, weeks, offsets in holidays:
        for region, off in zip(("noord", "midden", "zuid"), offsets, strict=True):
            first = date.fromisocalendar(year, min(week + off, 52), 6) - timedelta(
                days=7 if week == 52 else 0
            )
            rows.extend(
                (first + timedelta(days=k), name, "school_holiday", region) for k in range(7 * weeks + 2)
            )
    df = pd.DataFrame(rows, columns=["calendar_date", "event_name", "event_type", "region"])
    df = df[pd.to_datetime(df["calendar_date"]).dt.year == year]
    df = df.drop_duplicates(["calendar_date", "event_name"]).sort_values(["calendar_date", "event_name"])
    df["calendar_date"] = df["calendar_date"].astype(str)
    return df.reset_index(drop=True)


def daily_intensity(first_day: int, n_days: int) -> np.ndarray:
    """Relative purchase intensity per day (mean about 1): December, Black Friday, Sinterklaas, weekends."""
    days = np.arange(first_day, first_day + n_days)
    dt = days.astype("datetime64[D]")
    month = dt.astype("datetime64[M]").astype(np.int64) % 12 + 1
    month_factor = np.array([0.85, 0.8, 0.9, 0.95, 1.0, 0.95, 0.9, 0.9, 0.95, 1.0, 1.15, 1.45])[month - 1]
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday (3)
    w = month_factor * np.where(weekday >= 5, 1.2, 0.93)
    years = np.unique(dt.astype("datetime64[Y]").astype(np.int64) + 1970)
    for y in years:  # a loop over a handful of years
        bf = day_number(black_friday(int(y)))
        w[(days >= bf - 1) & (days <= bf + 3)] *= 2.4
        sk = day_number(date(int(y), 12, 5))
        w[(days >= sk - 10) & (days <= sk)] *= 1.3
    return w / w.mean()
