"""Staging layer end to end: a temporary warehouse with the contract's raw schema, `dbt build`, then checks.

One module-scoped warehouse holds a handful of messy rows like the sources send them; `dbt build` runs
once on an empty raw schema and once on those rows (models, data tests and YAML unit tests).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.contract import RAW_SCHEMA, load_contract, raw_table_ddl
from orchestration.paths import DBT_PROJECT_DIR

DBT = Path(sys.executable).with_name("dbt")
B1 = dt.datetime(2026, 3, 1, 6, 0)  # first load
B2 = dt.datetime(2026, 3, 2, 6, 0)  # a later load

# (system, table) -> rows; every row is the contract columns it sets plus its load metadata.
MESSY_ROWS: dict[tuple[str, str], list[dict]] = {
    ("crm", "customers"): [
        # C1: two versions (latest by updated_at wins) and an exact duplicate of the latest
        {
            "customer_id": "C1",
            "first_name": "  Jan  ",
            "last_name": "Jansen",
            "email": " Jan.Jansen@Example.NL ",
            "phone": "06-12345678",
            "postcode": "1234ab",
            "house_number": "12-a",
            "birth_date": "31-02-2025",
            "consent_email": "j",
            "created_at": "2025-06-01 10:00:00",
            "updated_at": "2026-01-10 09:00:00",
            "_batch_id": "b1",
            "_loaded_at": B1,
        },
        {
            "customer_id": "C1",
            "first_name": "Johannes   Jan",
            "infix": " van  der ",
            "last_name": "Jansen",
            "email": " Jan.Jansen@Example.NL ",
            "phone": "06-12345678",
            "postcode": "1234ab",
            "house_number": "12-a",
            "birth_date": "31-02-2025",
            "consent_email": "j",
            "created_at": "2025-06-01 10:00:00",
            "updated_at": "2026-02-20 09:00:00",
            "_batch_id": "b2",
            "_loaded_at": B2,
        },
        {
            "customer_id": "C1",
            "first_name": "Johannes   Jan",
            "infix": " van  der ",
            "last_name": "Jansen",
            "email": " Jan.Jansen@Example.NL ",
            "phone": "06-12345678",
            "postcode": "1234ab",
            "house_number": "12-a",
            "birth_date": "31-02-2025",
            "consent_email": "j",
            "created_at": "2025-06-01 10:00:00",
            "updated_at": "2026-02-20 09:00:00",
            "_batch_id": "b2",
            "_loaded_at": B2,
        },
        {
            "customer_id": "C2",
            "first_name": "Els",
            "last_name": "de Vries",
            "email": "not an email",
            "phone": "+31 6 1234 5678",
            "postcode": "1234 AB",
            "house_number": "12 A",
            "birth_date": "15-03-1980",
            "gender": " F ",
            "consent_email": "no",
            "created_at": "2025-06-01 10:00:00",
            "updated_at": "2026-01-01 00:00:00",
            "_batch_id": "b1",
            "_loaded_at": B1,
        },
        {
            "customer_id": "C3",
            "first_name": "Piet",
            "last_name": "Bakker",
            "phone": "0031612345678",
            "postcode": "XYZ",
            "house_number": "7",
            "birth_date": "1990-05-17",
            "gender": "unknown",
            "consent_email": "1",
            "created_at": "2025-06-01 10:00:00",
            "updated_at": "2026-01-01 00:00:00",
            "_batch_id": "b1",
            "_loaded_at": B1,
        },
        {
            "customer_id": "C4",
            "first_name": "Kees",
            "last_name": "Smit",
            "phone": "020-1234567",
            "birth_date": "not a date",
            "consent_email": "maybe",
            "created_at": "2025-06-01 10:00:00",
            "updated_at": "2026-01-01 00:00:00",
            "_batch_id": "b1",
            "_loaded_at": B1,
        },
        # C5: a later load brings an OLDER version (re-sent row): the cursor decides, not the load time
        {
            "customer_id": "C5",
            "first_name": "Nieuw",
            "last_name": "X",
            "phone": "12345",
            "created_at": "2025-06-01 10:00:00",
            "updated_at": "2026-02-01 00:00:00",
            "_batch_id": "b1",
            "_loaded_at": B1,
        },
        {
            "customer_id": "C5",
            "first_name": "Oud",
            "last_name": "X",
            "phone": "12345",
            "created_at": "2025-06-01 10:00:00",
            "updated_at": "2026-01-01 00:00:00",
            "_batch_id": "b2",
            "_loaded_at": B2,
        },
        # no key: cannot be staged
        {
            "customer_id": " ",
            "first_name": "Niemand",
            "last_name": "X",
            "created_at": "2025-06-01 10:00:00",
            "updated_at": "2026-01-01 00:00:00",
            "_batch_id": "b1",
            "_loaded_at": B1,
        },
    ],
    ("pos", "receipts"): [
        {
            "receipt_id": "R1",
            "store_id": "S1",
            "receipt_ts": "2026-07-15 14:00:00",
            "total_amount": "12,50",
            "_batch_id": "b1",
            "_loaded_at": B1,
            "_source_row": 1,
        },
        {
            "receipt_id": "R1",
            "store_id": "S1",
            "receipt_ts": "2026-07-15 14:00:00",
            "total_amount": "12,50",
            "_batch_id": "b2",
            "_loaded_at": B2,
            "_source_row": 1,
        },
        {
            "receipt_id": "R2",
            "store_id": "S1",
            "receipt_ts": "2026-01-15 14:00:00",
            "total_amount": "1.234,50",
            "discount_amount": "0.5",
            "_batch_id": "b1",
            "_loaded_at": B1,
            "_source_row": 2,
        },
        {
            "receipt_id": "R3",
            "store_id": "S1",
            "receipt_ts": "2026-01-15T14:00:00+01:00",
            "total_amount": "abc",
            "_batch_id": "b1",
            "_loaded_at": B1,
            "_source_row": 3,
        },
    ],
    ("pos", "receipt_lines"): [
        {
            "receipt_id": "R1",
            "line_number": "1",
            "product_id": "P1",
            "quantity": "2",
            "unit_price": "6.25",
            "line_amount": "12.50",
            "_batch_id": "b1",
            "_loaded_at": B1,
            "_source_row": 1,
        },
        {
            "receipt_id": "R1",
            "line_number": "1",
            "product_id": "P1",
            "quantity": "2",
            "unit_price": "6.25",
            "line_amount": "12.50",
            "_batch_id": "b2",
            "_loaded_at": B2,
            "_source_row": 1,
        },
        {
            "receipt_id": "R1",
            "line_number": "2",
            "product_id": "P2",
            "quantity": "1",
            "unit_price": "3",
            "line_amount": "3",
            "_batch_id": "b2",
            "_loaded_at": B2,
            "_source_row": 2,
        },
    ],
    ("pos", "stores"): [  # snapshot files: the later file wins
        {
            "store_id": "S1",
            "store_name": "Amsterdam  Centrum",
            "postcode": "1012 ab",
            "opened_on": "01-04-2010",
            "_batch_id": "b1",
            "_loaded_at": B1,
            "_source_row": 1,
        },
        {
            "store_id": "S1",
            "store_name": "Amsterdam Centraal",
            "postcode": "1012 ab",
            "opened_on": "01-04-2010",
            "_batch_id": "b2",
            "_loaded_at": B2,
            "_source_row": 1,
        },
    ],
    ("web", "events"): [
        {
            "event_id": "E1",
            "event_ts": "2026-11-21T13:03:12.123Z",
            "cookie_id": "ck1",
            "session_id": "s1",
            "event_type": "page_view",
            "_batch_id": "b1",
            "_loaded_at": B1,
            "_source_row": 1,
        },
    ],
    ("webshop", "orders"): [
        {
            "order_id": "O1",
            "guest_email": "GAST@Example.com ",
            "ordered_at": "2026-03-29 01:30:00",
            "status": " Paid",
            "shipping_postcode": "9999zz",
            "shipping_house_number": "3-2",
            "total_amount": "19.99",
            "updated_at": "2026-03-29 01:30:00",
            "_batch_id": "b1",
            "_loaded_at": B1,
        },
    ],
    ("thirdparty", "calendar"): [
        {
            "calendar_date": "25-12-2026",
            "event_name": "Eerste Kerstdag",
            "event_type": "public_holiday",
            "_batch_id": "b1",
            "_loaded_at": B1,
            "_source_row": 1,
        },
        {
            "calendar_date": "2026-12-25",
            "event_name": "Eerste Kerstdag",
            "event_type": "public_holiday",
            "_batch_id": "b2",
            "_loaded_at": B2,
            "_source_row": 1,
        },
    ],
}


def create_raw_schema(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        for contract in load_contract().values():
            con.execute(raw_table_ddl(contract))


def insert_rows(path: Path, rows_by_table: dict[tuple[str, str], list[dict]]) -> None:
    with duckdb.connect(str(path)) as con:
        for (system, table), rows in rows_by_table.items():
            for row in rows:
                row = {"_source": f"fixture/{system}/{table}", **row}
                names = ", ".join(f'"{name}"' for name in row)
                marks = ", ".join("?" for _ in row)
                con.execute(
                    f'insert into {RAW_SCHEMA}."{system}__{table}" ({names}) values ({marks})',
                    list(row.values()),
                )


def dbt_build(data_dir: Path, work_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "KLANTBEELD_DATA_DIR": str(data_dir), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run(
        [
            str(DBT),
            "build",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(work_dir / "target"),
            "--log-path",
            str(work_dir / "logs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """Build on an empty raw schema (must pass), then load the messy rows and build again."""
    data_dir = tmp_path_factory.mktemp("data")
    work_dir = tmp_path_factory.mktemp("dbt")
    create_raw_schema(data_dir / "warehouse.duckdb")
    empty = dbt_build(data_dir, work_dir)
    assert empty.returncode == 0, empty.stdout[-4000:]
    insert_rows(data_dir / "warehouse.duckdb", MESSY_ROWS)
    messy = dbt_build(data_dir, work_dir)
    assert messy.returncode == 0, messy.stdout[-4000:]
    assert "ERROR=0" in messy.stdout
    return data_dir / "warehouse.duckdb"


def query(path: Path, sql: str) -> list[dict]:
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(sql)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def by_key(path: Path, model: str, key: str) -> dict[str, dict]:
    return {row[key]: row for row in query(path, f"select * from staging.{model}")}


def test_customers_are_normalized(warehouse):
    customers = by_key(warehouse, "stg_crm__customers", "customer_id")
    c1, c2, c3, c4 = (customers[key] for key in ("C1", "C2", "C3", "C4"))
    assert [c1["phone"], c2["phone"], c3["phone"], c4["phone"]] == [
        "+31612345678",
        "+31612345678",
        "+31612345678",
        "+31201234567",
    ]
    assert customers["C5"]["phone"] is None
    assert (c1["postcode"], c1["postcode4"], c2["postcode"]) == ("1234 AB", "1234", "1234 AB")
    assert (c3["postcode"], c3["postcode4"]) == (None, None)
    assert (c1["house_number"], c1["house_number_suffix"]) == (12, "A")
    assert (c2["house_number"], c2["house_number_suffix"], c3["house_number_suffix"]) == (12, "A", None)
    assert (c1["email"], c1["email_raw"], c1["is_valid_email"]) == (
        "jan.jansen@example.nl",
        " Jan.Jansen@Example.NL ",
        True,
    )
    assert (c2["email"], c2["is_valid_email"]) == ("notanemail", False)
    assert (c1["first_name"], c1["infix"]) == ("Johannes Jan", "van der")
    assert [c1["gender"], c2["gender"], c3["gender"]] == [None, "f", "unknown"]


def test_customers_types_and_bad_values(warehouse):
    customers = by_key(warehouse, "stg_crm__customers", "customer_id")
    assert (customers["C1"]["birth_date"], customers["C1"]["birth_date_raw"]) == (None, "31-02-2025")
    assert customers["C2"]["birth_date"] == dt.date(1980, 3, 15)
    assert customers["C3"]["birth_date"] == dt.date(1990, 5, 17)
    assert (customers["C4"]["birth_date"], customers["C4"]["birth_date_raw"]) == (None, "not a date")
    assert [customers[key]["has_email_consent"] for key in ("C1", "C2", "C3", "C4")] == [
        True,
        False,
        True,
        None,
    ]
    # crm writes UTC: no shift
    assert customers["C1"]["created_at"] == dt.datetime(2025, 6, 1, 10, 0)
    assert customers["C1"]["loaded_at"] == B2 and customers["C1"]["_batch_id"] == "b2"


def test_latest_version_wins(warehouse):
    customers = by_key(warehouse, "stg_crm__customers", "customer_id")
    assert set(customers) == {"C1", "C2", "C3", "C4", "C5"}  # duplicates collapsed, keyless row dropped
    assert customers["C1"]["updated_at"] == dt.datetime(2026, 2, 20, 9, 0)
    assert customers["C5"]["first_name"] == "Nieuw"  # newer cursor beats the later load of an older version
    stores = by_key(warehouse, "stg_pos__stores", "store_id")
    assert stores["S1"]["store_name"] == "Amsterdam Centraal"
    assert stores["S1"]["opened_on"] == dt.date(2010, 4, 1)
    lines = query(warehouse, "select * from staging.stg_pos__receipt_lines order by line_number")
    assert [(row["receipt_id"], row["line_number"]) for row in lines] == [("R1", 1), ("R1", 2)]
    calendar = query(warehouse, "select * from staging.stg_thirdparty__calendar")
    assert [(row["calendar_date"], row["calendar_date_raw"]) for row in calendar] == [
        (dt.date(2026, 12, 25), "2026-12-25")
    ]


def test_timestamps_become_utc(warehouse):
    receipts = by_key(warehouse, "stg_pos__receipts", "receipt_id")
    assert receipts["R1"]["receipt_at"] == dt.datetime(2026, 7, 15, 12, 0)  # CEST, UTC+2
    assert receipts["R2"]["receipt_at"] == dt.datetime(2026, 1, 15, 13, 0)  # CET, UTC+1
    assert receipts["R3"]["receipt_at"] == dt.datetime(2026, 1, 15, 13, 0)  # explicit offset taken as given
    assert receipts["R1"]["receipt_at_raw"] == "2026-07-15 14:00:00"
    events = by_key(warehouse, "stg_web__events", "event_id")
    assert events["E1"]["event_at"] == dt.datetime(2026, 11, 21, 13, 3, 12, 123000)
    orders = by_key(warehouse, "stg_webshop__orders", "order_id")
    assert orders["O1"]["ordered_at"] == dt.datetime(2026, 3, 29, 1, 30)  # webshop writes UTC


def test_amounts_and_codes(warehouse):
    receipts = by_key(warehouse, "stg_pos__receipts", "receipt_id")
    assert receipts["R1"]["total_amount"] == Decimal("12.50")
    assert receipts["R2"]["total_amount"] == Decimal("1234.50")
    assert receipts["R2"]["discount_amount"] == Decimal("0.5")
    assert (receipts["R3"]["total_amount"], receipts["R3"]["total_amount_raw"]) == (None, "abc")
    order = by_key(warehouse, "stg_webshop__orders", "order_id")["O1"]
    assert (order["status"], order["guest_email"], order["is_valid_guest_email"]) == (
        "paid",
        "gast@example.com",
        True,
    )
    assert (order["shipping_postcode"], order["shipping_postcode4"]) == ("9999 ZZ", "9999")
    assert (order["shipping_house_number"], order["shipping_house_number_suffix"]) == (3, "2")


def test_every_contract_table_has_a_staging_view(warehouse):
    views = {
        row["table_name"]
        for row in query(
            warehouse, "select table_name from information_schema.tables where table_schema = 'staging'"
        )
    }
    assert len(views) == len(load_contract())
    assert all(name.startswith("stg_") for name in views)
