"""generate / advance: publish the deterministic timeline up to a day into the source systems."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from simulator.catalog import uplift_table
from simulator.contract import columns, customer_bearing
from simulator.geo import day_date, day_number, demographics_for_year, make_calendar
from simulator.identities import DAY
from simulator.outcomes import outcomes
from simulator.reference import PRODUCT_LINES
from simulator.textops import S, arrow_strings, cat, fmt_date, fmt_ts, sarr, zfill_int
from simulator.world import Chunk, Globals, Spec, make_globals, simulate_chunk
from simulator.writers import (
    arrow_table,
    jsonl_lines,
    to_frame,
    write_database,
    write_day,
    write_snapshot,
)

GENERATOR_VERSION = "1.0"
DB_SYSTEMS = ("crm", "webshop", "loyalty")
# (system, table) -> (folder under sources/, file stem, format)
FILE_TABLES: dict[tuple[str, str], tuple[str, str]] = {
    ("pos", "receipts"): ("pos/receipts", "csv"),
    ("pos", "receipt_lines"): ("pos/receipt_lines", "csv"),
    ("web", "events"): ("web/events", "jsonl"),
    ("email", "subscriptions"): ("email/subscriptions", "csv"),
    ("email", "sends"): ("email/sends", "csv"),
    ("email", "events"): ("email/events", "csv"),
    ("service", "contacts"): ("service/contacts", "csv"),
    ("campaigns", "exposures"): ("campaigns/exposures", "csv"),
    ("campaigns", "responses"): ("campaigns/responses", "csv"),
    ("social", "interactions"): ("social/interactions", "jsonl"),
}
ID_COLUMN = {
    ("crm", "customers"): "customer_id",
    ("webshop", "accounts"): "account_id",
    ("webshop", "orders"): "order_id",
    ("pos", "receipts"): "receipt_id",
    ("loyalty", "members"): "member_id",
    ("loyalty", "cards"): "card_number",
    ("web", "events"): "event_id",
    ("email", "subscriptions"): "subscription_event_id",
    ("email", "sends"): "send_id",
    ("email", "events"): "email_event_id",
    ("service", "contacts"): "contact_id",
    ("campaigns", "exposures"): "exposure_id",
    ("campaigns", "responses"): "response_id",
    ("social", "interactions"): "interaction_id",
}


def default_data_dir() -> Path:
    return Path(os.environ.get("KLANTBEELD_DATA_DIR", "./data"))


def _file(src: Path, system: str, table: str, day: int) -> Path:
    folder, fmt = FILE_TABLES[(system, table)]
    return src / folder / f"{table}_{day_date(day).isoformat()}.{fmt}"


def _db_state(t: dict[str, np.ndarray], from_day: int | None, to_day: int) -> dict[str, np.ndarray]:
    """The latest version per key as of the end of to_day; with from_day only keys changed after it."""
    sel = t["_ts"] < (to_day + 1) * DAY
    t = {c: a[sel] for c, a in t.items()}
    order = np.lexsort((t["_ts"], t["_key"]))
    key = t["_key"][order]
    last = order[np.r_[key[1:] != key[:-1], True]] if key.size else order
    if from_day is not None:
        last = last[t["_ts"][last] >= (from_day + 1) * DAY]
    out = {c: a[last] for c, a in t.items()}
    out["updated_at"] = fmt_ts(out["_ts"])
    return out


def _global_db_rows(spec: Spec, g: Globals) -> dict[str, dict[str, np.ndarray]]:
    """Products (created, price change) and the store default loyalty cards."""
    pr = g.products
    n = len(pr)
    created = pr["created_day"].to_numpy() * DAY + 8 * 3600
    changed = pr["change_day"].to_numpy() * DAY + 8 * 3600
    w = np.flatnonzero(pr["change_day"].to_numpy() < 10**7)
    both = np.r_[np.arange(n), w]
    products = {
        "_key": pr["product_id"].to_numpy().astype(S)[both],
        "product_id": pr["product_id"].to_numpy().astype(S)[both],
        "sku": pr["sku"].to_numpy().astype(S)[both],
        "product_name": pr["product_name"].to_numpy().astype(S)[both],
        "product_line": pr["product_line"].to_numpy().astype(S)[both],
        "category": pr["category"].to_numpy().astype(S)[both],
        "unit_price": np.r_[pr["price0"].to_numpy(), pr["price1"].to_numpy()[w]],
        "unit_cost": pr["cost"].to_numpy()[both],
        "is_active": np.r_[np.ones(n, np.int64), pr["active1"].to_numpy()[w]],
        "created_at": fmt_ts(created[both]),
        "_ts": np.r_[created, changed[w]],
    }
    st = g.stores
    k = len(st)
    issued = np.maximum(st["opened_day"].to_numpy(), spec.start_day - 400) * DAY + 7 * 3600
    cards = {
        "_key": cat("26000000", zfill_int(np.arange(k), 5)),
        "card_number": cat("26000000", zfill_int(np.arange(k), 5)),
        "member_id": sarr("", k),
        "status": sarr("store_default", k),
        "issued_at": fmt_ts(issued),
        "_ts": issued,
    }
    return {"webshop.products": products, "loyalty.cards": cards}


def _snapshot_days(spec: Spec, g: Globals, lo: int, hi: int) -> tuple[list[int], list[int]]:
    stores = [
        d for d in range(lo, hi + 1) if d == spec.start_day or d in set(g.stores["opened_day"].tolist())
    ]
    camp = [
        d for d in range(lo, hi + 1) if d == spec.start_day or d in set(g.campaigns["defined_day"].tolist())
    ]
    return stores, camp


def _write_globals(src: Path, spec: Spec, g: Globals, lo: int, hi: int) -> None:
    stores_days, camp_days = _snapshot_days(spec, g, lo, hi)
    st = g.stores.assign(opened_on=fmt_date(g.stores["opened_day"].to_numpy()).astype(object))
    for d in stores_days:
        write_snapshot(
            src / "pos/stores" / f"stores_{day_date(d)}.csv", st[st["opened_day"] <= d], "pos", "stores"
        )
    cp = g.campaigns.assign(
        start_date=fmt_date(g.campaigns["start_day"].to_numpy()).astype(object),
        end_date=fmt_date(g.campaigns["end_day"].to_numpy()).astype(object),
        product_line=g.campaigns["product_line"].replace("", None),
    )
    for d in camp_days:
        write_snapshot(
            src / "campaigns/campaigns" / f"campaigns_{day_date(d)}.csv",
            cp[cp["defined_day"] <= d],
            "campaigns",
            "campaigns",
        )
    first_year = day_date(lo).year if lo > spec.start_day else day_date(spec.start_day).year
    for year in range(first_year, day_date(hi).year + 1):
        demo = src / "thirdparty/demographics" / f"demographics_{year}.csv"
        if not demo.exists():
            write_snapshot(demo, demographics_for_year(g.pc4, year, spec.seed), "thirdparty", "demographics")
        for y in (year, year + 1):  # the calendar of the next year is known in advance
            calf = src / "thirdparty/calendar" / f"calendar_{y}.csv"
            if not calf.exists():
                write_snapshot(calf, make_calendar(y), "thirdparty", "calendar")


def _publish(
    data_dir: Path, spec: Spec, from_day: int | None, to_day: int, verbose: bool = False
) -> dict[str, int]:
    """Write everything that arrived in (from_day, to_day] (from the start when from_day is None)."""
    src = data_dir / "sources"
    truth = src / "_truth"
    truth.mkdir(parents=True, exist_ok=True)
    lo = spec.start_day if from_day is None else from_day + 1
    g = make_globals(spec)
    counts: dict[str, int] = defaultdict(int)
    for folder, _ in FILE_TABLES.values():
        (src / folder).mkdir(parents=True, exist_ok=True)
    _write_globals(src, spec, g, lo, to_day)

    create = from_day is None
    db_batches: dict[str, dict[str, list[pd.DataFrame]]] = defaultdict(lambda: defaultdict(list))
    for name, t in _global_db_rows(spec, g).items():
        system, table = name.split(".")
        db_batches[system][table].append(to_frame(_db_state(t, from_day, to_day), system, table, True))

    sinks = {name: _ParquetSink(truth / f"{name}.parquet") for name in ("identity", "persons", "outcomes")}
    bads = []
    for c in range(spec.n_chunks):
        t0 = time.time()
        ch = simulate_chunk(spec, g, c)
        for name, t in ch.tables.items():
            system, table = name.split(".")
            if (system, table) in FILE_TABLES:
                counts[name] += _write_days(src, system, table, t, lo, to_day, new=c == 0)
            else:
                db_batches[system][table].append(
                    to_frame(_db_state(t, from_day, to_day), system, table, True)
                )
        for system, tables in db_batches.items():
            frames = {tb: pd.concat(fs, ignore_index=True) for tb, fs in tables.items()}
            for tb, n in write_database(
                f"sqlite:///{src / f'{system}.sqlite'}", system, frames, create=create
            ).items():
                counts[f"{system}.{tb}"] += n
        create = False
        db_batches.clear()
        sinks["identity"].write(_identity_rows(ch, to_day))
        sinks["persons"].write(pa.Table.from_pandas(_persons_frame(ch, g), preserve_index=False))
        sinks["outcomes"].write(
            pa.Table.from_pandas(outcomes(ch.persons, ch.tx, ch.lines, g.clock, to_day), preserve_index=False)
        )
        bads.append(ch.bad_rows[ch.bad_rows["_day"] <= to_day].drop(columns="_day"))
        del ch
        if verbose:
            print(f"  chunk {c + 1}/{spec.n_chunks} in {time.time() - t0:.1f}s", flush=True)
    for sink in sinks.values():
        sink.close()
    pd.concat(bads, ignore_index=True).to_parquet(truth / "bad_rows.parquet", index=False)
    uplift_table().to_parquet(truth / "campaign_uplift.parquet", index=False)
    return dict(counts)


def _write_days(
    src: Path, system: str, table: str, t: dict[str, np.ndarray], lo: int, hi: int, new: bool
) -> int:
    """Write the rows that arrived on each day in [lo, hi]; new=True creates every day's file (header)."""
    arrival = t["_arrival"]
    sel = np.flatnonzero((arrival >= lo) & (arrival <= hi))
    sel = sel[np.lexsort((t["_ts"][sel], arrival[sel]))]
    rows = {c: a[sel] for c, a in t.items()}
    fmt = FILE_TABLES[(system, table)][1]
    tbl = arrow_table(rows, system, table)
    data = tbl if fmt == "csv" else jsonl_lines(tbl)
    bounds = np.searchsorted(arrival[sel], np.arange(lo, hi + 2))
    for i, d in enumerate(range(lo, hi + 1)):  # a loop over days, each writing a slice
        a, b = int(bounds[i]), int(bounds[i + 1])
        part = (data.slice(a, b - a) if fmt == "csv" else data[a:b]) if b > a else None
        write_day(_file(src, system, table, d), system, table, fmt, part, new)
    return int(sel.size)


