"""One chunk of the world: persons → identities → timeline → the rows of every source table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from simulator import behaviour as bh
from simulator.catalog import make_campaigns, make_products
from simulator.geo import black_friday, daily_intensity, make_pc4, make_stores
from simulator.identities import (
    DAY,
    Identities,
    Table,
    email_as_typed,
    fmt_house,
    fmt_postcode,
    make_identities,
)
from simulator.persons import Persons, make_persons
from simulator.reference import JUNK_EMAILS, PRODUCT_LINES
from simulator.textops import (
    S,
    cat,
    fmt_date,
    fmt_ts,
    fmt_ts_ms_z,
    fmt_yyyymmdd,
    ids,
    pick,
    sarr,
    where,
    zfill_int,
)

CHUNK_SIZE = 25_000
PRE_DAYS = 800  # simulated days before the start (for persons acquired earlier)


@dataclass(frozen=True)
class Spec:
    seed: int
    n_people: int
    start_day: int
    horizon_days: int

    @property
    def end_day(self) -> int:
        return self.start_day + self.horizon_days

    @property
    def n_chunks(self) -> int:
        return max(1, -(-self.n_people // CHUNK_SIZE))


@dataclass
class Globals:
    pc4: pd.DataFrame
    stores: pd.DataFrame
    products: pd.DataFrame
    campaigns: pd.DataFrame
    clock: bh.Clock


def make_globals(spec: Spec) -> Globals:
    rng = np.random.default_rng([spec.seed, 0])
    first = spec.start_day - PRE_DAYS
    n_days = spec.end_day - first + 400
    w = daily_intensity(first, n_days)
    cum = np.r_[0.0, np.cumsum(w)] / 365.0
    campaigns = make_campaigns(rng, spec.start_day, spec.horizon_days)
    campaigns["cost"] = np.round(
        campaigns["audience_rate"] * spec.n_people * 0.6 * campaigns["cost_per_contact"] + 500, -1
    )
    return Globals(
        pc4=make_pc4(rng),
        stores=make_stores(rng, spec.start_day, spec.horizon_days),
        products=make_products(rng, spec.start_day, spec.horizon_days),
        campaigns=campaigns,
        clock=bh.Clock(first_day=first, start_day=spec.start_day, end_day=spec.end_day, cum=cum),
    )


@dataclass
class Chunk:
    persons: Persons
    ident: Identities
    death: np.ndarray
    tx: pd.DataFrame
    lines: pd.DataFrame
    tables: dict[str, Table]  # "system.table" -> columns (+ _person, _ts, _arrival / _key)
    bad_rows: pd.DataFrame


def _stack(parts: list[Table]) -> Table:
    return {k: np.concatenate([pt[k] for pt in parts]) for k in parts[0]}


def _first_after(tx_key: np.ndarray, person: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Index of the first transaction of `person` at or after `ts` (tx sorted by person, ts)."""
    return np.searchsorted(tx_key, person.astype(np.int64) * (1 << 34) + ts)


def _late(rng: np.random.Generator, day: np.ndarray) -> np.ndarray:
    """Arrival day: the event day, or 1-3 days later for about 1.5 % of rows."""
    late = rng.random(day.size) < 0.015
    return day + np.where(late, rng.integers(1, 4, day.size), 0)


