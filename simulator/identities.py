"""Identifiers of each person in each system, with the variations real systems have."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulator.persons import Persons
from simulator.reference import (
    DOMAIN_TYPOS,
    EMAIL_DOMAIN_WEIGHTS,
    EMAIL_DOMAINS,
    JUNK_EMAILS,
    JUNK_PHONES,
    WORK_DOMAINS,
)
from simulator.textops import S, cat, choose, compact_lower, fmt_date, ids, pick, sarr, typo, where, zfill_int

Table = dict[str, np.ndarray]
NEVER = 10**12  # seconds: 'never' (year 33658)
NEVER_DAY = 10**7  # days: 'never'
DAY = 86400


def ts_on(rng: np.random.Generator, days: np.ndarray, lo_hour: float = 7, hi_hour: float = 23) -> np.ndarray:
    """Seconds since epoch at a random time of day between lo_hour and hi_hour (UTC)."""
    days = np.asarray(days, dtype=np.int64)
    return days * DAY + (rng.uniform(lo_hour, hi_hour, days.size) * 3600).astype(np.int64)


# ---------------------------------------------------------------- formats
def fmt_phone(rng: np.random.Generator, digits: np.ndarray, p: tuple[float, ...] | None = None) -> np.ndarray:
    """'0612345678' as typed: 06-12345678, +31612345678, 0031 6 12345678, 06 1234 5678, ..."""
    n = digits.size
    style = rng.choice(6, n, p=p or (0.3, 0.25, 0.2, 0.05, 0.15, 0.05))
    mobile = np.strings.startswith(digits, "06")
    a = np.where(mobile, 2, 3)
    d_area = np.strings.slice(digits, 0, a)
    d_rest = np.strings.slice(digits, a, None)
    d1 = np.strings.slice(digits, 1, None)
    styles = [
        digits,
        cat(d_area, "-", d_rest),
        cat("+31", d1),
        cat("0031 ", np.strings.slice(digits, 1, a), " ", d_rest),
        cat(d_area, " ", np.strings.slice(d_rest, 0, 4), " ", np.strings.slice(d_rest, 4, None)),
        cat("+31 ", np.strings.slice(digits, 1, a), " ", d_rest),
    ]
    return choose(style, styles).astype(S)


def fmt_postcode(
    rng: np.random.Generator, pc4: np.ndarray, letters: np.ndarray, p_clean: float = 0.6
) -> np.ndarray:
    n = pc4.size
    style = rng.choice(4, n, p=(p_clean, (1 - p_clean) * 0.6, (1 - p_clean) * 0.25, (1 - p_clean) * 0.15))
    num = np.asarray(pc4).astype(S)
    low = np.strings.lower(letters)
    return choose(
        style, [cat(num, letters), cat(num, " ", letters), cat(num, " ", low), cat(num, low)]
    ).astype(S)


def fmt_house(rng: np.random.Generator, number: np.ndarray, suffix: np.ndarray) -> np.ndarray:
    n = number.size
    num = np.asarray(number).astype(S)
    style = rng.integers(0, 4, n)
    up = np.strings.upper(suffix)
    with_suffix = choose(style, [cat(num, suffix), cat(num, "-", up), cat(num, " ", up), cat(num, up)])
    return where(np.strings.str_len(suffix) > 0, with_suffix, num)


def surname_as_typed(
    rng: np.random.Generator, infix: np.ndarray, last: np.ndarray, p_clean: float
) -> np.ndarray:
    """'van der Berg' written as one field: canonical, 'Van Der Berg', 'vd Berg', 'Berg van der', 'Berg, van der'."""
    n = last.size
    canon = where(np.strings.str_len(infix) > 0, cat(infix, " ", last), last)
    abbrev = np.strings.replace(
        np.strings.replace(np.strings.replace(infix, "van der", "vd"), "van den", "vd"), "van de", "vd"
    )
    abbrev = where(abbrev == "van", "v.", abbrev)
    q = (1 - p_clean) / 4
    style = rng.choice(5, n, p=(p_clean, q, q, q, q))
    variants = [
        canon,
        np.strings.title(canon),
        where(np.strings.str_len(infix) > 0, cat(abbrev, " ", last), last),
        where(np.strings.str_len(infix) > 0, cat(last, " ", infix), last),
        where(np.strings.str_len(infix) > 0, cat(last, ", ", infix), last),
    ]
    return choose(style, variants).astype(S)


def first_name_as_typed(
    rng: np.random.Generator, first: np.ndarray, p_initial: float, p_typo: float
) -> np.ndarray:
    n = first.size
    u = rng.random(n)
    initial = cat(np.strings.slice(first, 0, 1), ".")
    two = cat(initial, pick(tuple("JMAPHCWE"), rng.integers(0, 8, n)), ".")
    out = where(u < p_initial * 0.7, initial, first)
    out = where((u >= p_initial * 0.7) & (u < p_initial), two, out)
    return where((u >= p_initial) & (u < p_initial + p_typo), typo(rng, first), out)


def birth_as_typed(rng: np.random.Generator, birth_day: np.ndarray, p_swap: float) -> np.ndarray:
    txt = fmt_date(birth_day)
    y, m, d = np.strings.slice(txt, 0, 4), np.strings.slice(txt, 5, 7), np.strings.slice(txt, 8, 10)
    swap = (rng.random(birth_day.size) < p_swap) & (d.astype(np.int64) <= 12)
    return where(swap, cat(y, "-", d, "-", m), txt)


def email_as_typed(rng: np.random.Generator, email: np.ndarray, p_messy: float) -> np.ndarray:
    """Upper case, stray spaces or a domain typo for a share of the values."""
    n = email.size
    u = rng.random(n)
    out = np.asarray(email).astype(S, copy=True)
    up = np.flatnonzero(u < p_messy * 0.4)
    out[up] = np.strings.upper(out[up])
    sp = np.flatnonzero((u >= p_messy * 0.4) & (u < p_messy * 0.7))
    out[sp] = cat(" ", out[sp], " ")
    ty = np.flatnonzero((u >= p_messy * 0.7) & (u < p_messy))
    typo_dom = out[ty]
    for good, bad in DOMAIN_TYPOS.items():  # ten domains, on the few rows that get a typo
        typo_dom = np.strings.replace(typo_dom, "@" + good, "@" + bad)
    out[ty] = typo_dom
    return out


def _email(
    rng: np.random.Generator, first: np.ndarray, infix: np.ndarray, last: np.ndarray, birth_day: np.ndarray
) -> np.ndarray:
    n = first.size
    f = compact_lower(first)
    surname = compact_lower(cat(infix, last))
    year = np.strings.slice(fmt_date(birth_day), 2, 4)
    local = choose(
        rng.choice(5, n, p=(0.35, 0.2, 0.2, 0.15, 0.1)),
        [
            cat(f, ".", surname),
            cat(np.strings.slice(f, 0, 1), ".", surname),
            cat(f, surname, year),
            cat(f, "_", surname),
            cat(surname, ".", f, year),
        ],
    )
    dom = pick(EMAIL_DOMAINS, rng.choice(len(EMAIL_DOMAINS), n, p=EMAIL_DOMAIN_WEIGHTS))
    # household members with the same name pattern stay unique through a numeric suffix
    suffix = where(rng.random(n) < 0.25, zfill_int(rng.integers(1, 99, n), 2), "")
    return cat(local, suffix, "@", dom).astype(S)


@dataclass
class Identities:
    """Per-person identifiers (arrays indexed like persons) and the identity-bearing tables."""

    email: np.ndarray
    email_old: np.ndarray
    email_family: np.ndarray
    mobile: np.ndarray
    landline: np.ndarray
    crm_id: np.ndarray
    account_id: np.ndarray
    member_id: np.ndarray
    card1: np.ndarray
    card2: np.ndarray
    card_switch_day: np.ndarray
    consent_email: np.ndarray
    consent_sms: np.ndarray
    social_handle: np.ndarray
    cookie_person: np.ndarray
    cookie_id: np.ndarray
    cookie_device: np.ndarray
    cookie_login_day: np.ndarray
    tables: dict[str, Table] = field(default_factory=dict)


def _crm_records(
    rng: np.random.Generator,
    p: Persons,
    who: np.ndarray,
    created: np.ndarray,
    dup: bool,
    email: np.ndarray,
    mobile: np.ndarray,
    landline: np.ndarray,
    social: np.ndarray,
) -> Table:
    n = who.size
    first = first_name_as_typed(rng, p["first_name"][who], 0.35 if dup else 0.02, 0.25 if dup else 0.01)
    infix_in_last = rng.random(n) < (0.4 if dup else 0.03)
    last = where(
        infix_in_last, surname_as_typed(rng, p["infix"][who], p["last_name"][who], 0.5), p["last_name"][who]
    )
    infix = where(infix_in_last, "", p["infix"][who])
    last = where(rng.random(n) < (0.15 if dup else 0.01), typo(rng, last), last)
    u = rng.random(n)
    em = email_as_typed(rng, email[who], 0.15 if dup else 0.03)
    em = where(u < 0.04, pick(JUNK_EMAILS, rng.integers(0, 3, n)), where(u < 0.12, "", em))
    ph = where(rng.random(n) < 0.3, landline[who], mobile[who])
    ph = where(np.strings.str_len(ph) == 0, mobile[who], ph)
    ph = fmt_phone(rng, ph)
    ph = where(
        rng.random(n) < 0.03, pick(JUNK_PHONES, rng.integers(0, 2, n)), where(rng.random(n) < 0.1, "", ph)
    )
    gender = where(rng.random(n) < 0.1, "", where(rng.random(n) < 0.01, "x", p["gender"][who]))
    c_email = rng.random(n) < 0.3 + 0.6 * p["email_aff"][who]
    c_social = social[who] & (rng.random(n) < 0.6) | (rng.random(n) < 0.03)
    handle = cat("@", compact_lower(p["first_name"][who]), compact_lower(p["last_name"][who]))
    t: Table = {
        "_person": who,
        "first_name": first,
        "infix": infix,
        "last_name": last,
        "gender": gender,
        "birth_date": where(
            rng.random(n) < 0.15, "", birth_as_typed(rng, p["birth_day"][who], 0.3 if dup else 0.02)
        ),
        "email": em,
        "phone": ph,
        "consent_email": c_email.astype(np.int64),
        "consent_sms": (rng.random(n) < 0.3).astype(np.int64),
        "consent_phone": (rng.random(n) < 0.2).astype(np.int64),
        "consent_post": (rng.random(n) < 0.4).astype(np.int64),
        "consent_social": c_social.astype(np.int64),
        "social_handle": where(c_social & social[who], handle, ""),
        "_created": created,
    }
    return t


def _versions_address(
    rng: np.random.Generator,
    p: Persons,
    t: Table,
    who: np.ndarray,
    follows_move: np.ndarray,
    extra_change_day: np.ndarray | None,
) -> Table:
    """Expand a record table to versions: created, moved (new address), consent change."""
    n = who.size
    created = t.pop("_created")
    moved = follows_move & (p["move_day"][who] > created // DAY)
    parts = []
    for version in range(3):
        if version == 0:
            sel = np.ones(n, dtype=bool)
            ts = created
        elif version == 1:
            sel = moved
            ts = ts_on(rng, p["move_day"][who] + rng.integers(0, 30, n))
        else:
            if extra_change_day is None:
                continue
            sel = extra_change_day < NEVER_DAY
            ts = ts_on(rng, extra_change_day)
        # the state in version k: address new if this version is at or after the move version
        if version == 0:
            after_move = np.zeros(n, dtype=bool)
        elif version == 1:
            after_move = moved
        else:
            after_move = moved & (extra_change_day >= p["move_day"][who])
        v = {k: val[sel] for k, val in t.items()}
        pc4 = np.where(after_move, p["new_postcode4"][who], p["postcode4"][who])[sel]
        letters = where(after_move, p["new_pc_letters"][who], p["pc_letters"][who])[sel]
        v["street"] = where(after_move, p["new_street"][who], p["street"][who])[sel]
        v["house_number"] = fmt_house(
            rng,
            np.where(after_move, p["new_house_number"][who], p["house_number"][who])[sel],
            where(after_move, p["new_house_suffix"][who], p["house_suffix"][who])[sel],
        )
        v["postcode"] = fmt_postcode(rng, pc4, letters)
        v["city"] = where(after_move, p["new_city"][who], p["city"][who])[sel]
        v["_ts"] = ts[sel]
        v["_created"] = created[sel]
        v["_version"] = np.full(sel.sum(), version)
        parts.append(v)
    return {k: np.concatenate([x[k] for x in parts]) for k in parts[0]}


def make_identities(rng: np.random.Generator, p: Persons, chunk: int, start_day: int) -> Identities:
    n = p["idx"].size
    base = 1_000_000 + chunk * 200_000
    email = _email(rng, p["first_name"], p["infix"], p["last_name"], p["birth_day"])
    email_old = where(
        rng.random(n) < 0.3, _email(rng, p["first_name"], p["infix"], p["last_name"], p["birth_day"]), ""
    )
    work = cat(
        compact_lower(p["first_name"]),
        ".",
        compact_lower(cat(p["infix"], p["last_name"])),
        "@",
        pick(WORK_DOMAINS, rng.integers(0, len(WORK_DOMAINS), n)),
    )
    email_old = where((np.strings.str_len(email_old) == 0) & (rng.random(n) < 0.12), work, email_old)
    hh_size = np.bincount(p["hh"])[p["hh"]]
    fam_hh = rng.random(p["hh"].max() + 1) < 0.2
    fam = cat(
        "familie",
        compact_lower(p["last_name"][p["hh"] * 0 + p["hh"]]),
        "@",
        pick(EMAIL_DOMAINS, p["hh"] % len(EMAIL_DOMAINS)),
    )
    # the family address uses the surname of the first member of the household
    first_member = np.searchsorted(p["hh"], p["hh"])
    fam = fam[first_member]
    email_family = where(fam_hh[p["hh"]] & (hh_size > 1), fam, "")
    mobile = cat("06", zfill_int(rng.integers(10_000_000, 99_999_999, n), 8))
    land_hh = cat(
        "0",
        pick(
            ("20", "10", "30", "70", "40", "50", "24", "26", "33", "58"),
            rng.integers(0, 10, p["hh"].max() + 1),
        ),
        zfill_int(rng.integers(1_000_000, 9_999_999, p["hh"].max() + 1), 7),
    )
    landline = where(rng.random(p["hh"].max() + 1) < 0.3, land_hh, "")[p["hh"]]
    social = rng.random(n) < 0.05
    acq_ts = ts_on(rng, p["acquisition_day"])

    # CRM: most persons have a record, ~8 % a second (duplicate) record with variations
    has_crm = rng.random(n) < 0.85
    who1 = np.flatnonzero(has_crm)
    email_used = where(
        np.strings.str_len(email_family) > 0, where(rng.random(n) < 0.5, email_family, email), email
    )
    crm1 = _crm_records(rng, p, who1, acq_ts[who1], False, email_used, mobile, landline, social)
    dup = has_crm & (rng.random(n) < 0.094)
    who2 = np.flatnonzero(dup)
    alt = where(np.strings.str_len(email_old) > 0, email_old, email)
    crm2 = _crm_records(
        rng,
        p,
        who2,
        acq_ts[who2] + rng.integers(10, 400, who2.size) * DAY,
        True,
        alt,
        mobile,
        landline,
        social,
    )
    crm = {k: np.concatenate([crm1[k], crm2[k]]) for k in crm1}
    m = crm["_person"].size
    crm["customer_id"] = ids("C", base + rng.permutation(m), 7)
    consent_change = np.where(
        rng.random(m) < 0.15, crm["_created"] // DAY + rng.integers(30, 900, m), NEVER_DAY
    )
    crm_v = _versions_address(rng, p, crm, crm["_person"], rng.random(m) < 0.9, consent_change)
    flip = crm_v["_version"] == 2
    crm_v["consent_email"] = np.where(flip, 1 - crm_v["consent_email"], crm_v["consent_email"])
    crm_v["consent_updated_at"] = np.where(flip, crm_v["_ts"], crm_v["_created"])
    crm_v["created_at"] = crm_v["_created"]
    crm_id = np.full(n, "", dtype=S)
    crm_id[who1] = crm["customer_id"][: who1.size]

    # webshop accounts
    has_acc = rng.random(n) < 0.15 + 0.65 * p["online_pref"]
    wa1 = np.flatnonzero(has_acc)
    wa2 = np.flatnonzero(has_acc & (rng.random(n) < 0.06))
    who_a = np.concatenate([wa1, wa2])
    k = who_a.size
    second = np.arange(k) >= wa1.size
    acc_email = where(
        second,
        where(np.strings.str_len(email_old[who_a]) > 0, email_old[who_a], cat("x", email[who_a])),
        email_used[who_a],
    )
    acc: Table = {
        "_person": who_a,
        "account_id": ids("A", base + rng.permutation(k), 7),
        "crm_customer_id": where(rng.random(k) < 0.3, crm_id[who_a], ""),
        "email": email_as_typed(rng, acc_email, 0.04),
        "first_name": first_name_as_typed(rng, p["first_name"][who_a], 0.05, 0.02),
        "last_name": surname_as_typed(rng, p["infix"][who_a], p["last_name"][who_a], 0.55),
        "phone": where(rng.random(k) < 0.4, "", fmt_phone(rng, mobile[who_a])),
        "birth_date": where(rng.random(k) < 0.5, "", birth_as_typed(rng, p["birth_day"][who_a], 0.03)),
        "newsletter_opt_in": (rng.random(k) < p["email_aff"][who_a]).astype(np.int64),
        "_created": acq_ts[who_a] + np.where(second, rng.integers(60, 600, k), rng.integers(0, 3, k)) * DAY,
    }
    optin_change = np.where(rng.random(k) < 0.1, acc["_created"] // DAY + rng.integers(30, 700, k), NEVER_DAY)
    acc_v = _versions_address(rng, p, acc, who_a, rng.random(k) < 0.5, optin_change)
    acc_v["newsletter_opt_in"] = np.where(
        acc_v["_version"] == 2, 1 - acc_v["newsletter_opt_in"], acc_v["newsletter_opt_in"]
    )
    acc_v["created_at"] = acc_v["_created"]
    account_id = np.full(n, "", dtype=S)
    account_id[wa1] = acc["account_id"][: wa1.size]

    # loyalty members and cards
    is_member = rng.random(n) < 0.2 + 0.55 * (1 - p["online_pref"])
    wm = np.flatnonzero(is_member)
    q = wm.size
    enrolled = acq_ts[wm] + rng.integers(0, 200, q) * DAY
    member_ids = ids("M", base + rng.permutation(q), 7)
    mem: Table = {
        "_person": wm,
        "member_id": member_ids,
        "first_name": first_name_as_typed(rng, p["first_name"][wm], 0.15, 0.03),
        "last_name": surname_as_typed(rng, p["infix"][wm], p["last_name"][wm], 0.5),
        "email": where(rng.random(q) < 0.2, "", email_as_typed(rng, email_used[wm], 0.05)),
        "phone": fmt_phone(rng, mobile[wm]),
        "birth_date": where(rng.random(q) < 0.3, "", birth_as_typed(rng, p["birth_day"][wm], 0.05)),
        "postcode": fmt_postcode(rng, p["postcode4"][wm], p["pc_letters"][wm], 0.4),
        "house_number": fmt_house(rng, p["house_number"][wm], p["house_suffix"][wm]),
        "enrolled_at": enrolled,
    }
    mem["email"] = where(rng.random(q) < 0.03, pick(JUNK_EMAILS, rng.integers(0, 3, q)), mem["email"])
    mem["phone"] = where(rng.random(q) < 0.03, pick(JUNK_PHONES, rng.integers(0, 2, q)), mem["phone"])
    value_tier = p["value_tier"][wm]
    up1 = np.where(value_tier != "low", enrolled + rng.integers(90, 400, q) * DAY, NEVER)
    up2 = np.where(value_tier == "high", up1 + rng.integers(120, 500, q) * DAY, NEVER)
    mem_v = []
    for tier, ts, sel in (
        ("basic", enrolled, np.ones(q, bool)),
        ("silver", up1, up1 < NEVER),
        ("gold", up2, up2 < NEVER),
    ):
        v = {c: a[sel] for c, a in mem.items()}
        v["tier"] = sarr(tier, int(sel.sum()))
        v["_ts"] = ts[sel]
        mem_v.append(v)
    members = {c: np.concatenate([v[c] for v in mem_v]) for c in mem_v[0]}
    member_id = np.full(n, "", dtype=S)
    member_id[wm] = member_ids

    card_base = 2_600_000_000_000 + chunk * 400_000 + 1000
    cnum = rng.permutation(2 * q)
    card1 = ids("", card_base + cnum[:q], 13)
    lost = rng.random(q) < 0.12
    switch_ts = np.where(lost, enrolled + rng.integers(60, 900, q) * DAY, NEVER)
    card2 = where(lost, ids("", card_base + cnum[q:], 13), "")
    lost_status = where(rng.random(q) < 0.6, "lost", "replaced")
    wl = np.flatnonzero(lost)
    cards = {
        "_person": np.concatenate([wm, wm[wl], wm[wl]]),
        "card_number": np.concatenate([card1, card1[wl], card2[wl]]),
        "member_id": np.concatenate([member_ids, member_ids[wl], member_ids[wl]]),
        "status": np.concatenate([sarr("active", q), lost_status[wl], sarr("active", wl.size)]),
        "issued_at": np.concatenate([enrolled, enrolled[wl], switch_ts[wl]]),
        "_ts": np.concatenate([enrolled, switch_ts[wl], switch_ts[wl]]),
    }
    c1 = np.full(n, "", dtype=S)
    c2 = np.full(n, "", dtype=S)
    sw = np.full(n, NEVER, dtype=np.int64)
    c1[wm], c2[wm], sw[wm] = card1, card2, switch_ts

    # cookies: 1-5 devices per person, anonymous until the first login on that device
    n_cookies = 1 + np.minimum(rng.poisson(1.0, n), 4)
    cp = np.repeat(np.arange(n), n_cookies)
    nc = cp.size
    cookie_id = ids("ck", chunk * 10_000_000 + rng.permutation(nc), 10)
    device = pick(("mobile", "desktop", "tablet"), rng.choice(3, nc, p=(0.6, 0.32, 0.08)))
    login = np.where(
        has_acc[cp] & (rng.random(nc) < 0.7),
        p["acquisition_day"][cp] + rng.integers(0, 400, nc),
        NEVER // DAY,
    )

    ident = Identities(
        email=email,
        email_old=email_old,
        email_family=email_family,
        mobile=mobile,
        landline=landline,
        crm_id=crm_id,
        account_id=account_id,
        member_id=member_id,
        card1=c1,
        card2=c2,
        card_switch_day=sw,
        consent_email=(rng.random(n) < 0.3 + 0.6 * p["email_aff"]),
        consent_sms=rng.random(n) < 0.3,
        social_handle=where(
            social,
            cat(
                compact_lower(p["first_name"]),
                "_",
                compact_lower(p["last_name"]),
                zfill_int(rng.integers(0, 99, n), 2),
            ),
            "",
        ),
        cookie_person=cp,
        cookie_id=cookie_id,
        cookie_device=device,
        cookie_login_day=login,
    )
    ident.tables = {"customers": crm_v, "accounts": acc_v, "members": members, "cards": cards}
    ident.email_used = email_used  # type: ignore[attr-defined]
    return ident