class _ParquetSink:
    """Append chunk after chunk to one Parquet file (the truth of a big world never sits in memory)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writer: pq.ParquetWriter | None = None

    def write(self, tbl: pa.Table) -> None:
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, tbl.schema)
        self.writer.write_table(tbl.cast(self.writer.schema))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _identity_rows(ch: Chunk, to_day: int) -> pa.Table:
    pid = ch.persons["person_id"]
    out = []
    for system, table in customer_bearing():
        t = ch.tables[f"{system}.{table}"]
        col = ID_COLUMN[(system, table)]
        sel = t["_arrival"] <= to_day if "_arrival" in t else t["_ts"] < (to_day + 1) * DAY
        if "_bearing" in t:
            sel &= t["_bearing"]
        ids_, first = np.unique(t[col][sel], return_index=True)
        person = t["_person"][sel][first]
        k = ids_.size
        out.append(
            pa.table(
                {
                    "source_system": arrow_strings(np.full(k, system, dtype=S)),
                    "source_table": arrow_strings(np.full(k, table, dtype=S)),
                    "source_record_id": arrow_strings(ids_.astype(S)),
                    "person_id": arrow_strings(pid[person]),
                }
            )
        )
    return pa.concat_tables(out)


def _persons_frame(ch: Chunk, g: Globals) -> pd.DataFrame:
    p = ch.persons
    never = ch.death >= g.clock.end_day
    df = pd.DataFrame(
        {
            "person_id": p["person_id"].astype(object),
            "household_id": p["household_id"].astype(object),
            "first_name": p["first_name"].astype(object),
            "infix": p["infix"].astype(object),
            "last_name": p["last_name"].astype(object),
            "gender": p["gender"].astype(object),
            "birth_date": p["birth_day"].astype("datetime64[D]"),
            "postcode": cat(p["postcode4"].astype(S), p["pc_letters"]).astype(object),
            "house_number": cat(p["house_number"].astype(S), p["house_suffix"]).astype(object),
            "move_date": np.where(p["move_day"] < 10**7, p["move_day"], np.iinfo(np.int64).min).astype(
                "datetime64[D]"
            ),
            "new_postcode": cat(p["new_postcode4"].astype(S), p["new_pc_letters"]).astype(object),
            "acquisition_date": p["acquisition_day"].astype("datetime64[D]"),
            "churn_date": np.where(never, np.iinfo(np.int64).min, ch.death).astype("datetime64[D]"),
            "purchase_rate_per_year": p["lam"],
            "dropout_probability": p["p_drop"],
            "spend_level": p["spend"],
            "online_preference": p["online_pref"],
            "email_affinity": p["email_aff"],
            "web_sessions_per_year": p["web_rate"],
            "research_intensity": p["research"],
            "offer_responsiveness": p["offer_resp"],
            "service_contacts_per_year": p["service_rate"],
            "value_tier": p["value_tier"].astype(object),
            "age_band": p["age_band"].astype(object),
            "home_store_id": g.stores["store_id"].to_numpy()[p["home_store"]],
        }
    )
    for i, line in enumerate(PRODUCT_LINES):
        df[f"pref_{line}"] = p["pl_pref"][:, i]
    return df


# ------------------------------------------------------------------ public API
def _read_manifest(src: Path) -> dict[str, Any] | None:
    m = src / "_truth" / "manifest.json"
    return json.loads(m.read_text()) if m.exists() else None


def _spec(m: dict[str, Any]) -> Spec:
    return Spec(
        seed=int(m["seed"]),
        n_people=int(m["n_people"]),
        start_day=day_number(date.fromisoformat(m["start_date"])),
        horizon_days=int(m["history_days"]) + int(m["future_days"]),
    )


def generate(
    data_dir: Path,
    n_people: int = 5000,
    seed: int = 42,
    end_date: date | None = None,
    history_days: int = 730,
    future_days: int = 730,
    force: bool = False,
    verbose: bool = False,
) -> dict[str, Any]:
    """Recreate <data_dir>/sources with the world published through end_date (default yesterday).

    The world is fixed by (seed, n_people, start_date = end_date - history_days, history + future days):
    generate(D, H, F) followed by advance(1) equals generate(D + 1, H + 1, F - 1)."""
    data_dir = Path(data_dir)
    end = end_date or (date.today() - timedelta(days=1))
    start = end - timedelta(days=history_days)
    src = data_dir / "sources"
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "n_people": n_people,
        "start_date": start.isoformat(),
        "history_days": history_days,
        "future_days": future_days,
        "horizon_end": (start + timedelta(days=history_days + future_days)).isoformat(),
        "published_through": end.isoformat(),
    }
    old = _read_manifest(src)
    if src.exists() and any(src.iterdir()) and not force:
        same = old is not None and all(old.get(k) == manifest[k] for k in ("seed", "n_people", "start_date"))
        if not same:
            raise FileExistsError(f"{src} holds a different world; pass force=True (--force) to overwrite it")
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    t0 = time.time()
    counts = _publish(data_dir, _spec(manifest), None, day_number(end), verbose)
    manifest["rows_written"] = counts
    manifest["seconds"] = round(time.time() - t0, 2)
    _write_manifest(src, manifest)
    return manifest


def advance(data_dir: Path, days: int = 1, verbose: bool = False) -> dict[str, Any]:
    """Publish the next `days` days of the same world: new daily files and upserts into the databases."""
    src = Path(data_dir) / "sources"
    m = _read_manifest(src)
    if m is None:
        raise FileNotFoundError(f"no world at {src}: run generate first")
    spec = _spec(m)
    frm = day_number(date.fromisoformat(m["published_through"]))
    to = frm + days
    if to >= spec.end_day:
        raise ValueError(f"the simulated horizon ends on {m['horizon_end']}; generate with more future_days")
    t0 = time.time()
    counts = _publish(Path(data_dir), spec, frm, to, verbose)
    m["published_through"] = day_date(to).isoformat()
    m["rows_written"] = counts
    m["seconds"] = round(time.time() - t0, 2)
    _write_manifest(src, m)
    return m


def _write_manifest(src: Path, m: dict[str, Any]) -> None:
    (src / "_truth" / "manifest.json").write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")


__all__ = ["advance", "columns", "default_data_dir", "generate"]