def simulate_chunk(spec: Spec, g: Globals, chunk: int) -> Chunk:
    rng = np.random.default_rng([spec.seed, 1, chunk])
    first = chunk * CHUNK_SIZE
    n = min(CHUNK_SIZE, spec.n_people - first)
    p = make_persons(rng, n, first, g.pc4, g.stores, spec.start_day, spec.horizon_days)
    ident = make_identities(rng, p, chunk, spec.start_day)
    clock = g.clock
    tx0, death = bh.baseline_purchases(rng, p, clock)
    exp, inc = bh.campaign_exposures(rng, p, ident, g.campaigns, death)
    camp_line = np.array([PRODUCT_LINES.index(x) if x else -1 for x in g.campaigns["product_line"]])
    tx0["campaign_line"] = -1
    inc["campaign_line"] = camp_line[inc["campaign"].to_numpy().astype(np.int64)] if len(inc) else []
    tx_all = pd.concat([tx0, inc], ignore_index=True).astype(
        {"person": np.int64, "day": np.int64, "campaign": np.int64}
    )
    tx, lines = bh.build_transactions(rng, p, ident, tx_all, g.stores, g.products, clock)
    tables: dict[str, Table] = {}
    t = _sales(rng, spec, g, p, ident, tx, lines, exp, chunk, tables)
    tx, lines, exp = t
    tables.update(_identity_tables(ident))
    # email (newsletters + treated email exposures) and web
    camp = g.campaigns
    ce = exp[(~exp["is_control"]) & (camp["channel"].to_numpy()[exp["campaign"].to_numpy()] == "email")]
    ce = ce.assign(
        campaign_id=camp["campaign_id"].to_numpy()[ce["campaign"].to_numpy()],
        campaign_name=camp["campaign_name"].to_numpy()[ce["campaign"].to_numpy()],
    )
    subs, sends, eevents, clicks = bh.email_activity(
        rng, p, ident, death, bh.newsletters(clock), ce, clock, chunk
    )
    tables["email.subscriptions"] = subs
    tables["email.sends"] = sends
    tables["email.events"] = eevents
    cc = exp.attrs["click_sessions"]
    sessions = bh.web_sessions(rng, p, ident, tx, death, pd.concat([clicks, cc], ignore_index=True), clock)
    tables["web.events"] = bh.explode_events(rng, p, ident, sessions, g.products, chunk)
    tables["service.contacts"] = bh.service_contacts(rng, p, ident, death, tx, clock, chunk)
    tables["social.interactions"] = bh.social_interactions(rng, p, ident, death, clock, chunk)
    _finish_files(rng, spec, tables)
    bad = plant_bad_rows(rng, tables)
    return Chunk(p, ident, death, tx, lines, tables, bad)


