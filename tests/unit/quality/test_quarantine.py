"""Row rules on raw loads: failing rows move to quarantine, a fixed row is released by `reprocess`."""

from __future__ import annotations

import datetime as dt
import functools
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.contract import TableContract
from orchestration.ingest.extract import ensure_raw_schema, extract_table
from orchestration.ingest.sources_config import TableSource
from orchestration.quality import quarantine
from orchestration.quality.quarantine import (
    RowValidation,
    quarantine_counts,
    reprocess,
    validate_loads,
)
from orchestration.quality.raw_batch import frame_chunks
from tests.unit.ingest.ingest_helpers import LOADED_AT, write_csv

RECEIPT_HEADER = ["receipt_id", "store_id", "register_id", "receipt_ts", "total_amount"]
# Dutch decimals, so the drop is `;`-separated. Row numbers are the file's data rows (1-based).
RECEIPT_ROWS = [
    ["R1", "S1", "3", "2024-02-29 10:00:00", "12,50"],  # 1 valid
    ["R2", "S1", "3", "2024-02-29 10:05:00", "-5,00"],  # 2 negative amount
    ["R3", "S1", "3", "not a time", "7,00"],  # 3 unreadable timestamp
    ["R1", "S1", "3", "2024-02-29 10:00:00", "12,50"],  # 4 repeats the key of row 1
    ["R4", "S1", "3", "2024-02-29 11:00:00", "3,00"],  # 5 valid
    ["R5", "S1", "3", "31-02-2024 10:00:00", "-1,00"],  # 6 unreadable and negative
]
EXPECTED_RULES = {
    2: ["total_amount_negative"],
    3: ["receipt_ts_unreadable"],
    4: ["duplicate_key"],
    6: ["receipt_ts_unreadable", "total_amount_negative"],
}


def receipts_source(folder: Path) -> TableSource:
    return TableSource(
        system="pos", table="receipts", kind="files", path=str(folder / "*.csv"), format="csv", delimiter=";"
    )


def land_receipts(
    conn: duckdb.DuckDBPyConnection, contract: TableContract, folder: Path, name: str, rows, batch_id: str
) -> str:
    path = write_csv(folder / name, RECEIPT_HEADER, rows, sep=";")
    result = extract_table(conn, contract, receipts_source(folder), batch_id, LOADED_AT)
    assert result.rows_loaded == len(rows)
    return str(path)


@dataclass(frozen=True)
class ValidatedDrop:
    """A warehouse file after RECEIPT_ROWS landed (batch b1) and `validate_loads` ran once."""

    warehouse_file: Path
    source: str  # the drop's path, as `_source`
    validation: RowValidation


@pytest.fixture(scope="module")
def validated_drop(tmp_path_factory, contracts, receipts_contract, quality_data_dir) -> ValidatedDrop:
    """Validated once per module (a GX run costs about a second); each test gets its own copy."""
    folder = tmp_path_factory.mktemp("validated_drop")
    conn = duckdb.connect(str(folder / "warehouse.duckdb"))
    try:
        ensure_raw_schema(conn, contracts)
        source = land_receipts(
            conn, receipts_contract, folder / "drops", "receipts_1.csv", RECEIPT_ROWS, "b1"
        )
        validation = validate_loads(conn, quality_data_dir, receipts_contract, LOADED_AT, run_name="test")
    finally:
        conn.close()
    return ValidatedDrop(folder / "warehouse.duckdb", source, validation)


@pytest.fixture
def validated_warehouse(tmp_path, validated_drop) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to this test's copy of the validated warehouse."""
    copy = tmp_path / "validated.duckdb"
    shutil.copyfile(validated_drop.warehouse_file, copy)
    conn = duckdb.connect(str(copy))
    yield conn
    conn.close()


def quarantined(conn: duckdb.DuckDBPyConnection) -> dict[int, tuple]:
    """source row -> (failed rules, reasons, batch, source, released at) of quarantine.pos__receipts."""
    rows = conn.execute(
        """select _source_row, _failed_rules, _reasons, _batch_id, _source, _released_at
           from quarantine.pos__receipts order by _source_row"""
    ).fetchall()
    return {row[0]: row[1:] for row in rows}


