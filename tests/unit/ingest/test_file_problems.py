"""File-level problems of file drops: empty, missing, truncated, renamed or new columns (issue 5).

A bad file fails alone with a message naming system.table, the file, the line and the rule; the good
files of the same call load, and rows loaded earlier stay as they were.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.extract import (
    LastDrop,
    SourceError,
    extract_table,
    last_drop_loaded_at,
    missing_drop_message,
)
from orchestration.ingest.sources_config import TableSource
from tests.unit.ingest.ingest_helpers import LOADED_AT, raw_rows, state_is_consistent, write_csv

RECEIPT_HEADER = ["receipt_id", "store_id", "register_id", "receipt_ts", "total_amount"]
EVENT_KEYS = '"event_ts": "2024-01-01T10:00:00Z", "cookie_id": "c1", "session_id": "s1", "event_type": "x"'


def receipts_source(folder: Path, **kwargs) -> TableSource:
    return TableSource(
        system="pos", table="receipts", kind="files", path=str(folder / "*.csv"), format="csv", **kwargs
    )


def events_source(folder: Path) -> TableSource:
    return TableSource("web", "events", "files", path=str(folder / "*.jsonl"), format="jsonl")


def receipt_rows(day: str, count: int) -> list[list[object]]:
    return [[f"R{day}-{i}", "S1", "3", f"{day} 10:00:00", f"{i}.50"] for i in range(count)]


def event_lines(day: str, count: int) -> str:
    return "".join(f'{{"event_id": "e{day}-{i}", {EVENT_KEYS}}}\n' for i in range(count))


def loaded_rows(conn: duckdb.DuckDBPyConnection, raw_table: str, key: str) -> list[tuple]:
    return raw_rows(conn, raw_table, f"{key}, _batch_id, _loaded_at, _source, _source_row", key)


def failure(warehouse, contract, source, batch_id: str = "b1") -> SourceError:
    with pytest.raises(SourceError) as caught:
        extract_table(warehouse, contract, source, batch_id, LOADED_AT)
    return caught.value


# ------------------------------------------------------------------------------------- empty drops


def test_a_0_byte_csv_fails_as_a_file_without_header_and_the_others_load(warehouse, contracts, tmp_path):
    folder = tmp_path / "receipts"
    write_csv(folder / "receipts_2024-01-01.csv", RECEIPT_HEADER, receipt_rows("2024-01-01", 2))
    empty = folder / "receipts_2024-01-02.csv"
    empty.write_bytes(b"")
    contract, source = contracts[("pos", "receipts")], receipts_source(folder)

    error = failure(warehouse, contract, source)

    assert error.result.errors == [
        f"pos.receipts: file {empty}: line 1: the file is empty, no header "
        "(rule: a csv drop starts with a header line)"
    ]
    assert error.result.rows_loaded == 2 and error.result.files_loaded == [
        str(folder / "receipts_2024-01-01.csv")
    ]
    assert warehouse.execute("select count(*) from raw._loaded_files").fetchone()[0] == 1
    assert state_is_consistent(warehouse, "pos", "receipts")
    # Not recorded: it fails again on the next run until a real drop replaces it.
    again = failure(warehouse, contract, source, "b2")
    assert again.result.files_skipped == 1 and len(again.result.errors) == 1


def test_a_0_byte_parquet_file_fails(warehouse, contracts, tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "events.parquet").write_bytes(b"")
    source = TableSource("web", "events", "files", path=str(folder / "*.parquet"), format="parquet")

    error = failure(warehouse, contracts[("web", "events")], source)

    assert error.result.errors == [
        f"web.events: file {folder / 'events.parquet'}: the file is empty, 0 bytes "
        "(rule: a parquet drop is a complete parquet file)"
    ]
    assert warehouse.execute("select count(*) from raw._loaded_files").fetchone()[0] == 0


def test_a_0_byte_jsonl_file_is_a_day_without_rows(warehouse, contracts, tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "events_2024-01-01.jsonl").write_bytes(b"")

    result = extract_table(warehouse, contracts[("web", "events")], events_source(folder), "b1", LOADED_AT)

    assert result.rows_loaded == 0 and result.errors == []
    assert result.files_loaded == [str(folder / "events_2024-01-01.jsonl")]


# ----------------------------------------------------------------------------------- missing drops


def test_a_glob_that_matches_no_file_fails_and_records_nothing(warehouse, contracts, tmp_path):
    folder = tmp_path / "receipts"
    (folder / "not_a_file.csv").mkdir(parents=True)  # a directory matching the glob is no drop
    source = receipts_source(folder)

    error = failure(warehouse, contracts[("pos", "receipts")], source)

    assert str(error) == (
        f"pos.receipts: no file matches {folder}/*.csv (rule: a configured file source has at least one drop)"
    )
    assert error.result.rows_loaded == 0
    assert warehouse.execute("select count(*) from raw._load_batches").fetchone()[0] == 0


def test_last_drop_is_the_latest_load_and_its_last_path(warehouse, contracts, tmp_path):
    contract = contracts[("pos", "receipts")]
    assert last_drop_loaded_at(warehouse, contract) is None

    folder = tmp_path / "receipts"
    write_csv(folder / "receipts_2024-01-01.csv", RECEIPT_HEADER, receipt_rows("2024-01-01", 1))
    write_csv(folder / "receipts_2024-01-02.csv", RECEIPT_HEADER, receipt_rows("2024-01-02", 1))
    extract_table(warehouse, contract, receipts_source(folder), "b1", LOADED_AT)
    assert last_drop_loaded_at(warehouse, contract) == LastDrop(
        str(folder / "receipts_2024-01-02.csv"), LOADED_AT
    )

    later = LOADED_AT + dt.timedelta(days=1)
    write_csv(folder / "receipts_2024-01-00.csv", RECEIPT_HEADER, [])  # header only: still a delivery
    extract_table(warehouse, contract, receipts_source(folder), "b2", later)
    assert last_drop_loaded_at(warehouse, contract) == LastDrop(
        str(folder / "receipts_2024-01-00.csv"), later
    )
    assert last_drop_loaded_at(warehouse, contracts[("pos", "stores")]) is None


def test_missing_drop_message_only_when_the_last_drop_is_too_old(contracts, tmp_path):
    contract, source = contracts[("pos", "receipts")], receipts_source(tmp_path)
    last = LastDrop("/drops/receipts_2024-03-01.csv", dt.datetime(2024, 3, 1, 2, 0, 0))

    on_time = dt.datetime(2024, 3, 2, 2, 0, 0)
    assert missing_drop_message(contract, source, last, on_time, max_hours=24) is None
    late = dt.datetime(2024, 3, 2, 3, 30, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))  # 02:30 UTC
    assert missing_drop_message(contract, source, last, late, max_hours=24) == (
        "pos.receipts: no new drop since /drops/receipts_2024-03-01.csv loaded at 2024-03-01 02:00:00 UTC "
        "(24.5 h ago) (rule: a drop arrives at least every 24 h)"
    )
    assert missing_drop_message(contract, source, None, late, max_hours=24) is None
    assert missing_drop_message(contract, None, last, late, max_hours=24) is None
    database = TableSource("pos", "receipts", "database", url="sqlite://", source_table="receipts")
    assert missing_drop_message(contract, database, last, late, max_hours=24) is None


# ------------------------------------------------------------------------- renamed and new columns


def test_a_renamed_required_column_names_the_unknown_source_columns(warehouse, contracts, tmp_path):
    folder = tmp_path / "receipts"
    renamed = ["receipt_id", "store_id", "receipt_ts", "amount_total"]
    write_csv(folder / "receipts_2024-01-01.csv", renamed, [["R1", "S1", "t", "1.00"]])

    error = failure(warehouse, contracts[("pos", "receipts")], receipts_source(folder))

    [message] = error.result.errors
    assert message.startswith(
        f"pos.receipts: file {folder / 'receipts_2024-01-01.csv'}: line 1 (the header): "
        "required column 'total_amount' missing; "
        "unknown source columns ['amount_total']: renamed? (rule: every required contract column must be present)"
    )


def test_absent_optional_and_unknown_columns_are_listed_once_in_first_seen_order(
    warehouse, contracts, tmp_path
):
    folder = tmp_path / "receipts"
    required = ["receipt_id", "store_id", "receipt_ts", "total_amount"]
    # Day 1 lacks optional columns but has no unknown one: nothing to say. Day 2 has discount_amount
    # as korting; day 3 also lacks register_id and payment_method and brings kassa.
    write_csv(folder / "receipts_2024-01-01.csv", required, [["R1", "S1", "t", "1"]])
    day_two = [*required, "loyalty_card_number", "payment_method", "coupon_code", "register_id", "korting"]
    write_csv(folder / "receipts_2024-01-02.csv", day_two, [["R2", "S1", "t", "1", "L", "pin", "", "3", "0"]])
    day_three = [*required, "discount_amount", "kassa", "loyalty_card_number", "coupon_code", "korting"]
    write_csv(folder / "receipts_2024-01-03.csv", day_three, [["R3", "S1", "t", "1", "0", "3", "L", "", "0"]])

    result = extract_table(
        warehouse, contracts[("pos", "receipts")], receipts_source(folder), "b1", LOADED_AT
    )

    assert result.rows_loaded == 3
    assert result.unexpected_columns == ["korting", "kassa"]
    assert result.absent_columns == ["discount_amount", "register_id", "payment_method"]


def test_absent_optional_columns_alone_are_not_reported(warehouse, contracts, tmp_path):
    folder = tmp_path / "receipts"
    write_csv(
        folder / "receipts_2024-01-01.csv",
        ["receipt_id", "store_id", "receipt_ts", "total_amount"],
        [["R1", "S1", "t", "1"]],
    )
    result = extract_table(
        warehouse, contracts[("pos", "receipts")], receipts_source(folder), "b1", LOADED_AT
    )
    assert result.rows_loaded == 1 and result.unexpected_columns == [] and result.absent_columns == []


# ----------------------------------------------------------------------------------- truncated files


@pytest.mark.parametrize("rows", [3, 200_000])  # 200,000: DuckDB reads the file with several threads
def test_a_csv_cut_in_its_last_row_fails_with_its_line_while_a_good_file_loads(
    warehouse, contracts, tmp_path, rows
):
    folder = tmp_path / "receipts"
    write_csv(folder / "receipts_2024-01-01.csv", RECEIPT_HEADER, receipt_rows("2024-01-01", 2))
    contract, source = contracts[("pos", "receipts")], receipts_source(folder)
    extract_table(warehouse, contract, source, "b1", LOADED_AT)
    before = loaded_rows(warehouse, "pos__receipts", "receipt_id")

    truncated = write_csv(
        folder / "receipts_2024-01-02.csv", RECEIPT_HEADER, receipt_rows("2024-01-02", rows)
    )
    content = truncated.read_bytes()
    last_line_start = content.rstrip(b"\n").rfind(b"\n") + 1
    truncated.write_bytes(content[: last_line_start + len(f"R2024-01-02-{rows - 1},S1")])  # 2 of 5 fields
    write_csv(folder / "receipts_2024-01-03.csv", RECEIPT_HEADER, receipt_rows("2024-01-03", 4))

    error = failure(warehouse, contract, source, "b2")

    [message] = error.result.errors
    assert message == (
        f"pos.receipts: file {truncated}: line {rows + 1}: 2 fields where the header has 5, "
        "columns ['register_id', 'receipt_ts', 'total_amount'] missing (a cut-off last row: truncated?) "
        f"(rule: every row has the header's fields); the line: 'R2024-01-02-{rows - 1},S1'"
    )
    assert error.result.files_loaded == [str(folder / "receipts_2024-01-03.csv")]
    assert (
        warehouse.execute("select count(*) from raw.pos__receipts where _batch_id = 'b2'").fetchone()[0] == 4
    )
    assert (
        warehouse.execute(
            "select count(*) from raw.pos__receipts where _source = ?", [str(truncated)]
        ).fetchone()[0]
        == 0
    )
    assert loaded_rows(warehouse, "pos__receipts", "receipt_id")[: len(before)] == before
    assert state_is_consistent(warehouse, "pos", "receipts")


@pytest.mark.parametrize("lines", [3, 50_000])
def test_a_jsonl_file_cut_in_its_last_object_fails_with_its_line_while_a_good_file_loads(
    warehouse, contracts, tmp_path, lines
):
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "events_2024-01-01.jsonl").write_text(event_lines("1", 2), encoding="utf-8")
    contract, source = contracts[("web", "events")], events_source(folder)
    extract_table(warehouse, contract, source, "b1", LOADED_AT)
    before = loaded_rows(warehouse, "web__events", "event_id")

    truncated = folder / "events_2024-01-02.jsonl"
    cut_line = f'{{"event_id": "e2-{lines - 1}", "event_ts": "2024-01-0'
    truncated.write_text(event_lines("2", lines - 1) + cut_line, encoding="utf-8")  # no newline at the end
    (folder / "events_2024-01-03.jsonl").write_text(event_lines("3", 4), encoding="utf-8")

    error = failure(warehouse, contract, source, "b2")

    [message] = error.result.errors
    assert message == (
        f"web.events: file {truncated}: line {lines}: malformed JSON at character {len(cut_line) + 1}: "
        "unexpected end of data (the file ends inside it: truncated?) (rule: one JSON object per line)"
    )
    assert error.result.files_loaded == [str(folder / "events_2024-01-03.jsonl")]
    assert warehouse.execute("select count(*) from raw.web__events where _batch_id = 'b2'").fetchone()[0] == 4
    assert loaded_rows(warehouse, "web__events", "event_id")[: len(before)] == before
    assert state_is_consistent(warehouse, "web", "events")


def test_a_jsonl_line_that_is_not_utf8_is_reported_with_its_own_line(warehouse, contracts, tmp_path):
    folder = tmp_path / "events"
    folder.mkdir()
    bad = folder / "events_2024-01-01.jsonl"
    bad.write_bytes(event_lines("1", 1).encode() + b'{"event_id": "Caf\xe9", ' + EVENT_KEYS.encode() + b"}\n")

    error = failure(warehouse, contracts[("web", "events")], events_source(folder))

    assert error.result.errors == [
        f"web.events: file {bad}: line 2: byte 18 is not valid utf-8 (invalid continuation byte) "
        "(rule: the file is utf-8)"
    ]