def _sales(
    rng: np.random.Generator,
    spec: Spec,
    g: Globals,
    p: Persons,
    ident: Identities,
    tx: pd.DataFrame,
    lines: pd.DataFrame,
    exp: pd.DataFrame,
    chunk: int,
    tables: dict[str, Table],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Orders, receipts, lines, coupons, campaign exposures/responses and the points ledger."""
    camp = g.campaigns
    m = len(tx)
    person = tx["person"].to_numpy()
    ts = tx["ts"].to_numpy()
    web = tx["web"].to_numpy()
    day = tx["day"].to_numpy()
    tx_key = person.astype(np.int64) * (1 << 34) + ts
    # transaction ids
    order_id = ids("WO", chunk * 10**8 + rng.permutation(m), 10)
    store_ids = g.stores["store_id"].to_numpy().astype(S)
    local_day = tx["local_ts"].to_numpy() // DAY
    seq = np.zeros(m, dtype=np.int64)
    o = np.lexsort((tx["local_ts"].to_numpy(), local_day, tx["store"].to_numpy(), web))
    grp = web[o].astype(np.int64) * 10**9 + tx["store"].to_numpy()[o] * 10**6 + local_day[o]
    seq[o] = bh._group_rank(grp)
    receipt_id = cat(
        store_ids[tx["store"].to_numpy()],
        "-",
        fmt_yyyymmdd(local_day),
        "-",
        zfill_int(chunk, 2),
        zfill_int(seq, 4),
    )
    tx_id = where(web, order_id, receipt_id)

    # exposures: coupons for treated offers, clicks, responses
    k = len(exp)
    ci = exp["campaign"].to_numpy().astype(np.int64)
    ep = exp["person"].to_numpy().astype(np.int64)
    ets = exp["ts"].to_numpy().astype(np.int64)
    control = exp["is_control"].to_numpy().astype(bool)
    channel = camp["channel"].to_numpy().astype(str)[ci]
    has_coupon = ~control & (camp["coupon_pct"].to_numpy()[ci] > 0)
    coupon_code = where(has_coupon, cat("KB", zfill_int(chunk * 10**7 + rng.permutation(k), 9)), "")
    end_day = camp["end_day"].to_numpy()[ci]
    valid_until = end_day + 14
    j = _first_after(tx_key, ep, ets)
    jj = np.minimum(j, max(m - 1, 0))
    hit_valid = (j < m) & (person[jj] == ep) if m else np.zeros(k, bool)
    redeem = has_coupon & hit_valid & (day[jj] <= valid_until) & (rng.random(k) < 0.8)
    # one coupon per transaction
    red_idx = np.flatnonzero(redeem)
    _, first_red = np.unique(jj[red_idx], return_index=True)
    red_idx = red_idx[first_red]
    tx_coupon = np.full(m, "", dtype=S)
    tx_pct = np.zeros(m)
    tx_coupon[jj[red_idx]] = coupon_code[red_idx]
    tx_pct[jj[red_idx]] = camp["coupon_pct"].to_numpy()[ci[red_idx]] / 100
    redeemed = np.zeros(k, dtype=bool)
    redeemed[red_idx] = True

    # lines and amounts
    lt = lines["tx"].to_numpy()
    gross = lines["quantity"].to_numpy() * lines["unit_price"].to_numpy()
    bf = np.concatenate(
        [np.arange(5) - 1 + (black_friday(y) - date(1970, 1, 1)).days for y in range(1990, 2200)]
    )
    promo = np.isin(day[lt], bf) & (rng.random(lt.size) < 0.5)
    ldisc = np.round(gross * np.maximum(tx_pct[lt], np.where(promo, 0.2, 0.0)), 2)
    lamount = np.round(gross - ldisc, 2)
    subtotal = np.round(np.bincount(lt, gross, minlength=m), 2)
    discount = np.round(np.bincount(lt, ldisc, minlength=m), 2)
    shipping = np.where(web & (subtotal - discount < 50), 4.95, 0.0)
    total = np.round(subtotal - discount + shipping, 2)
    tx = tx.assign(
        tx_id=tx_id.astype(object),
        total=total,
        coupon=tx_coupon.astype(object),
        margin=np.bincount(lt, lamount - lines["cost"].to_numpy(), minlength=m),
    )
    lines = lines.assign(line_amount=lamount)

    keep_tx = day >= spec.start_day
    # webshop orders with status versions
    w = np.flatnonzero(web & keep_tx)
    q = w.size
    wp = person[w]
    use_acc = (np.strings.str_len(ident.account_id[wp]) > 0) & (rng.random(q) < 0.88)
    guest = email_as_typed(rng, ident.email_used[wp], 0.1)
    guest = where(rng.random(q) < 0.03, pick(JUNK_EMAILS, rng.integers(0, 3, q)), guest)
    moved = day[w] >= p["move_day"][wp]
    pc = fmt_postcode(
        rng,
        np.where(moved, p["new_postcode4"][wp], p["postcode4"][wp]),
        where(moved, p["new_pc_letters"][wp], p["pc_letters"][wp]),
    )
    hn = fmt_house(
        rng,
        np.where(moved, p["new_house_number"][wp], p["house_number"][wp]),
        where(moved, p["new_house_suffix"][wp], p["house_suffix"][wp]),
    )
    base: Table = {
        "_person": wp,
        "_key": order_id[w],
        "order_id": order_id[w],
        "account_id": where(use_acc, ident.account_id[wp], ""),
        "guest_email": where(use_acc, "", guest),
        "ordered_at": fmt_ts(ts[w]),
        "shipping_postcode": pc,
        "shipping_house_number": hn,
        "coupon_code": tx_coupon[w],
        "subtotal_amount": subtotal[w],
        "discount_amount": discount[w],
        "shipping_amount": shipping[w],
        "total_amount": total[w],
        "currency": sarr("EUR", q),
    }
    cancelled = rng.random(q) < 0.03
    returned = ~cancelled & (rng.random(q) < 0.07)
    t_paid = ts[w] + rng.integers(60, 1200, q)
    t_ship = t_paid + rng.integers(DAY // 2, 2 * DAY, q)
    t_deliv = t_ship + rng.integers(DAY, 3 * DAY, q)
    versions = [
        ("placed", ts[w], np.ones(q, bool)),
        ("paid", t_paid, ~cancelled),
        ("cancelled", ts[w] + rng.integers(3600, 5 * 3600, q), cancelled),
        ("shipped", t_ship, ~cancelled),
        ("delivered", t_deliv, ~cancelled),
        ("returned", t_deliv + rng.integers(5 * DAY, 20 * DAY, q), returned),
    ]
    parts = []
    for status, vts, sel in versions:
        v = {c: a[sel] for c, a in base.items()}
        v["status"] = sarr(status, int(sel.sum()))
        v["_ts"] = vts[sel]
        parts.append(v)
    tables["webshop.orders"] = _stack(parts)
    wl = np.flatnonzero(web[lt] & keep_tx[lt])
    tables["webshop.order_lines"] = {
        "_person": person[lt[wl]],
        "_key": cat(order_id[lt[wl]], "-", zfill_int(lines["line_number"].to_numpy()[wl], 2)),
        "order_line_id": cat(order_id[lt[wl]], "-", zfill_int(lines["line_number"].to_numpy()[wl], 2)),
        "order_id": order_id[lt[wl]],
        "product_id": g.products["product_id"].to_numpy().astype(S)[lines["product"].to_numpy()[wl]],
        "quantity": lines["quantity"].to_numpy()[wl],
        "unit_price": lines["unit_price"].to_numpy()[wl],
        "discount_amount": ldisc[wl],
        "line_amount": lamount[wl],
        "_ts": ts[lt[wl]],
    }

    # store receipts
    r = np.flatnonzero(~web & keep_tx)
    rp = person[r]
    member = np.strings.str_len(ident.member_id[rp]) > 0
    scan = member & (rng.random(r.size) < 0.85)
    card = where(ts[r] >= ident.card_switch_day[rp], ident.card2[rp], ident.card1[rp])
    default_card = cat("26000000", zfill_int(tx["store"].to_numpy()[r], 5))
    use_default = ~scan & (rng.random(r.size) < 0.25)
    card = where(scan, card, where(use_default, default_card, ""))
    store = tx["store"].to_numpy()[r]
    tables["pos.receipts"] = {
        "_person": rp,
        "_ts": ts[r],
        "_arrival": _late(rng, local_day[r]),
        "receipt_id": receipt_id[r],
        "store_id": store_ids[store],
        "register_id": cat(store_ids[store], "-K", rng.integers(1, 5, r.size).astype(S)),
        "receipt_ts": fmt_ts(tx["local_ts"].to_numpy()[r]),
        "loyalty_card_number": card,
        "payment_method": pick(
            ("pin", "contactless", "cash", "creditcard"), rng.choice(4, r.size, p=(0.5, 0.33, 0.12, 0.05))
        ),
        "coupon_code": tx_coupon[r],
        "discount_amount": discount[r],
        "total_amount": total[r],
        "_bearing": np.strings.str_len(card) > 0,
    }
    rl = np.flatnonzero(~web[lt] & keep_tx[lt])
    tables["pos.receipt_lines"] = {
        "_person": person[lt[rl]],
        "_ts": ts[lt[rl]],
        "receipt_id": receipt_id[lt[rl]],
        "line_number": lines["line_number"].to_numpy()[rl],
        "product_id": g.products["product_id"].to_numpy().astype(S)[lines["product"].to_numpy()[rl]],
        "quantity": lines["quantity"].to_numpy()[rl],
        "unit_price": lines["unit_price"].to_numpy()[rl],
        "discount_amount": ldisc[rl],
        "line_amount": lamount[rl],
    }
    tx_arrival = local_day.copy()
    tx_arrival[r] = tables["pos.receipts"]["_arrival"]
    tables["pos.receipt_lines"]["_arrival"] = tx_arrival[lt[rl]]

    # coupons (issued → redeemed)
    wc = np.flatnonzero(has_coupon)
    c_member = ident.member_id[ep[wc]]
    online = np.isin(channel[wc], ["email", "web", "social", "sms"])
    cbase: Table = {
        "_person": ep[wc],
        "_key": coupon_code[wc],
        "coupon_code": coupon_code[wc],
        "member_id": c_member,
        "campaign_id": camp["campaign_id"].to_numpy().astype(S)[ci[wc]],
        "issued_channel": where(online, "online", "offline"),
        "discount_pct": camp["coupon_pct"].to_numpy()[ci[wc]].astype(np.float64),
        "discount_amount": np.full(wc.size, np.nan),
        "issued_at": fmt_ts(ets[wc]),
        "valid_until": fmt_date(valid_until[wc]),
        "redeemed_at": sarr("", wc.size),
        "redeemed_channel": sarr("", wc.size),
        "_ts": ets[wc],
    }
    rw = redeemed[wc]
    v2 = {c: a[rw] for c, a in cbase.items()}
    rtx = jj[wc][rw]
    v2["redeemed_at"] = fmt_ts(ts[rtx])
    v2["redeemed_channel"] = where(web[rtx], "online", "offline")
    v2["_ts"] = ts[rtx]
    coupons = _stack([cbase, v2])
    keep_c = coupons["_ts"] >= spec.start_day * DAY
    tables["loyalty.coupons"] = {c: a[keep_c] for c, a in coupons.items()}

    # responses: purchase (treated and control), clicks and coupon redemptions (treated only)
    win = hit_valid & (day[jj] <= end_day + 7)
    clk = (
        ~control
        & np.isin(channel, ["email", "web", "social", "sms"])
        & (rng.random(k) < 0.03 + 0.2 * p["email_aff"][ep] * (channel == "email"))
    )
    rec_t = exp["recipient_type"].to_numpy().astype(S)
    rec_i = exp["recipient_id"].to_numpy().astype(S)
    cid = camp["campaign_id"].to_numpy().astype(S)[ci]
    resp = []
    for rtype, mask, rts, ref, amount in (
        ("purchase", win, ts[jj], tx_id[jj], total[jj]),
        ("click", clk, ets + rng.integers(60, 6 * 3600, k), sarr("", k), np.full(k, np.nan)),
        ("coupon_redeemed", redeemed, ts[jj], tx_id[jj], total[jj]),
    ):
        s_ = np.flatnonzero(mask)
        resp.append(
            {
                "_person": ep[s_],
                "_ts": rts[s_],
                "campaign_id": cid[s_],
                "recipient_type": rec_t[s_],
                "recipient_id": rec_i[s_],
                "response_type": sarr(rtype, s_.size),
                "order_reference": ref[s_],
                "amount": amount[s_],
            }
        )
    rs = _stack(resp)
    rs["response_id"] = ids("RS", chunk * 10**8 + rng.permutation(rs["_ts"].size), 10)
    tables["campaigns.responses"] = rs
    tables["campaigns.exposures"] = {
        "_person": ep,
        "_ts": ets,
        "exposure_id": ids("EX", chunk * 10**8 + rng.permutation(k), 10),
        "campaign_id": cid,
        "channel": channel.astype(S),
        "recipient_type": rec_t,
        "recipient_id": rec_i,
        "is_control": control,
        "coupon_code": coupon_code,
    }
    # web/social clicks start a web session with utm parameters
    wk = np.flatnonzero(clk & np.isin(channel, ["web", "social", "sms"]))
    cl = camp["product_line"].to_numpy().astype(str)[ci[wk]]
    exp.attrs["click_sessions"] = pd.DataFrame(
        {
            "person": ep[wk],
            "start": (ets[wk] + 120) * 1000,
            "kind": 3,
            "line": np.array([PRODUCT_LINES.index(x) if x else -1 for x in np.unique(cl)], dtype=np.int64)[
                np.searchsorted(np.unique(cl), cl)
            ]
            if wk.size
            else np.zeros(0, np.int64),
            "utm_source": np.where(
                channel[wk] == "social", "instagram", np.where(channel[wk] == "sms", "sms", "display")
            ),
            "utm_medium": np.where(channel[wk] == "web", "banner", channel[wk]),
            "utm_campaign": cid[wk].astype(object),
            "promo_code": coupon_code[wk].astype(object),
        }
    )

    # points ledger
    earn_web = web & keep_tx & (np.strings.str_len(ident.member_id[person]) > 0) & (rng.random(m) < 0.5)
    earn_store = np.zeros(m, bool)
    earn_store[r] = scan
    e = np.flatnonzero(earn_web | earn_store)
    e_card = np.full(m, "", dtype=S)
    e_card[r] = where(scan, card, "")
    red = rng.random(e.size) < 0.08
    er = e[red]
    promo_x = np.flatnonzero(
        ~control
        & (camp["campaign_type"].to_numpy()[ci] == "loyalty_promotion")
        & (np.strings.str_len(ident.member_id[ep]) > 0)
        & (ets >= spec.start_day * DAY)
    )
    entries = _stack(
        [
            {
                "_person": person[e],
                "_ts": ts[e],
                "card_number": e_card[e],
                "points": np.floor(total[e]).astype(np.int64),
                "reason": sarr("purchase", e.size),
                "reference_id": tx_id[e],
            },
            {
                "_person": person[er],
                "_ts": ts[er] + 5,
                "card_number": e_card[er],
                "points": -rng.integers(1, 5, er.size) * 100,
                "reason": sarr("redemption", er.size),
                "reference_id": tx_id[er],
            },
            {
                "_person": ep[promo_x],
                "_ts": ets[promo_x],
                "card_number": sarr("", promo_x.size),
                "points": np.full(promo_x.size, 250),
                "reason": sarr("promotion", promo_x.size),
                "reference_id": cid[promo_x],
            },
        ]
    )
    corr = rng.random(entries["_ts"].size) < 0.005
    entries["reason"] = where(corr, "correction", entries["reason"])
    entries["points"] = np.where(corr, rng.integers(-50, 50, corr.size), entries["points"])
    entries["member_id"] = ident.member_id[entries["_person"]]
    entries["entry_ts"] = fmt_ts(entries["_ts"])
    entries["entry_id"] = ids("LP", chunk * 10**9 + rng.permutation(entries["_ts"].size), 11)
    entries["_key"] = entries["entry_id"]
    tables["loyalty.points_ledger"] = entries
    return tx, lines, exp


def _identity_tables(ident: Identities) -> dict[str, Table]:
    t = ident.tables
    crm = t["customers"]
    crm["_key"] = crm["customer_id"]
    acc = t["accounts"]
    acc["_key"] = acc["account_id"]
    mem = t["members"]
    mem["_key"] = mem["member_id"]
    mem["enrolled_at"] = fmt_ts(mem["enrolled_at"])
    cards = t["cards"]
    cards["_key"] = cards["card_number"]
    cards["issued_at"] = fmt_ts(cards["issued_at"])
    for tb in (crm, acc):
        tb["created_at"] = fmt_ts(tb["created_at"])
    crm["consent_updated_at"] = fmt_ts(crm["consent_updated_at"])
    return {"crm.customers": crm, "webshop.accounts": acc, "loyalty.members": mem, "loyalty.cards": cards}


_TS_COLUMNS = {
    "email.subscriptions": "changed_at",
    "email.sends": "sent_at",
    "email.events": "event_ts",
    "service.contacts": "contact_ts",
    "social.interactions": "interaction_ts",
    "campaigns.exposures": "exposed_at",
    "campaigns.responses": "responded_at",
}


def _finish_files(rng: np.random.Generator, spec: Spec, tables: dict[str, Table]) -> None:
    """Event timestamps as text, arrival days with late records, rows before the start dropped."""
    for name, col in _TS_COLUMNS.items():
        t = tables[name]
        t[col] = fmt_ts(t["_ts"])
        t["_arrival"] = _late(rng, t["_ts"] // DAY)
    ev = tables["web.events"]
    ev["event_ts"] = fmt_ts_ms_z(ev.pop("_ms"))
    ev["_arrival"] = _late(rng, ev["_ts"] // DAY)
    for name, t in tables.items():
        if "_arrival" in t:
            keep = t["_arrival"] >= spec.start_day
            tables[name] = {c: a[keep] for c, a in t.items()}


# ------------------------------------------------------------------ bad rows
_MALFORMED_EMAILS = ("jan.jansen@", "@gmail.com", "piet at hotmail.com", "marie..devries@@ziggo.nl")
_BAD_DATES = ("31-02-2025", "not a date", "2025-13-45", "00-00-0000")


def plant_bad_rows(rng: np.random.Generator, tables: dict[str, Table], rate: float = 0.002) -> pd.DataFrame:
    """Plant a small share of defects and return what was planted (system, table, record_id, defect)."""
    plan: list[tuple[str, str, str, str]] = [
        ("pos.receipts", "receipt_id", "total_amount", "negative_amount"),
        ("pos.receipt_lines", "receipt_id", "line_amount", "negative_amount"),
        ("pos.receipt_lines", "receipt_id", "", "duplicate_primary_key"),
        ("web.events", "event_id", "", "duplicate_primary_key"),
        ("web.events", "event_id", "cookie_id", "empty_required_field"),
        ("email.sends", "send_id", "email", "malformed_email"),
        ("email.subscriptions", "subscription_event_id", "email", "malformed_email"),
        ("service.contacts", "contact_id", "contact_ts", "unparseable_date"),
        ("campaigns.exposures", "exposure_id", "recipient_id", "empty_required_field"),
        ("campaigns.responses", "response_id", "amount", "negative_amount"),
        ("social.interactions", "interaction_id", "interaction_ts", "unparseable_date"),
        ("crm.customers", "customer_id", "email", "malformed_email"),
        ("crm.customers", "customer_id", "birth_date", "unparseable_date"),
        ("webshop.accounts", "account_id", "email", "malformed_email"),
        ("webshop.orders", "order_id", "total_amount", "negative_amount"),
        ("loyalty.members", "member_id", "birth_date", "unparseable_date"),
    ]
    out = []
    for name, idcol, col, defect in plan:
        t = tables[name]
        size = t[idcol].size
        if "_key" in t:  # database tables: the same key is bad in every version
            _, inv = np.unique(t["_key"], return_inverse=True)
            bad = rng.random(inv.max() + 1 if size else 0)[inv] < rate
        else:
            bad = rng.random(size) < rate
        w = np.flatnonzero(bad)
        if w.size == 0:
            continue
        if defect == "negative_amount":
            t[col][w] = -np.abs(t[col][w]) - 1
        elif defect == "malformed_email":
            t[col][w] = pick(_MALFORMED_EMAILS, rng.integers(0, len(_MALFORMED_EMAILS), w.size))
        elif defect == "unparseable_date":
            t[col][w] = pick(_BAD_DATES, rng.integers(0, len(_BAD_DATES), w.size))
        elif defect == "empty_required_field":
            t[col][w] = ""
        elif defect == "duplicate_primary_key":
            tables[name] = t = {c: np.concatenate([a, a[w]]) for c, a in t.items()}
            if name == "pos.receipt_lines":  # same key, different content
                t["quantity"][-w.size :] = t["quantity"][-w.size :] + 1
        day = t["_arrival"][w] if "_arrival" in t else t["_ts"][w] // DAY
        out.append(
            pd.DataFrame(
                {
                    "system": name.split(".")[0],
                    "table": name.split(".")[1],
                    "record_id": t[idcol][w].astype(object),
                    "defect": defect,
                    "_day": day,
                }
            )
        )
    cols = ["system", "table", "record_id", "defect", "_day"]
    if not out:
        return pd.DataFrame(columns=cols)
    df = pd.concat(out, ignore_index=True)
    return df.sort_values("_day", kind="stable").drop_duplicates(cols[:4]).reset_index(drop=True)


__all__ = ["CHUNK_SIZE", "Chunk", "Globals", "Spec", "make_globals", "simulate_chunk"]