def raw_rows(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    return conn.execute(
        "select _source_row, receipt_id, _batch_id from raw.pos__receipts order by _source_row"
    ).fetchall()


def validation_summary(validation: RowValidation) -> tuple:
    return validation.rows_checked, validation.rows_quarantined, validation.quarantined_by_source


def test_failing_rows_move_to_quarantine_with_their_rules_and_original_text(
    validated_warehouse, validated_drop
):
    held = quarantined(validated_warehouse)

    assert {row: rules for row, (rules, *_) in held.items()} == EXPECTED_RULES
    assert all(batch == "b1" and source == validated_drop.source for _, _, batch, source, _ in held.values())
    reasons = {row: values[1] for row, values in held.items()}
    assert reasons[2] == "total_amount_negative (total_amount = '-5,00')"
    assert reasons[3] == "receipt_ts_unreadable (receipt_ts = 'not a time')"
    assert reasons[4] == "duplicate_key: row 1 of the same file (same values)"
    assert set(reasons[6].split("; ")) == {
        "receipt_ts_unreadable (receipt_ts = '31-02-2024 10:00:00')",
        "total_amount_negative (total_amount = '-1,00')",
    }
    assert validation_summary(validated_drop.validation) == (6, 4, {validated_drop.source: 4})
    assert validated_drop.validation.quarantined_per_rule == {
        "total_amount_negative": 2,
        "receipt_ts_unreadable": 2,
        "duplicate_key": 1,
    }
    assert validated_drop.validation.warnings_per_rule == {} and validated_drop.validation.errors == []


def test_raw_keeps_the_valid_rows_and_raw_plus_quarantine_is_what_was_loaded(validated_warehouse):
    assert raw_rows(validated_warehouse) == [(1, "R1", "b1"), (5, "R4", "b1")]
    loaded = validated_warehouse.execute(
        "select rows_loaded from raw._load_batches where batch_id = 'b1' and system = 'pos'"
    ).fetchone()[0]
    in_quarantine = validated_warehouse.execute("select count(*) from quarantine.pos__receipts").fetchone()[0]
    assert len(raw_rows(validated_warehouse)) + in_quarantine == loaded == len(RECEIPT_ROWS)


def test_a_validated_load_is_not_validated_again(validated_warehouse, receipts_contract, quality_data_dir):
    marked = validated_warehouse.execute(
        "select validated_at from raw._load_batches where batch_id = 'b1'"
    ).fetchone()[0]
    assert marked is not None

    again = validate_loads(validated_warehouse, quality_data_dir, receipts_contract, LOADED_AT)

    assert again.batches == [] and again.rows_checked == 0 and again.rows_quarantined == 0
    assert len(quarantined(validated_warehouse)) == 4 and len(raw_rows(validated_warehouse)) == 2


def test_only_the_new_load_is_validated_and_keys_repeat_freely_across_loads(
    validated_warehouse, receipts_contract, quality_data_dir, tmp_path
):
    second = [
        ["R1", "S1", "3", "2024-03-01 09:00:00", "1,00"],
        ["R6", "S1", "3", "2024-03-01 09:30:00", "-2"],
    ]
    source = land_receipts(
        validated_warehouse, receipts_contract, tmp_path / "drops", "receipts_2.csv", second, "b2"
    )

    validation = validate_loads(validated_warehouse, quality_data_dir, receipts_contract, LOADED_AT)

    assert validation.batches == ["b2"]
    assert validation_summary(validation) == (2, 1, {source: 1})
    assert validation.quarantined_per_rule == {"total_amount_negative": 1}
    assert (1, "R1", "b2") in raw_rows(validated_warehouse)


def test_quarantine_counts_rows_held_per_rule(validated_warehouse, receipts_contract):
    assert quarantine_counts(validated_warehouse, receipts_contract) == {
        "total_amount_negative": 2,
        "receipt_ts_unreadable": 2,
        "duplicate_key": 1,
    }


def test_reprocess_releases_exactly_the_fixed_row_under_its_original_load(
    validated_warehouse, receipts_contract, quality_data_dir, validated_drop
):
    validated_warehouse.execute(
        "update quarantine.pos__receipts set total_amount = '5,00' where _source_row = 2"
    )

    result = reprocess(
        validated_warehouse, quality_data_dir, receipts_contract, LOADED_AT, released_by="a test"
    )

    assert (result.rows_checked, result.rows_released) == (4, 1)
    assert result.still_quarantined == Counter(
        {"receipt_ts_unreadable": 2, "total_amount_negative": 1, "duplicate_key": 1}
    )
    released = validated_warehouse.execute(
        """select _batch_id, _source, _source_row, total_amount, _loaded_at
           from raw.pos__receipts where receipt_id = 'R2'"""
    ).fetchall()
    assert released == [("b1", validated_drop.source, 2, "5,00", LOADED_AT)]
    held = quarantined(validated_warehouse)
    assert held[2][4] is not None  # kept as the record, marked released
    assert all(values[4] is None for row, values in held.items() if row != 2)
    assert validated_warehouse.execute(
        "select _released_by from quarantine.pos__receipts where _source_row = 2"
    ).fetchone() == ("a test",)
    assert quarantine_counts(validated_warehouse, receipts_contract) == {
        "receipt_ts_unreadable": 2,
        "total_amount_negative": 1,
        "duplicate_key": 1,
    }


def test_reprocess_without_a_fix_releases_nothing_and_a_duplicate_stays_a_duplicate(
    validated_warehouse, receipts_contract, quality_data_dir
):
    # the repeat of R1 now looks valid on its own, but row 1 of its file is in raw
    result = reprocess(
        validated_warehouse, quality_data_dir, receipts_contract, LOADED_AT, released_by="a test"
    )

    assert (result.rows_checked, result.rows_released) == (4, 0)
    assert result.still_quarantined["duplicate_key"] == 1
    assert raw_rows(validated_warehouse) == [(1, "R1", "b1"), (5, "R4", "b1")]
    assert all(values[4] is None for values in quarantined(validated_warehouse).values())


def test_a_released_row_is_not_released_twice(validated_warehouse, receipts_contract, quality_data_dir):
    validated_warehouse.execute(
        "update quarantine.pos__receipts set receipt_ts = '2024-02-29 12:00:00' where _source_row = 3"
    )
    reprocess(validated_warehouse, quality_data_dir, receipts_contract, LOADED_AT, released_by="a test")

    second = reprocess(
        validated_warehouse, quality_data_dir, receipts_contract, LOADED_AT, released_by="a test"
    )

    assert (second.rows_checked, second.rows_released) == (3, 0)
    assert [row for row in raw_rows(validated_warehouse) if row[1] == "R3"] == [(3, "R3", "b1")]


def test_rows_spread_over_several_chunks_are_judged_as_one_load(
    monkeypatch, warehouse, receipts_contract, quality_data_dir, tmp_path
):
    source = land_receipts(
        warehouse, receipts_contract, tmp_path / "drops", "receipts_1.csv", RECEIPT_ROWS, "b1"
    )
    # chunks of three rows: row 4 (the repeat of row 1) is in another chunk than row 1
    monkeypatch.setattr(quarantine, "frame_chunks", functools.partial(frame_chunks, chunk_rows=3))

    validation = validate_loads(warehouse, quality_data_dir, receipts_contract, LOADED_AT)

    assert {row: rules for row, (rules, *_) in quarantined(warehouse).items()} == EXPECTED_RULES
    assert validation_summary(validation) == (6, 4, {source: 4})
    assert validation.quarantined_per_rule == {
        "total_amount_negative": 2,
        "receipt_ts_unreadable": 2,
        "duplicate_key": 1,
    }


def test_warnings_are_counted_and_the_rows_stay_in_raw(warehouse, contracts, quality_data_dir, tmp_path):
    contacts = contracts[("service", "contacts")]
    folder = tmp_path / "service"
    header = ["contact_id", "contact_ts", "channel", "email", "satisfaction"]
    rows = [
        ["K1", "2024-02-29T10:00:00Z", " Phone", " Jan@Ziggo.NL ", "4"],  # valid once normalized
        ["K2", "2024-02-29T11:00:00Z", "whatsapp", "piet@example.com", "9"],  # two warnings
        ["K3", "2024-02-29T12:00:00Z", "chat", "jan@ziggo", "3"],  # malformed email
    ]
    write_csv(folder / "contacts_1.csv", header, rows)
    source = TableSource(
        system="service", table="contacts", kind="files", path=str(folder / "*.csv"), format="csv"
    )
    extract_table(warehouse, contacts, source, "b1", LOADED_AT)

    validation = validate_loads(warehouse, quality_data_dir, contacts, LOADED_AT)

    assert validation.warnings_per_rule == {"channel_unknown_value": 1, "satisfaction_out_of_range": 1}
    assert validation.quarantined_per_rule == {"email_malformed": 1}
    kept = warehouse.execute("select contact_id from raw.service__contacts order by 1").fetchall()
    assert kept == [("K1",), ("K2",)]
    assert warehouse.execute("select _reasons from quarantine.service__contacts").fetchall() == [
        ("email_malformed (email = 'jan@ziggo')",)
    ]


def test_a_timestamp_later_than_the_load_plus_tolerance_is_quarantined(
    warehouse, receipts_contract, quality_data_dir, tmp_path
):
    rows = [
        ["R1", "S1", "3", "2024-03-02 01:59:00", "1,00"],  # within 24 h after the load
        ["R2", "S1", "3", "2024-03-02 02:01:00", "1,00"],  # beyond
    ]
    land_receipts(warehouse, receipts_contract, tmp_path / "drops", "receipts_1.csv", rows, "b1")

    validation = validate_loads(warehouse, quality_data_dir, receipts_contract, LOADED_AT)

    assert validation.quarantined_per_rule == {"receipt_ts_in_future": 1}
    assert [row[1] for row in raw_rows(warehouse)] == ["R1"]


def test_load_time_sets_the_suite_parameters(receipts_contract):
    load_time = dt.datetime(2024, 3, 1, 2, 0)

    assert quarantine.suite_parameters(load_time, receipts_contract) == {
        "latest_allowed_time": "2024-03-02 02:00:00",
        "load_date": "2024-03-01 00:00:00",
    }


def test_the_reprocess_job_releases_a_fixed_row_from_the_ui(tmp_path, validated_drop, quality_data_dir):
    """The `reprocess_quarantine` job (launched from the UI with the tables in its run config)."""
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.resources import QualityResource, WarehouseResource

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(validated_drop.warehouse_file, warehouse)
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("update quarantine.pos__receipts set total_amount = '5,00' where _source_row = 2")

    result = defs.resolve_job_def("reprocess_quarantine").execute_in_process(
        resources={
            "warehouse": WarehouseResource(database=str(warehouse)),
            "quality": QualityResource(data_dir=str(quality_data_dir)),
        },
        run_config={"ops": {"reprocess_quarantined_rows": {"config": {"tables": ["pos.receipts"]}}}},
        instance=dg.DagsterInstance.ephemeral(),
    )

    assert result.success
    assert result.output_for_node("reprocess_quarantined_rows") == 1
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("select count(*) from raw.pos__receipts where receipt_id = 'R2'").fetchone() == (
            1,
        )


def test_rows_landed_without_a_row_number_are_numbered_per_load_and_source(receipts_contract):
    """Database rows landed before they were numbered (NULL `_source_row`) each get their own number,
    so one failing row cannot move the whole load."""
    conn = duckdb.connect()
    ensure_raw_schema(conn, [receipts_contract])
    conn.execute(
        """insert into raw.pos__receipts (receipt_id, _batch_id, _source, _source_row)
           values ('A', 'b1', 'db', null), ('B', 'b1', 'db', null), ('C', 'b2', 'db', null), ('D', 'b1', 'f', 7)"""
    )

    quarantine.number_unnumbered_rows(conn, receipts_contract)

    rows = conn.execute(
        "select _batch_id, _source, _source_row from raw.pos__receipts order by receipt_id"
    ).fetchall()
    assert rows == [("b1", "db", 1), ("b1", "db", 2), ("b2", "db", 1), ("b1", "f", 7)]
