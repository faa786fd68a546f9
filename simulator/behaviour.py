"""The behaviour timeline of a chunk of persons: purchases (BG/NBD-like), campaigns, web, email,
service, social and loyalty. Everything is vectorised over rows; loops run over campaigns or days only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator.catalog import CHANNEL_MULT, PRODUCTS_PER_LINE, TIER_MULT, TYPE_UPLIFT
from simulator.identities import DAY, Identities, Table, email_as_typed, fmt_phone, ts_on
from simulator.persons import Persons
from simulator.reference import (
    EMAIL_DOMAINS,
    JUNK_EMAILS,
    LINE_ECONOMICS,
    PRODUCT_LINES,
    SERVICE_TOPICS,
    SOCIAL_PLATFORMS,
)
from simulator.textops import S, amsterdam_offset_hours, cat, ids, pick, sarr, where, zfill_int

PL = np.asarray(PRODUCT_LINES, dtype=S)


@dataclass(frozen=True)
class Clock:
    """Day range of the simulated timeline and the cumulative seasonal intensity (in years)."""

    first_day: int  # first simulated day (before the start, for persons acquired earlier)
    start_day: int
    end_day: int  # exclusive horizon end
    cum: np.ndarray  # cum[i] = integrated intensity in years from first_day to first_day + i

    def at(self, day: np.ndarray) -> np.ndarray:
        return self.cum[np.clip(np.asarray(day) - self.first_day, 0, self.cum.size - 1)]


def _group_rank(keys: np.ndarray) -> np.ndarray:
    """0-based rank of each row within runs of equal (sorted) keys."""
    n = keys.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    start = np.r_[True, keys[1:] != keys[:-1]]
    idx = np.arange(n)
    return idx - np.maximum.accumulate(np.where(start, idx, 0))


def _choose_rows(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Categorical draw per row from probs[rows] (probabilities per person)."""
    c = np.cumsum(probs[rows], axis=1)
    return np.minimum((rng.random(rows.size)[:, None] > c).sum(axis=1), probs.shape[1] - 1)


def baseline_purchases(rng: np.random.Generator, p: Persons, clock: Clock) -> tuple[pd.DataFrame, np.ndarray]:
    """Acquisition purchase plus repeats from a seasonal Poisson process until a BG/NBD dropout.

    Returns the transactions (person, day) and the dropout day per person (NEVER_DAY-like large if alive)."""
    n = p["idx"].size
    acq = p["acquisition_day"]
    c0, c1 = clock.at(acq), clock.cum[-1]
    n_arr = rng.poisson(p["lam"] * (c1 - c0))
    person = np.repeat(np.arange(n), n_arr)
    u = c0[person] + rng.random(person.size) * (c1 - c0)[person]
    order = np.lexsort((u, person))
    person, u = person[order], u[order]
    rank = _group_rank(person)
    j = rng.geometric(p["p_drop"])  # repeats until dropout (after the j-th repeat)
    keep = rank < j[person]
    person, u, rank = person[keep], u[keep], rank[keep]
    day = clock.first_day + np.searchsorted(clock.cum, u, side="right") - 1
    death = np.full(n, 10**7, dtype=np.int64)
    last = rank == j[person] - 1
    death[person[last]] = day[last]
    tx = pd.DataFrame(
        {
            "person": np.concatenate([np.arange(n), person]),
            "day": np.concatenate([acq, day]),
            "campaign": -1,
            "repeat": np.concatenate([np.zeros(n, dtype=bool), np.ones(person.size, dtype=bool)]),
        }
    )
    return tx, death


