"""Incremental extraction of database tables (SQLite here; PostgreSQL in tests/integration)."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import pytest

from orchestration.ingest import extract
from orchestration.ingest.extract import SourceError, extract_table, text_array
from orchestration.ingest.sources_config import TableSource
from tests.unit.ingest.ingest_helpers import (
    LOADED_AT,
    make_sqlite,
    raw_rows,
    sqlite_exec,
    state_is_consistent,
)

ORDERS_DDL = """create table orders (
    order_id text primary key, account_id text, ordered_at text, status text,
    total_amount real, is_gift integer, updated_at text)"""


def order(n: int, updated_at: str, status: str = "placed") -> tuple:
    return (f"O{n}", f"A{n % 3}", "2024-01-01 09:00:00", status, n + 0.5, n % 2, updated_at)


@pytest.fixture
def shop_db(tmp_path: Path) -> Path:
    rows = [order(1, "2024-01-01 10:00:00"), order(2, "2024-01-02 10:00:00"), order(3, "2024-01-03 10:00:00")]
    return make_sqlite(tmp_path / "webshop.sqlite", ORDERS_DDL, rows, "orders")


def orders_source(db: Path, **kwargs) -> TableSource:
    defaults = {"url": f"sqlite:///{db}", "source_table": "orders"}
    return TableSource("webshop", "orders", "database", **(defaults | kwargs))


def load(warehouse, contracts, source, batch_id):
    return extract_table(warehouse, contracts[("webshop", "orders")], source, batch_id, LOADED_AT)


def test_first_load_lands_all_rows_with_metadata_and_sets_the_watermark(warehouse, contracts, shop_db):
    result = load(warehouse, contracts, orders_source(shop_db), "b1")

    assert result.rows_loaded == 3
    assert (result.watermark_before, result.watermark_after) == (None, "2024-01-03 10:00:00")
    assert result.unexpected_columns == ["is_gift"]
    assert result.source_description == f"sqlite:///{shop_db}#orders"
    assert raw_rows(
        warehouse,
        "webshop__orders",
        "order_id, status, total_amount, updated_at, coupon_code, _batch_id, _loaded_at, _source, _source_row",
    )[0] == (
        "O1",
        "placed",
        "1.5",
        "2024-01-01 10:00:00",
        None,
        "b1",
        LOADED_AT,
        f"sqlite:///{shop_db}#orders",
        1,
    )
    assert warehouse.execute("select cursor_column, watermark from raw._watermarks").fetchall() == [
        ("updated_at", "2024-01-03 10:00:00")
    ]
    assert state_is_consistent(warehouse, "webshop", "orders")


def test_second_load_without_changes_lands_nothing(warehouse, contracts, shop_db):
    load(warehouse, contracts, orders_source(shop_db), "b1")
    again = load(warehouse, contracts, orders_source(shop_db), "b2")

    assert again.rows_loaded == 0
    assert again.watermark_before == again.watermark_after == "2024-01-03 10:00:00"
    assert warehouse.execute("select count(*) from raw.webshop__orders").fetchone()[0] == 3
    assert state_is_consistent(warehouse, "webshop", "orders")


def test_an_updated_row_lands_again_as_a_new_version(warehouse, contracts, shop_db):
    load(warehouse, contracts, orders_source(shop_db), "b1")
    sqlite_exec(
        shop_db, "update orders set status = 'paid', updated_at = '2024-01-04 08:00:00' where order_id = 'O1'"
    )
    result = load(warehouse, contracts, orders_source(shop_db), "b2")

    assert result.rows_loaded == 1 and result.watermark_after == "2024-01-04 08:00:00"
    assert raw_rows(warehouse, "webshop__orders", "order_id, status, _batch_id", "_batch_id, order_id") == [
        ("O1", "placed", "b1"),
        ("O2", "placed", "b1"),
        ("O3", "placed", "b1"),
        ("O1", "paid", "b2"),
    ]
    assert state_is_consistent(warehouse, "webshop", "orders")


def test_rows_exactly_at_the_watermark_are_not_duplicated_but_new_ones_there_land(
    warehouse, contracts, shop_db
):
    load(warehouse, contracts, orders_source(shop_db), "b1")
    # Committed after the first load, with the same cursor value as the watermark (same second).
    sqlite_exec(
        shop_db,
        "insert into orders values ('O4', 'A1', '2024-01-03', 'placed', 4.5, 0, '2024-01-03 10:00:00')",
    )
    second = load(warehouse, contracts, orders_source(shop_db), "b2")
    third = load(warehouse, contracts, orders_source(shop_db), "b3")

    assert second.rows_loaded == 1 and third.rows_loaded == 0
    counts = warehouse.execute(
        "select order_id, count(*) from raw.webshop__orders group by 1 order by 1"
    ).fetchall()
    assert counts == [("O1", 1), ("O2", 1), ("O3", 1), ("O4", 1)]
    assert state_is_consistent(warehouse, "webshop", "orders")


def test_many_chunks_and_a_crash_midway_leave_neither_rows_nor_state(
    warehouse, contracts, tmp_path, monkeypatch
):
    rows = [order(n, f"2024-01-01 10:{n // 60 % 60:02d}:{n % 60:02d}") for n in range(2500)]
    db = make_sqlite(tmp_path / "big.sqlite", ORDERS_DDL, rows, "orders")
    monkeypatch.setattr(extract, "DATABASE_CHUNK_ROWS", 1000)
    calls = {"n": 0}
    real_text_array = extract.text_array

    def failing_on_the_third_chunk(values):
        calls["n"] += 1
        if calls["n"] > 2 * 6:  # 6 columns per chunk: fail inside chunk 3
            raise RuntimeError("boom")
        return real_text_array(values)

    monkeypatch.setattr(extract, "text_array", failing_on_the_third_chunk)
    with pytest.raises(RuntimeError, match="boom"):
        load(warehouse, contracts, orders_source(db), "b1")
    assert warehouse.execute("select count(*) from raw.webshop__orders").fetchone()[0] == 0
    assert warehouse.execute("select count(*) from raw._watermarks").fetchone()[0] == 0
    assert warehouse.execute("select count(*) from raw._load_batches").fetchone()[0] == 0

    monkeypatch.setattr(extract, "text_array", real_text_array)
    result = load(warehouse, contracts, orders_source(db), "b2")
    assert result.rows_loaded == 2500
    assert warehouse.execute("select count(distinct order_id) from raw.webshop__orders").fetchone()[0] == 2500
    assert state_is_consistent(warehouse, "webshop", "orders")


def test_column_map_and_optional_absent_columns(warehouse, contracts, tmp_path):
    db = make_sqlite(
        tmp_path / "shop.sqlite",
        "create table bestellingen (nr text, besteld text, status text, totaal text, gewijzigd text)",
        [("O1", "2024-01-01", "paid", "10.00", "2024-01-05 12:00:00")],
        "bestellingen",
    )
    source = orders_source(
        db,
        source_table="bestellingen",
        column_map={
            "order_id": "nr",
            "ordered_at": "besteld",
            "total_amount": "totaal",
            "updated_at": "gewijzigd",
        },
    )
    result = load(warehouse, contracts, source, "b1")

    assert result.rows_loaded == 1 and result.watermark_after == "2024-01-05 12:00:00"
    assert raw_rows(
        warehouse, "webshop__orders", "order_id, ordered_at, total_amount, account_id, updated_at"
    ) == [("O1", "2024-01-01", "10.00", None, "2024-01-05 12:00:00")]


def test_required_absent_column_fails_naming_table_and_column(warehouse, contracts, tmp_path):
    db = make_sqlite(
        tmp_path / "s.sqlite", "create table orders (order_id text, updated_at text)", [], "orders"
    )
    with pytest.raises(
        SourceError, match=r"webshop\.orders: database table sqlite:///.*#orders.*'ordered_at'"
    ):
        load(warehouse, contracts, orders_source(db), "b1")


def test_missing_table_and_missing_database_file(warehouse, contracts, shop_db, tmp_path):
    with pytest.raises(SourceError, match=r"webshop\.orders: .*#bestellingen: the table does not exist"):
        load(warehouse, contracts, orders_source(shop_db, source_table="bestellingen"), "b1")
    missing = tmp_path / "nope.sqlite"
    with pytest.raises(SourceError, match="does not exist"):
        load(warehouse, contracts, orders_source(missing), "b1")
    assert not missing.exists()  # SQLite must not have created an empty database there


def test_unreachable_database_names_url_without_password(warehouse, contracts):
    source = orders_source(
        Path("x"), url="postgresql+psycopg://klant:s3cret@127.0.0.1:1/shop?connect_timeout=2"
    )
    with pytest.raises(SourceError) as caught:
        load(warehouse, contracts, source, "b1")
    message = str(caught.value)
    assert "webshop.orders" in message and "127.0.0.1:1/shop" in message and "#orders" in message
    assert "s3cret" not in message


def test_text_array_formats_database_values():
    tz = dt.timezone(dt.timedelta(hours=1))
    cases = [
        (["a", None], ["a", None]),
        ([True, False, None], ["true", "false", None]),
        ([1, None, -7], ["1", None, "-7"]),
        ([1.0, 2.25], ["1.0", "2.25"]),
        ([decimal.Decimal("12.50"), None], ["12.50", None]),
        (
            [dt.datetime(2024, 1, 2, 3, 4, 5), dt.datetime(2024, 1, 2, 3, 4, 5, 120000)],
            ["2024-01-02 03:04:05", "2024-01-02 03:04:05.120000"],
        ),
        ([dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=tz)], ["2024-01-02 03:04:05+01:00"]),
        ([dt.date(2024, 1, 2)], ["2024-01-02"]),
        ([1, "x", 2.5, None], ["1", "x", "2.5", None]),  # SQLite: one column, several storage classes
        ([None, None], [None, None]),
    ]
    for values, expected in cases:
        assert text_array(values).to_pylist() == expected, values


def test_every_database_row_has_a_distinct_source_row_within_its_batch(
    warehouse, contracts, tmp_path, monkeypatch
):
    # (_batch_id, _source, _source_row) identifies a raw row: numbered in stream order across chunks.
    monkeypatch.setattr(extract, "DATABASE_CHUNK_ROWS", 2)
    rows = [order(n, f"2024-01-01 10:00:0{n}") for n in range(5)]
    db = make_sqlite(tmp_path / "shop.sqlite", ORDERS_DDL, rows, "orders")
    load(warehouse, contracts, orders_source(db), "b1")
    assert raw_rows(warehouse, "webshop__orders", "order_id, _source_row", "_source_row") == [
        (f"O{n}", n + 1) for n in range(5)
    ]

    # b2: a row at the watermark that already landed is skipped (a gap is fine), new ones are numbered.
    sqlite_exec(db, "update orders set updated_at = '2024-01-02 00:00:00' where order_id = 'O1'")
    sqlite_exec(db, "insert into orders values ('O9', 'A1', 't', 'placed', 1.5, 0, '2024-01-03 00:00:00')")
    load(warehouse, contracts, orders_source(db), "b2")
    # A retried step with the same batch id continues the numbering instead of starting again at 1.
    sqlite_exec(db, "insert into orders values ('O10', 'A1', 't', 'placed', 1.5, 0, '2024-01-04 00:00:00')")
    load(warehouse, contracts, orders_source(db), "b2")

    identities = warehouse.execute(
        "select _batch_id, _source, _source_row from raw.webshop__orders order by all"
    ).fetchall()
    assert all(value is not None for identity in identities for value in identity)
    assert len(set(identities)) == len(identities) == 5 + 3
    assert [(batch, row) for batch, _, row in identities if batch == "b2"] == [
        ("b2", 2),
        ("b2", 3),
        ("b2", 5),
    ]
    assert state_is_consistent(warehouse, "webshop", "orders")


def test_a_renamed_required_database_column_names_the_unknown_columns(warehouse, contracts, tmp_path):
    db = make_sqlite(
        tmp_path / "s.sqlite",
        "create table orders (order_nr text, ordered_at text, status text, total_amount text, updated_at text)",
        [],
        "orders",
    )
    with pytest.raises(SourceError) as caught:
        load(warehouse, contracts, orders_source(db), "b1")
    assert (
        "#orders: required column 'order_id' missing; unknown source columns ['order_nr']: renamed? "
        "(rule: every required contract column must be present)"
    ) in str(caught.value)


def test_absent_optional_columns_are_reported_next_to_unknown_ones(warehouse, contracts, shop_db):
    result = load(warehouse, contracts, orders_source(shop_db), "b1")
    optional = [c.name for c in contracts[("webshop", "orders")].columns if not c.required]

    assert result.unexpected_columns == ["is_gift"]
    absent = [name for name in optional if name not in {"account_id", "status", "total_amount"}]
    assert absent and result.absent_columns == absent
