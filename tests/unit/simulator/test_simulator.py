"""The simulated source systems: determinism, the landing contract, identity truth, realism, outcomes."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import simulator
from simulator.api import FILE_TABLES, ID_COLUMN
from simulator.contract import columns, contract, customer_bearing
from simulator.geo import day_number
from simulator.outcomes import outcomes
from simulator.world import Spec, make_globals, simulate_chunk

END = date(2026, 6, 30)
PEOPLE = 500
KW = {"n_people": PEOPLE, "seed": 11, "history_days": 90, "future_days": 400}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("world")
    simulator.generate(d, end_date=END, **KW)
    return d / "sources"


def _files(src: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(src)): p.read_bytes()
        for p in sorted(src.rglob("*"))
        if p.is_file() and p.suffix in (".csv", ".jsonl", ".parquet")
    }


def _db_rows(src: Path) -> dict[str, list[tuple]]:
    out = {}
    for system in ("crm", "webshop", "loyalty"):
        with sqlite3.connect(src / f"{system}.sqlite") as con:
            for table in contract()[system]["tables"]:
                out[f"{system}.{table}"] = sorted(
                    con.execute(f'select * from "{table}"').fetchall(), key=repr
                )
    return out


def _read(src: Path, system: str, table: str) -> pd.DataFrame:
    folder, fmt = FILE_TABLES[(system, table)]
    reader = "read_csv" if fmt == "csv" else "read_json"
    opts = (
        ", all_varchar=true"
        if fmt == "csv"
        else ", format='newline_delimited', columns={}".format(
            "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in columns(system, table)) + "}"
        )
    )
    files = sorted((src / folder).glob(f"*.{fmt}"))
    files = [str(f) for f in files if f.stat().st_size > len(",".join(columns(system, table))) + 2]
    return duckdb.sql(f"select * from {reader}({files!r}{opts}, filename=true)").df()


def test_same_seed_gives_identical_files_and_rows(world: Path, tmp_path: Path) -> None:
    simulator.generate(tmp_path, end_date=END, **KW)
    again = tmp_path / "sources"
    assert _files(again) == _files(world)
    assert _db_rows(again) == _db_rows(world)


def test_generate_then_advance_equals_generating_a_day_later(world: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    simulator.generate(a, end_date=END, **KW)
    m = simulator.advance(a, days=1)
    assert m["published_through"] == (END + timedelta(days=1)).isoformat()
    kw = dict(KW, history_days=KW["history_days"] + 1, future_days=KW["future_days"] - 1)
    simulator.generate(b, end_date=END + timedelta(days=1), **kw)
    fa, fb = _files(a / "sources"), _files(b / "sources")
    assert sorted(fa) == sorted(fb)
    assert {k for k in fa if fa[k] != fb[k]} == set()
    assert _db_rows(a / "sources") == _db_rows(b / "sources")
    # the advance really moved rows: an order changed status after the first published day
    with sqlite3.connect(a / "sources" / "webshop.sqlite") as con:
        late = con.execute(
            "select count(*) from orders where updated_at >= ?", (f"{END + timedelta(days=1)} 00:00:00",)
        )
        assert late.fetchone()[0] > 0


def test_refuses_to_overwrite_a_different_world(world: Path) -> None:
    with pytest.raises(FileExistsError):
        simulator.generate(world.parent, end_date=END, **dict(KW, seed=12))


def test_every_contract_column_is_written(world: Path) -> None:
    for system, sysdef in contract().items():
        for table in sysdef["tables"]:
            expected = columns(system, table)
            if sysdef["kind"] == "database":
                with sqlite3.connect(world / f"{system}.sqlite") as con:
                    got = [r[1] for r in con.execute(f'pragma table_info("{table}")')]
                    assert got == expected, (system, table)
                    assert con.execute(f'select count(*) from "{table}"').fetchone()[0] > 0, (system, table)
                    for c, spec in sysdef["tables"][table]["columns"].items():
                        if spec.get("required"):
                            filled = con.execute(f'select count("{c}") from "{table}"').fetchone()[0]
                            assert filled > 0, (system, table, c)
                continue
            if (system, table) in FILE_TABLES:
                folder, fmt = FILE_TABLES[(system, table)]
            else:
                folder, fmt = (
                    {"stores": "pos/stores", "campaigns": "campaigns/campaigns"}.get(
                        table, f"thirdparty/{table}"
                    ),
                    "csv",
                )
            files = sorted((world / folder).glob(f"{table}_*.{fmt}"))
            assert files, (system, table)
            if fmt == "csv":
                header = files[-1].read_text().splitlines()[0]
                assert [c.strip('"') for c in header.split(",")] == expected, (system, table)
            else:
                line = next(f for f in files if f.stat().st_size).read_text().splitlines()[0]
                assert list(json.loads(line)) == expected, (system, table)


def test_one_file_per_day_including_empty_days(world: Path) -> None:
    days = (END - (END - timedelta(days=KW["history_days"]))).days + 1
    for folder, fmt in FILE_TABLES.values():
        assert len(list((world / folder).glob(f"*.{fmt}"))) == days, folder
    social = sorted((world / "social/interactions").glob("*.jsonl"))
    assert any(f.stat().st_size == 0 for f in social)  # empty days exist and still have a file


def test_identity_covers_every_customer_bearing_record(world: Path) -> None:
    ident = pd.read_parquet(world / "_truth" / "identity.parquet")
    assert ident["person_id"].notna().all()
    for system, table in customer_bearing():
        col = ID_COLUMN[(system, table)]
        if contract()[system]["kind"] == "database":
            with sqlite3.connect(world / f"{system}.sqlite") as con:
                where = " where member_id is not null" if table == "cards" else ""
                ids = {r[0] for r in con.execute(f'select "{col}" from "{table}"{where}')}
        else:
            df = _read(world, system, table)
            if table == "receipts":
                df = df[df["loyalty_card_number"].notna()]
            ids = set(df[col].dropna())
        truth = set(
            ident.loc[(ident.source_system == system) & (ident.source_table == table), "source_record_id"]
        )
        assert ids, (system, table)
        assert ids == truth, (system, table, len(ids - truth), len(truth - ids))


def test_junk_identifiers_are_shared_by_many_persons(world: Path) -> None:
    ident = pd.read_parquet(world / "_truth" / "identity.parquet")
    crm = ident[ident.source_table == "customers"].set_index("source_record_id")["person_id"]
    with sqlite3.connect(world / "crm.sqlite") as con:
        c = pd.read_sql("select customer_id, email, phone from customers", con)
    c["person"] = c["customer_id"].map(crm)
    junk = c[c["email"].isin(["test@test.nl", "noreply@example.com", "geen@email.nl"])]
    assert junk["person"].nunique() >= 5
    assert junk.groupby("email")["person"].nunique().max() >= 3
    receipts = _read(world, "pos", "receipts")
    rec = ident[ident.source_table == "receipts"].set_index("source_record_id")["person_id"]
    default = receipts[receipts["loyalty_card_number"].str.startswith("26000000", na=False)]
    per_card = (
        default.assign(person=default["receipt_id"].map(rec))
        .groupby("loyalty_card_number")["person"]
        .nunique()
    )
    assert per_card.max() >= 3


def test_households_share_addresses_and_duplicates_vary(world: Path) -> None:
    persons = pd.read_parquet(world / "_truth" / "persons.parquet")
    hh = persons.groupby("household_id").agg(n=("person_id", "size"), addr=("postcode", "nunique"))
    assert (hh["n"] > 1).sum() > 50
    assert (hh.loc[hh["n"] > 1, "addr"] == 1).all()
    ident = pd.read_parquet(world / "_truth" / "identity.parquet")
    crm = ident[ident.source_table == "customers"]
    per_person = crm.groupby("person_id").size()
    assert 0.01 < (per_person > 1).mean() < 0.2  # ~8 % in a long history; duplicates are created later


def test_late_arriving_rows_exist(world: Path) -> None:
    r = _read(world, "pos", "receipts")
    r = r[r["receipt_ts"].str.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")]
    file_day = r["filename"].str.extract(r"receipts_(\d{4}-\d\d-\d\d)\.csv")[0]
    late = r["receipt_ts"].str[:10] < file_day
    assert 0.003 < late.mean() < 0.05
    assert (r["receipt_ts"].str[:10] <= file_day).all()
    ev = _read(world, "web", "events")
    assert ev["event_ts"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").all()


def test_bad_rows_are_planted_and_recorded(world: Path) -> None:
    bad = pd.read_parquet(world / "_truth" / "bad_rows.parquet")
    assert {"system", "table", "record_id", "defect"} <= set(bad.columns)
    assert {"negative_amount", "duplicate_primary_key", "malformed_email"} <= set(bad["defect"])
    ev = _read(world, "web", "events")
    dups = set(ev.loc[ev["event_id"].duplicated(), "event_id"])
    recorded = set(bad.loc[(bad.table == "events") & (bad.defect == "duplicate_primary_key"), "record_id"])
    assert dups and dups <= recorded


def test_control_groups_receive_no_treatment(world: Path) -> None:
    exp = _read(world, "campaigns", "exposures")
    resp = _read(world, "campaigns", "responses")
    control = exp[exp["is_control"] == "true"]
    treated = exp[exp["is_control"] == "false"]
    assert len(control) > 0 and len(treated) > len(control)
    assert control["coupon_code"].isna().all()
    key = ["campaign_id", "recipient_id"]
    ctrl_keys = set(map(tuple, control[key].dropna().to_numpy()))
    treat_only = resp[resp["response_type"].isin(["click", "coupon_redeemed"])]
    assert not ctrl_keys & set(map(tuple, treat_only[key].to_numpy()))
    assert (resp["response_type"] == "purchase").any()
    sends = _read(world, "email", "sends")
    camp_sends = set(map(tuple, sends[sends["campaign_id"].notna()][["campaign_id", "email"]].to_numpy()))
    assert camp_sends and not ctrl_keys & camp_sends
    uplift = pd.read_parquet(world / "_truth" / "campaign_uplift.parquet")
    assert uplift["uplift_purchase_prob"].between(0, 1).all() and uplift["value_tier"].nunique() == 3


def test_outcomes_are_in_range(world: Path) -> None:
    o = pd.read_parquet(world / "_truth" / "outcomes.parquet")
    assert o["p_purchase_30d"].between(0, 1).all()
    assert (o["purchases_365d"] >= 0).all() and (o["spend_365d"] >= 0).all()
    assert o["as_of"].astype(str).eq(END.isoformat()).all()
    had = o["purchases_past_365d"] > 0
    assert o.loc[had, "churned_180d"].notna().all() and o.loc[~had, "churned_180d"].isna().all()
    assert o["person_id"].is_unique


def test_volumes_scale_linearly_and_p_purchase_is_informative() -> None:
    start = day_number(date(2024, 6, 30))
    counts = {}
    for n in (1000, 3000):
        spec = Spec(seed=3, n_people=n, start_day=start, horizon_days=1100)
        g = make_globals(spec)
        ch = simulate_chunk(spec, g, 0)
        counts[n] = {k: len(t["_ts"]) for k, t in ch.tables.items()}
    for table in ("webshop.orders", "pos.receipts", "web.events", "email.sends", "crm.customers"):
        assert 2.3 < counts[3000][table] / counts[1000][table] < 3.8, table
    o = outcomes(ch.persons, ch.tx, ch.lines, g.clock, start + 730)
    y = o["purchased_30d"].to_numpy()
    r = o["p_purchase_30d"].rank().to_numpy()
    auc = (r[y].sum() - y.sum() * (y.sum() + 1) / 2) / (y.sum() * (~y).sum())
    assert auc > 0.7
    assert abs(o["p_purchase_30d"].mean() - y.mean()) < 0.05  # calibrated on average
    # per alive customer: a few purchases a year
    alive = (ch.death > start + 730) & (ch.persons["acquisition_day"] <= start + 365)
    tx = ch.tx[(ch.tx["day"] > start + 365) & (ch.tx["day"] <= start + 730)]
    per = np.bincount(tx["person"], minlength=alive.size)[alive].mean()
    assert 2.5 < per < 8


def test_cli_generate_and_advance(tmp_path: Path) -> None:
    from simulator.cli import main

    args = [
        "--data-dir",
        str(tmp_path),
        "--people",
        "200",
        "--end-date",
        "2026-01-10",
        "--history-days",
        "20",
    ]
    assert main(["generate", *args, "--future-days", "200"]) == 0
    assert main(["advance", "--days", "2", "--data-dir", str(tmp_path)]) == 0
    m = json.loads((tmp_path / "sources/_truth/manifest.json").read_text())
    assert m["published_through"] == "2026-01-12" and m["seed"] == 42
    assert (tmp_path / "sources/pos/receipts/receipts_2026-01-12.csv").exists()
    assert re.match(r"\d+\.\d+", m["generator_version"])