def campaign_exposures(
    rng: np.random.Generator, p: Persons, ident: Identities, campaigns: pd.DataFrame, death: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Exposures to each campaign's audience with a random control group, and the incremental purchases
    of treated persons (alive at exposure) with the planted uplift."""
    n = p["idx"].size
    has_email = ident.consent_email & (np.strings.str_len(ident.email_used) > 0)
    n_cookies = np.bincount(ident.cookie_person, minlength=n)
    first_cookie = np.r_[0, np.cumsum(n_cookies)[:-1]]
    frames, extra = [], []
    for ci, c in enumerate(campaigns.itertuples()):  # a loop over campaigns (about two a month)
        if c.channel == "email":
            eligible = has_email
        elif c.channel in ("web", "social"):
            eligible = np.ones(n, dtype=bool)
        elif c.channel == "sms":
            eligible = ident.consent_sms
        else:
            eligible = np.strings.str_len(ident.member_id) > 0
        eligible = eligible & (p["acquisition_day"] < c.start_day)
        rate = np.full(n, c.audience_rate)
        if c.product_line:
            rate = rate * np.sqrt(p["pl_pref"][:, PRODUCT_LINES.index(c.product_line)] * len(PRODUCT_LINES))
        if c.campaign_type == "service_follow_up":
            rate = rate * 0.3
        who = np.flatnonzero(eligible & (rng.random(n) < np.clip(rate, 0, 1)))
        k = who.size
        if k == 0:
            continue
        day = c.start_day + rng.integers(0, min(7, c.end_day - c.start_day), k)
        ts = ts_on(rng, day, 6, 20)
        control = rng.random(k) < c.control_share
        if c.channel == "email":
            rtype, rid = "email", ident.email_used[who]
        elif c.channel in ("web", "social"):
            rtype = "cookie_id"
            rid = ident.cookie_id[first_cookie[who] + (rng.random(k) * n_cookies[who]).astype(np.int64)]
        elif c.channel == "sms":
            rtype, rid = "phone", fmt_phone(rng, ident.mobile[who], (0.5, 0.0, 0.5, 0.0, 0.0, 0.0))
        else:
            rtype = "card_number"
            rid = where(ts >= ident.card_switch_day[who], ident.card2[who], ident.card1[who])
        frames.append(
            pd.DataFrame(
                {
                    "person": who,
                    "campaign": ci,
                    "ts": ts,
                    "day": day,
                    "is_control": control,
                    "recipient_type": rtype,
                    "recipient_id": rid.astype(object),
                }
            )
        )
        tier = p["value_tier"][who]
        tier_mult = np.where(
            tier == "low", TIER_MULT["low"], np.where(tier == "mid", TIER_MULT["mid"], TIER_MULT["high"])
        )
        prob = (
            TYPE_UPLIFT[c.campaign_type]
            * CHANNEL_MULT[c.channel]
            * tier_mult
            * p["offer_resp"][who]
            / (2 / 7)
        )
        buy = ~control & (death[who] > day) & (rng.random(k) < np.clip(prob, 0, 1))
        wb = np.flatnonzero(buy)
        extra.append(
            pd.DataFrame(
                {
                    "person": who[wb],
                    "day": day[wb] + rng.integers(0, max(1, c.end_day - c.start_day), wb.size),
                    "campaign": ci,
                    "repeat": False,
                }
            )
        )
    cols = ["person", "campaign", "ts", "day", "is_control", "recipient_type", "recipient_id"]
    exp = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    inc = (
        pd.concat(extra, ignore_index=True)
        if extra
        else pd.DataFrame(columns=["person", "day", "campaign", "repeat"])
    )
    return exp, inc


def build_transactions(
    rng: np.random.Generator,
    p: Persons,
    ident: Identities,
    tx: pd.DataFrame,
    stores: pd.DataFrame,
    products: pd.DataFrame,
    clock: Clock,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Channel, time, store, card and lines of each transaction."""
    tx = tx[(tx["day"] < clock.end_day)].sort_values(["person", "day"], kind="stable").reset_index(drop=True)
    person = tx["person"].to_numpy()
    m = person.size
    web = rng.random(m) < p["online_pref"][person]
    # store: the home store mostly, another open store sometimes
    store = np.where(rng.random(m) < 0.8, p["home_store"][person], rng.integers(0, len(stores), m))
    opened = stores["opened_day"].to_numpy()
    store = np.where(opened[store] > tx["day"].to_numpy(), p["home_store"][person], store)
    store = np.where(opened[store] > tx["day"].to_numpy(), 0, store)
    hour_web = rng.choice(np.arange(24), m, p=_web_hours())
    local_s = tx["day"].to_numpy() * DAY + (rng.uniform(9.0, 21.0, m) * 3600).astype(np.int64)
    utc_store = local_s - amsterdam_offset_hours(local_s) * 3600
    ts_web = tx["day"].to_numpy() * DAY + hour_web * 3600 + rng.integers(0, 3600, m)
    tx["web"] = web
    tx["store"] = store
    tx["ts"] = np.where(web, ts_web, utc_store)
    tx["local_ts"] = np.where(web, ts_web, local_s)
    tx["line"] = _choose_rows(rng, p["pl_pref"], person)
    camp_line = tx["campaign_line"].to_numpy() if "campaign_line" in tx else np.full(m, -1)
    tx["line"] = np.where(camp_line >= 0, camp_line, tx["line"])
    tx = tx.sort_values(["person", "ts"], kind="stable").reset_index(drop=True)

    # lines
    person = tx["person"].to_numpy()
    n_lines = 1 + np.minimum(rng.poisson(0.8 + 0.3 * (p["spend"][person] > 60), tx.shape[0]), 5)
    t_of = np.repeat(np.arange(tx.shape[0]), n_lines)
    lp = person[t_of]
    line = np.where(
        rng.random(t_of.size) < 0.7, tx["line"].to_numpy()[t_of], _choose_rows(rng, p["pl_pref"], lp)
    )
    pct = 1 - np.exp(-p["spend"][lp] / 55.0)
    within = (np.clip(pct + rng.normal(0, 0.22, t_of.size), 0, 0.999) * PRODUCTS_PER_LINE).astype(np.int64)
    prod = line * PRODUCTS_PER_LINE + within
    day = tx["day"].to_numpy()[t_of]
    price = np.where(
        day >= products["change_day"].to_numpy()[prod],
        products["price1"].to_numpy()[prod],
        products["price0"].to_numpy()[prod],
    )
    qty = rng.choice([1, 2, 3], t_of.size, p=(0.82, 0.13, 0.05))
    lines = pd.DataFrame(
        {
            "tx": t_of,
            "line_number": _group_rank(t_of) + 1,
            "product": prod,
            "quantity": qty,
            "unit_price": price,
            "cost": products["cost"].to_numpy()[prod] * qty,
            "line": line,
        }
    )
    return tx, lines


def _web_hours() -> np.ndarray:
    w = np.array(
        [
            1,
            0.5,
            0.3,
            0.2,
            0.2,
            0.3,
            0.8,
            1.5,
            2,
            2.2,
            2.3,
            2.4,
            2.6,
            2.5,
            2.4,
            2.4,
            2.5,
            2.7,
            3,
            3.5,
            4,
            3.8,
            3,
            2,
        ],
        dtype=np.float64,
    )
    return w / w.sum()


def web_sessions(
    rng: np.random.Generator,
    p: Persons,
    ident: Identities,
    tx: pd.DataFrame,
    death: np.ndarray,
    extra: pd.DataFrame,
    clock: Clock,
) -> pd.DataFrame:
    """Sessions: browsing (much less after dropout), research before purchases, checkout sessions for web
    orders, and sessions started from email or campaign clicks (given in `extra`)."""
    n = p["idx"].size
    acq = p["acquisition_day"] - 20
    end = clock.end_day
    alive_end = np.minimum(death, end)
    yrs_alive = np.maximum(alive_end - acq, 0) / 365.0
    yrs_dead = np.maximum(end - np.maximum(alive_end, acq), 0) / 365.0
    na = rng.poisson(p["web_rate"] * yrs_alive)
    nd = rng.poisson(p["web_rate"] * 0.2 * yrs_dead)
    pa_ = np.repeat(np.arange(n), na)
    pd_ = np.repeat(np.arange(n), nd)
    day_a = acq[pa_] + (rng.random(pa_.size) * (alive_end - acq)[pa_]).astype(np.int64)
    day_d = alive_end[pd_] + (rng.random(pd_.size) * (end - alive_end)[pd_]).astype(np.int64)
    browse_p = np.concatenate([pa_, pd_])
    browse_day = np.concatenate([day_a, day_d])
    browse = pd.DataFrame(
        {
            "person": browse_p,
            "start": ts_on(rng, browse_day, 6, 23) * 1000,
            "kind": 0,
            "line": np.where(rng.random(browse_p.size) < 0.6, _choose_rows(rng, p["pl_pref"], browse_p), -1),
        }
    )
    tp = tx["person"].to_numpy()
    n_research = rng.poisson(p["research"][tp] * np.where(tx["web"].to_numpy(), 1.2, 1.6))
    r_of = np.repeat(np.arange(tp.size), n_research)
    research = pd.DataFrame(
        {
            "person": tp[r_of],
            "start": (tx["ts"].to_numpy()[r_of] - (rng.uniform(0.2, 10, r_of.size) * DAY).astype(np.int64))
            * 1000,
            "kind": 1,
            "line": tx["line"].to_numpy()[r_of],
        }
    )
    w = np.flatnonzero(tx["web"].to_numpy())
    checkout = pd.DataFrame(
        {
            "person": tp[w],
            "start": (tx["ts"].to_numpy()[w] - rng.integers(300, 2400, w.size)) * 1000,
            "kind": 2,
            "line": tx["line"].to_numpy()[w],
        }
    )
    s = pd.concat([browse, research, checkout, extra], ignore_index=True)
    for c in ("utm_source", "utm_medium", "utm_campaign", "promo_code"):
        s[c] = s[c].fillna("").astype(object) if c in s else ""
    s = s[(s["start"] // 1000 < end * DAY)]
    s = s.sort_values(["person", "start"], kind="stable").reset_index(drop=True)
    return s


ETYPES = np.array(
    [
        "page_view",
        "product_view",
        "add_to_cart",
        "search",
        "whitepaper_download",
        "webinar_registration",
        "expert_chat",
        "appointment_booked",
        "newsletter_signup",
    ],
    dtype=object,
)
SITE = "https://www.klantbeeld.nl/"


def explode_events(
    rng: np.random.Generator,
    p: Persons,
    ident: Identities,
    s: pd.DataFrame,
    products: pd.DataFrame,
    chunk: int,
) -> Table:
    """Web events from sessions: cookie, login state, event types and pages. The many low-cardinality
    columns are built as object arrays by indexing small vocabularies (None = empty)."""
    n = p["idx"].size
    sp = s["person"].to_numpy()
    k = sp.size
    n_cookies = np.bincount(ident.cookie_person, minlength=n)
    first_cookie = np.r_[0, np.cumsum(n_cookies)[:-1]]
    cookie = first_cookie[sp] + (rng.random(k) * n_cookies[sp]).astype(np.int64)
    start = s["start"].to_numpy()
    kind = s["kind"].to_numpy()
    has_acc = np.strings.str_len(ident.account_id) > 0
    login_day = ident.cookie_login_day[cookie]
    logged = has_acc[sp] & (
        ((kind == 2) & (rng.random(k) < 0.85))
        | ((start // (DAY * 1000) >= login_day) & (rng.random(k) < 0.7))
    )
    n_ev = np.where(
        kind == 2, 3 + rng.poisson(2, k), np.where(kind == 1, 2 + rng.poisson(2, k), 1 + rng.poisson(1.5, k))
    )
    e_of = np.repeat(np.arange(k), n_ev)
    pos = _group_rank(e_of)
    last = pos == n_ev[e_of] - 1
    m = e_of.size
    gap = rng.exponential(45_000, m).astype(np.int64)
    gap[pos == 0] = 0
    csum = np.cumsum(gap)
    ts = start[e_of] + csum - np.repeat(csum[np.r_[0, np.cumsum(n_ev)[:-1]]], n_ev) if m else gap
    line = s["line"].to_numpy().astype(np.int64)[e_of]
    ekind = kind[e_of]
    u = rng.random(m)
    code = np.where(
        pos == 0,
        np.where(u < 0.2, 3, 0),
        np.where(line >= 0, np.where(u < 0.75, 1, np.where(u < 0.9, 2, 0)), np.where(u < 0.6, 0, 3)),
    )
    code = np.where((ekind == 2) & last, 2, code)
    code = np.where((ekind < 2) & (code == 2) & (rng.random(m) < 0.6), 1, code)
    code = np.where((rng.random(m) < 0.012) & (pos > 0), 4 + rng.integers(0, 5, m), code)
    lp = np.maximum(line, 0)
    within = np.clip(1 - np.exp(-p["spend"][sp[e_of]] / 55.0) + rng.normal(0, 0.25, m), 0, 0.999)
    prod = lp * PRODUCTS_PER_LINE + (within * PRODUCTS_PER_LINE).astype(np.int64)
    is_prod = (code == 1) | (code == 2)
    pid = products["product_id"].to_numpy().astype(object)
    generic = ("cadeau", "sale", "openingstijden", "retour")
    terms = np.array([*PRODUCT_LINES, *generic], dtype=object)
    term = np.where(line >= 0, lp, len(PRODUCT_LINES) + rng.integers(0, len(generic), m))
    cats = [LINE_ECONOMICS[pl][3][0] for pl in PRODUCT_LINES]
    url_prod = np.array([SITE + "p/" + x for x in pid], dtype=object)
    url_search = np.array([SITE + "zoeken?q=" + t for t in terms], dtype=object)
    url_line = np.array(
        [SITE + pl + "/" + c for pl, c in zip(PRODUCT_LINES, cats, strict=True)], dtype=object
    )
    url = np.where(
        is_prod,
        url_prod[prod],
        np.where(code == 3, url_search[term], np.where(line >= 0, url_line[lp], SITE)),
    )
    pl_obj = np.array(PRODUCT_LINES, dtype=object)

    def session_col(name: str) -> np.ndarray:
        col = s[name].to_numpy(dtype=object) if name in s else np.full(k, "", dtype=object)
        return np.where(col == "", None, col)

    first = pos == 0
    utm_src = session_col("utm_source")[e_of]
    organic = first & (utm_src == None) & (rng.random(m) < 0.25)  # noqa: E711 (element-wise)
    utm_src = np.where(organic, "google", utm_src)
    utm_med = np.where(organic, "cpc", session_col("utm_medium")[e_of])
    account = np.where(logged, ident.account_id.astype(object)[sp], None)
    session_ids = ids("ss", chunk * 10**9 + np.arange(k), 11).astype(object)
    return {
        "_person": sp[e_of],
        "_ts": ts // 1000,
        "_ms": ts,
        "event_id": ids("ev", chunk * 10**10 + np.arange(m), 12),
        "cookie_id": ident.cookie_id.astype(object)[cookie][e_of],
        "account_id": account[e_of],
        "session_id": session_ids[e_of],
        "event_type": ETYPES[code],
        "page_url": url,
        "content_id": np.where(is_prod, pid[prod], None),
        "product_line": np.where(line >= 0, pl_obj[lp], None),
        "search_term": np.where(code == 3, terms[term], None),
        "utm_source": np.where(first, utm_src, None),
        "utm_medium": np.where(first, utm_med, None),
        "utm_campaign": np.where(first, session_col("utm_campaign")[e_of], None),
        "promo_code": np.where(first, session_col("promo_code")[e_of], None),
        "device_type": ident.cookie_device.astype(object)[cookie][e_of],
    }


def newsletters(clock: Clock) -> pd.DataFrame:
    """A newsletter every other Thursday (about two a month)."""
    days = np.arange(clock.first_day, clock.end_day)
    thursdays = days[((days + 3) % 7 == 3) & ((days // 7) % 2 == 0)]
    return pd.DataFrame({"day": thursdays, "mailing_name": [f"nieuwsbrief-{d}" for d in fmt_days(thursdays)]})


def fmt_days(days: np.ndarray) -> list[str]:
    return np.datetime_as_string(days.astype("datetime64[D]")).tolist()


def email_activity(
    rng: np.random.Generator,
    p: Persons,
    ident: Identities,
    death: np.ndarray,
    mailings: pd.DataFrame,
    campaign_sends: pd.DataFrame,
    clock: Clock,
    chunk: int,
) -> tuple[Table, Table, Table, pd.DataFrame]:
    """Subscriptions, newsletter and campaign sends, and opens/clicks/bounces/unsubscribes.
    Returns the click sessions as a frame for the web."""
    sub = ident.consent_email & (np.strings.str_len(ident.email_used) > 0)
    who = np.flatnonzero(sub)
    q = who.size
    sub_day = p["acquisition_day"][who] + rng.integers(0, 60, q)
    unsub_day = np.where(rng.random(q) < 0.12, sub_day + rng.integers(30, 1100, q), 10**7)
    unsub_day = np.where(
        (death[who] < 10**7) & (rng.random(q) < 0.35),
        np.minimum(unsub_day, death[who] + rng.integers(30, 365, q)),
        unsub_day,
    )
    addr = where(rng.random(q) < 0.02, email_as_typed(rng, ident.email_used[who], 1.0), ident.email_used[who])
    addr = where(rng.random(q) < 0.01, pick(JUNK_EMAILS, rng.integers(0, 3, q)), addr)
    clean = np.strings.strip(np.strings.lower(addr))
    good = np.zeros(q, dtype=bool)
    for dom in EMAIL_DOMAINS:
        good |= np.strings.endswith(clean, "@" + dom)
    bad_domain = ~good
    src = pick(("webshop", "store", "popup", "crm_import"), rng.integers(0, 4, q))
    is_uns = unsub_day < 10**7
    w_u = np.flatnonzero(is_uns)
    subs: Table = {
        "_person": np.concatenate([who, who[w_u]]),
        "_ts": np.concatenate([ts_on(rng, sub_day), ts_on(rng, unsub_day[w_u])]),
        "email": np.concatenate([addr, addr[w_u]]),
        "list_name": sarr("nieuwsbrief", q + w_u.size),
        "status": np.concatenate([sarr("subscribed", q), sarr("unsubscribed", w_u.size)]),
        "signup_source": np.concatenate([src, sarr("", w_u.size)]),
    }
    subs["subscription_event_id"] = ids("sub", chunk * 10**8 + np.arange(subs["_ts"].size), 11)

    # newsletter sends: subscribers × mailings within the subscription interval
    md = mailings["day"].to_numpy()
    lo = np.searchsorted(md, sub_day, side="right")
    hi = np.searchsorted(md, np.minimum(unsub_day, clock.end_day), side="left")
    cnt = np.maximum(hi - lo, 0)
    s_of = np.repeat(np.arange(q), cnt)
    mi = lo[s_of] + _group_rank(s_of)
    send_person = who[s_of]
    send_ts = md[mi] * DAY + 6 * 3600 + rng.integers(0, 7200, s_of.size)
    send_addr = addr[s_of]
    mailing = mailings["mailing_name"].to_numpy().astype(S)[mi]
    camp_id = sarr("", s_of.size)
    bounce_prone = bad_domain[s_of]
    # campaign sends (treated email exposures)
    cs = campaign_sends
    send_person = np.concatenate([send_person, cs["person"].to_numpy()])
    send_ts = np.concatenate([send_ts, cs["ts"].to_numpy()])
    send_addr = np.concatenate([send_addr, cs["recipient_id"].to_numpy().astype(S)])
    mailing = np.concatenate([mailing, cs["campaign_name"].to_numpy().astype(S)])
    camp_id = np.concatenate([camp_id, cs["campaign_id"].to_numpy().astype(S)])
    bounce_prone = np.concatenate([bounce_prone, np.zeros(len(cs), dtype=bool)])
    k = send_person.size
    send_id = ids("snd", chunk * 10**9 + np.arange(k), 12)
    sends: Table = {
        "_person": send_person,
        "_ts": send_ts,
        "send_id": send_id,
        "email": send_addr,
        "campaign_id": camp_id,
        "mailing_name": mailing,
    }

    alive = death[send_person] > send_ts // DAY
    aff = p["email_aff"][send_person]
    bounce = bounce_prone & (rng.random(k) < 0.95)
    opened = ~bounce & (rng.random(k) < aff * np.where(alive, 1.0, 0.3) + np.where(camp_id != "", 0.05, 0))
    clicked = opened & (rng.random(k) < 0.3 + 0.3 * aff)
    open_ts = send_ts + (rng.exponential(8 * 3600, k)).astype(np.int64)
    click_ts = open_ts + rng.integers(5, 600, k)
    parts = [
        (bounce, send_ts + 60, "bounce"),
        (opened, open_ts, "open"),
        (clicked, click_ts, "click"),
    ]
    # unsubscribe: linked to the last send before the unsubscribe
    ev_send, ev_ts, ev_type = [], [], []
    for mask, ts, name in parts:
        w = np.flatnonzero(mask)
        ev_send.append(w)
        ev_ts.append(ts[w])
        ev_type.append(sarr(name, w.size))
    send_key = send_person.astype(np.int64) * (1 << 34) + send_ts
    by_key = np.argsort(send_key, kind="stable")
    u_person, u_ts = who[w_u], subs["_ts"][q:]
    j = np.searchsorted(send_key[by_key], u_person.astype(np.int64) * (1 << 34) + u_ts) - 1
    ok = (j >= 0) & (send_person[by_key[np.maximum(j, 0)]] == u_person)
    ev_send.append(by_key[j[ok]])
    ev_ts.append(u_ts[ok])
    ev_type.append(sarr("unsubscribe", int(ok.sum())))
    es = np.concatenate(ev_send)
    events: Table = {
        "_person": send_person[es],
        "_ts": np.concatenate(ev_ts),
        "send_id": send_id[es],
        "email": send_addr[es],
        "event_type": np.concatenate(ev_type),
    }
    is_click = events["event_type"] == "click"
    line = _choose_rows(rng, p["pl_pref"], events["_person"])
    events["url"] = where(is_click, cat("https://www.klantbeeld.nl/", PL[line], "?utm_source=newsletter"), "")
    events["content_id"] = where(is_click, cat("blok-", zfill_int(rng.integers(1, 6, es.size), 2)), "")
    events["email_event_id"] = ids("eev", chunk * 10**9 + np.arange(es.size), 12)
    wc = np.flatnonzero(is_click)
    clicks = pd.DataFrame(
        {
            "person": events["_person"][wc],
            "start": events["_ts"][wc] * 1000 + 2000,
            "kind": 3,
            "line": line[wc],
            "utm_source": "newsletter",
            "utm_medium": "email",
            "utm_campaign": camp_id[es][wc].astype(object),
        }
    )
    clicks.loc[clicks["utm_campaign"] == "", "utm_campaign"] = mailing[es][wc].astype(object)[
        clicks["utm_campaign"].to_numpy() == ""
    ]
    return subs, sends, events, clicks


def service_contacts(
    rng: np.random.Generator,
    p: Persons,
    ident: Identities,
    death: np.ndarray,
    tx: pd.DataFrame,
    clock: Clock,
    chunk: int,
) -> Table:
    """Contacts at a base rate while alive, complaints rising in the months before dropout, and delivery
    questions after some web orders."""
    n = p["idx"].size
    acq = p["acquisition_day"]
    alive_end = np.minimum(death, clock.end_day)
    nb = rng.poisson(p["service_rate"] * np.maximum(alive_end - acq, 0) / 365)
    pb = np.repeat(np.arange(n), nb)
    db = acq[pb] + (rng.random(pb.size) * (alive_end - acq)[pb]).astype(np.int64)
    churner = death < clock.end_day
    nc = np.where(churner, rng.poisson(0.35 + 2.0 * p["service_rate"]), 0)
    pc = np.repeat(np.arange(n), nc)
    dc = death[pc] - rng.integers(0, 90, pc.size)
    web_tx = tx[tx["web"] & (rng.random(len(tx)) < 0.05)]
    po = web_tx["person"].to_numpy()
    do = web_tx["day"].to_numpy() + rng.integers(2, 8, po.size)
    person = np.concatenate([pb, pc, po])
    day = np.concatenate([db, dc, do])
    near = np.concatenate([np.zeros(pb.size, bool), np.ones(pc.size, bool), np.zeros(po.size, bool)])
    k = person.size
    topic_p_base = np.array([0.25, 0.2, 0.25, 0.1, 0.1, 0.1])
    topic = np.where(near & (rng.random(k) < 0.55), 5, rng.choice(6, k, p=topic_p_base))
    topic = np.where(np.arange(k) >= pb.size + pc.size, 0, topic)
    channel = pick(("phone", "chat", "email", "store"), rng.choice(4, k, p=(0.35, 0.3, 0.25, 0.1)))
    email = where(
        (channel == "email") | (channel == "chat"), email_as_typed(rng, ident.email_used[person], 0.1), ""
    )
    email = where((channel == "chat") & (rng.random(k) < 0.3), "", email)
    phone = where(channel == "phone", fmt_phone(rng, ident.mobile[person]), "")
    phone = where((channel == "phone") & (rng.random(k) < 0.1), "", phone)
    minutes = np.round(rng.gamma(2, 4 + 4 * (topic == 5), k), 1)
    asked = rng.random(k) < 0.4
    sat = np.clip(np.round(rng.normal(np.where(near, 2.4, 3.9), 1.0, k)), 1, 5).astype(np.int64)
    resolved = rng.random(k) < np.where(topic == 5, 0.55, 0.85)
    line = _choose_rows(rng, p["pl_pref"], person)
    return {
        "_person": person,
        "_ts": ts_on(rng, day, 7, 21),
        "contact_id": ids("SC", chunk * 10**8 + rng.permutation(k), 10),
        "channel": channel,
        "email": email,
        "phone": phone,
        "topic": pick(SERVICE_TOPICS, topic),
        "product_line": where(topic <= 2, PL[line], ""),
        "handling_minutes": minutes,
        "cost": np.round(minutes * np.where(channel == "phone", 0.9, 0.6) + 1.5, 2),
        "satisfaction": np.where(asked, sat, -1),
        "resolved": resolved.astype(np.int64),
    }


def social_interactions(
    rng: np.random.Generator, p: Persons, ident: Identities, death: np.ndarray, clock: Clock, chunk: int
) -> Table:
    n = p["idx"].size
    has = np.strings.str_len(ident.social_handle) > 0
    acq = p["acquisition_day"]
    alive_end = np.minimum(death, clock.end_day)
    rate = np.where(has, 8.0, 0.0)
    na = rng.poisson(rate * np.maximum(alive_end - acq, 0) / 365)
    nd = rng.poisson(rate * 0.25 * np.maximum(clock.end_day - alive_end, 0) / 365)
    pa_ = np.repeat(np.arange(n), na)
    pd_ = np.repeat(np.arange(n), nd)
    person = np.concatenate([pa_, pd_])
    day = np.concatenate(
        [
            acq[pa_] + (rng.random(pa_.size) * (alive_end - acq)[pa_]).astype(np.int64),
            alive_end[pd_] + (rng.random(pd_.size) * (clock.end_day - alive_end)[pd_]).astype(np.int64),
        ]
    )
    k = person.size
    near = (death[person] - day < 90) & (death[person] >= day)
    platform_of = rng.integers(0, len(SOCIAL_PLATFORMS) - 1, n)
    platform = np.where(rng.random(k) < 0.8, platform_of[person], rng.integers(0, len(SOCIAL_PLATFORMS), k))
    itype = pick(
        ("like", "comment", "share", "mention", "follow", "review"),
        rng.choice(6, k, p=(0.4, 0.2, 0.1, 0.15, 0.05, 0.1)),
    )
    sentiment = np.where(rng.random(k) < np.where(near, 0.45, 0.08), 0, np.where(rng.random(k) < 0.5, 1, 2))
    sent = pick(("negative", "neutral", "positive"), sentiment)
    line = _choose_rows(rng, p["pl_pref"], person)
    msg = pick(
        (
            "Slechte service, nooit meer!",
            "Levering duurde te lang",
            "Prima",
            "Mooie collectie",
            "Super blij met mijn aankoop!",
            "Top winkel",
        ),
        sentiment * 2 + rng.integers(0, 2, k),
    )
    texty = (itype == "comment") | (itype == "mention") | (itype == "review")
    handle = where(platform == 3, cat("@", ident.social_handle[person]), ident.social_handle[person])
    return {
        "_person": person,
        "_ts": ts_on(rng, day, 7, 24),
        "interaction_id": ids("SI", chunk * 10**8 + np.arange(k), 10),
        "platform": pick(SOCIAL_PLATFORMS, platform),
        "handle": handle,
        "interaction_type": itype,
        "post_id": cat("post-", zfill_int(day % 997, 4)),
        "product_line": where(texty, PL[line], ""),
        "sentiment": where(texty, sent, ""),
        "message": where(texty, msg, ""),
    }
