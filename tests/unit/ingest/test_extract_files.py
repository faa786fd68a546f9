"""Extraction of file drops (CSV, JSON lines, Parquet) into raw."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest import extract
from orchestration.ingest.extract import SourceError, extract_table
from orchestration.ingest.sources_config import TableSource
from tests.unit.ingest.ingest_helpers import LOADED_AT, raw_rows, state_is_consistent, write_csv

RECEIPT_HEADER = ["receipt_id", "store_id", "register_id", "receipt_ts", "total_amount"]


def receipts_source(folder: Path, **kwargs) -> TableSource:
    return TableSource(
        system="pos", table="receipts", kind="files", path=str(folder / "*.csv"), format="csv", **kwargs
    )


def day_rows(day: str, count: int, start: int = 0) -> list[list[object]]:
    return [[f"R{day}-{i}", "S1", "3", f"{day} 10:{i % 60:02d}:00", f"{i}.50"] for i in range(start, count)]


@pytest.fixture
def receipts(tmp_path: Path) -> Path:
    folder = tmp_path / "pos" / "receipts"
    write_csv(folder / "receipts_2024-01-01.csv", RECEIPT_HEADER, day_rows("2024-01-01", 3))
    write_csv(folder / "receipts_2024-01-02.csv", RECEIPT_HEADER, day_rows("2024-01-02", 2))
    return folder


def test_first_load_lands_every_row_with_load_metadata(warehouse, contracts, receipts):
    result = extract_table(
        warehouse, contracts[("pos", "receipts")], receipts_source(receipts), "b1", LOADED_AT
    )

    assert result.configured and result.rows_loaded == 5 and result.files_skipped == 0
    assert [Path(f).name for f in result.files_loaded] == [
        "receipts_2024-01-01.csv",
        "receipts_2024-01-02.csv",
    ]
    rows = raw_rows(
        warehouse,
        "pos__receipts",
        "receipt_id, receipt_ts, total_amount, loyalty_card_number, _batch_id, _loaded_at, _source, _source_row",
    )
    first_file = str(receipts / "receipts_2024-01-01.csv")
    assert rows[0] == ("R2024-01-01-0", "2024-01-01 10:00:00", "0.50", None, "b1", LOADED_AT, first_file, 1)
    assert rows[2][-1] == 3
    assert rows[3][-2].endswith("receipts_2024-01-02.csv") and rows[3][-1] == 1
    assert state_is_consistent(warehouse, "pos", "receipts")
    files = warehouse.execute(
        "select file_path, rows_loaded, batch_id from raw._loaded_files order by file_path"
    ).fetchall()
    assert files == [(first_file, 3, "b1"), (str(receipts / "receipts_2024-01-02.csv"), 2, "b1")]


def test_values_land_as_text_exactly_as_in_the_file(warehouse, contracts, tmp_path):
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "receipts_2024-01-01.csv").write_text(
        "receipt_id,store_id,receipt_ts,total_amount,payment_method\n"
        '007,S1,2024-01-01T10:00:00+01:00,0012.500,"card, contactless"\n'
        "008,'s-Hertogenbosch,2024-01-01 10:00,1e3,\n",
        encoding="utf-8",
    )
    extract_table(warehouse, contracts[("pos", "receipts")], receipts_source(folder), "b1", LOADED_AT)
    rows = raw_rows(
        warehouse, "pos__receipts", "receipt_id, store_id, receipt_ts, total_amount, payment_method"
    )
    assert rows == [
        ("007", "S1", "2024-01-01T10:00:00+01:00", "0012.500", "card, contactless"),
        ("008", "'s-Hertogenbosch", "2024-01-01 10:00", "1e3", None),
    ]


def test_second_load_without_changes_lands_nothing(warehouse, contracts, receipts):
    contract, source = contracts[("pos", "receipts")], receipts_source(receipts)
    extract_table(warehouse, contract, source, "b1", LOADED_AT)
    again = extract_table(warehouse, contract, source, "b2", LOADED_AT)

    assert again.rows_loaded == 0 and again.files_loaded == [] and again.files_skipped == 2
    assert warehouse.execute('select count(*) from raw."pos__receipts"').fetchone()[0] == 5
    assert state_is_consistent(warehouse, "pos", "receipts")


def test_a_new_days_file_lands_exactly_its_rows(warehouse, contracts, receipts):
    contract, source = contracts[("pos", "receipts")], receipts_source(receipts)
    extract_table(warehouse, contract, source, "b1", LOADED_AT)
    write_csv(receipts / "receipts_2024-01-03.csv", RECEIPT_HEADER, day_rows("2024-01-03", 4))
    result = extract_table(warehouse, contract, source, "b2", LOADED_AT)

    assert result.rows_loaded == 4 and result.files_skipped == 2
    assert [Path(f).name for f in result.files_loaded] == ["receipts_2024-01-03.csv"]
    batch_two = raw_rows(warehouse, "pos__receipts", "receipt_id", "1")
    assert len(batch_two) == 9
    assert warehouse.execute(
        "select count(*), min(receipt_id) from raw.pos__receipts where _batch_id = 'b2'"
    ).fetchone() == (4, "R2024-01-03-0")
    assert state_is_consistent(warehouse, "pos", "receipts")


def test_a_redelivered_changed_file_loads_again(warehouse, contracts, receipts):
    contract, source = contracts[("pos", "receipts")], receipts_source(receipts)
    extract_table(warehouse, contract, source, "b1", LOADED_AT)
    changed = receipts / "receipts_2024-01-02.csv"
    write_csv(changed, RECEIPT_HEADER, day_rows("2024-01-02", 3))
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 5_000_000_000))
    result = extract_table(warehouse, contract, source, "b2", LOADED_AT)

    assert result.files_loaded == [str(changed)] and result.rows_loaded == 3 and result.files_skipped == 1
    assert state_is_consistent(warehouse, "pos", "receipts")


def test_source_row_is_the_csv_line_number_minus_one_on_a_big_file(warehouse, contracts, tmp_path):
    # Big enough for DuckDB to read it with several threads: row order must still be the file's.
    folder = tmp_path / "big"
    folder.mkdir()
    path = folder / "receipts_2024-01-01.csv"
    duckdb.execute(
        f"""copy (select 'R' || i as receipt_id, 'S' || (i % 7) as store_id,
                         '2024-01-01 10:00:00' as receipt_ts, (i + 1)::varchar as total_amount
                  from range(400000) t(i)) to '{path}' (header)"""
    )
    result = extract_table(
        warehouse, contracts[("pos", "receipts")], receipts_source(folder), "b1", LOADED_AT
    )

    assert result.rows_loaded == 400_000
    mismatches = warehouse.execute(
        "select count(*) from raw.pos__receipts where total_amount::bigint <> _source_row"
    ).fetchone()[0]
    assert mismatches == 0
    lines = path.read_text().splitlines()
    line_of_r12345 = next(n for n, line in enumerate(lines, start=1) if line.startswith("R12345,"))
    assert (
        warehouse.execute(
            "select _source_row + 1 from raw.pos__receipts where receipt_id = 'R12345'"
        ).fetchone()[0]
        == line_of_r12345
    )


def test_column_map_renames_and_optional_absent_columns_are_null(warehouse, contracts, tmp_path):
    folder = tmp_path / "mapped"
    write_csv(
        folder / "r.csv",
        ["BonNr", "Filiaal", "Tijd", "Totaal", "kassa_operator"],
        [["B1", "S9", "2024-02-01 09:00:00", "9.99", "anna"]],
        sep=";",
    )
    source = receipts_source(
        folder,
        column_map={
            "receipt_id": "BonNr",
            "store_id": "Filiaal",
            "receipt_ts": "Tijd",
            "total_amount": "Totaal",
        },
        delimiter=";",
    )
    result = extract_table(warehouse, contracts[("pos", "receipts")], source, "b1", LOADED_AT)

    assert result.rows_loaded == 1
    assert result.unexpected_columns == ["kassa_operator"]
    assert raw_rows(
        warehouse, "pos__receipts", "receipt_id, store_id, receipt_ts, total_amount, register_id, coupon_code"
    ) == [("B1", "S9", "2024-02-01 09:00:00", "9.99", None, None)]


def test_missing_required_column_fails_that_file_and_the_others_still_load(warehouse, contracts, receipts):
    write_csv(
        receipts / "receipts_2024-01-03.csv", ["receipt_id", "store_id", "receipt_ts"], [["X", "S1", "t"]]
    )
    contract, source = contracts[("pos", "receipts")], receipts_source(receipts)

    with pytest.raises(SourceError) as caught:
        extract_table(warehouse, contract, source, "b1", LOADED_AT)

    message = str(caught.value)
    assert "pos.receipts" in message and "receipts_2024-01-03.csv" in message and "'total_amount'" in message
    assert caught.value.result.rows_loaded == 5 and len(caught.value.result.files_loaded) == 2
    assert warehouse.execute("select count(*) from raw.pos__receipts").fetchone()[0] == 5
    assert warehouse.execute("select count(*) from raw._loaded_files").fetchone()[0] == 2
    assert state_is_consistent(warehouse, "pos", "receipts")

    # The bad file is retried on the next run (and fails again); the good ones are not reloaded.
    with pytest.raises(SourceError) as again:
        extract_table(warehouse, contract, source, "b2", LOADED_AT)
    assert again.value.result.files_skipped == 2 and again.value.result.rows_loaded == 0


def test_non_utf8_file_is_reported_with_file_and_line_and_the_others_load(warehouse, contracts, receipts):
    bad = receipts / "receipts_2024-01-03.csv"
    bad.write_bytes(b"receipt_id,store_id,receipt_ts,total_amount\nA,S1,t,1\nB,Caf\xe9 \xff,t,2\n")

    with pytest.raises(SourceError) as caught:
        extract_table(warehouse, contracts[("pos", "receipts")], receipts_source(receipts), "b1", LOADED_AT)

    [error] = caught.value.result.errors
    assert str(bad) in error and "Line: 3" in error and "utf-8" in error
    assert "Possible Solution" not in error  # DuckDB's advice is trimmed
    assert warehouse.execute("select count(*) from raw.pos__receipts").fetchone()[0] == 5
    assert state_is_consistent(warehouse, "pos", "receipts")


def test_a_row_with_too_many_fields_fails_the_file(warehouse, contracts, receipts):
    bad = receipts / "receipts_2024-01-03.csv"
    bad.write_text("receipt_id,store_id,receipt_ts,total_amount\nA,S1,t,1\nB,S1,t,2,surprise\n")
    with pytest.raises(SourceError, match=r"receipts_2024-01-03\.csv"):
        extract_table(warehouse, contracts[("pos", "receipts")], receipts_source(receipts), "b1", LOADED_AT)
    assert (
        warehouse.execute("select count(*) from raw.pos__receipts where _source like '%01-03%'").fetchone()[0]
        == 0
    )


def test_a_header_only_csv_is_a_day_without_rows_recorded_and_not_retried(warehouse, contracts, receipts):
    write_csv(receipts / "receipts_2024-01-03.csv", RECEIPT_HEADER, [])
    contract, source = contracts[("pos", "receipts")], receipts_source(receipts)

    first = extract_table(warehouse, contract, source, "b1", LOADED_AT)
    second = extract_table(warehouse, contract, source, "b2", LOADED_AT)

    assert first.rows_loaded == 5 and len(first.files_loaded) == 3
    assert second.files_skipped == 3 and second.files_loaded == []
    assert warehouse.execute("select file_path from raw._loaded_files where rows_loaded = 0").fetchall() == [
        (str(receipts / "receipts_2024-01-03.csv"),)
    ]


def test_jsonl_lands_keys_as_text_and_reports_unknown_keys(warehouse, contracts, tmp_path):
    folder = tmp_path / "web"
    folder.mkdir()
    (folder / "events_2024-01-01.jsonl").write_text(
        '{"event_id": "e1", "event_ts": "2024-01-01T10:00:00Z", "cookie_id": "c1", "session_id": "s1",'
        ' "event_type": "page_view", "page_url": "/a", "ab_test": {"v": [1, 2]}}\n'
        '{"event_id": "e2", "event_ts": "2024-01-01T10:00:05Z", "cookie_id": "c1", "session_id": "s1",'
        ' "event_type": "search", "search_term": "fiets", "account_id": 42}\n',
        encoding="utf-8",
    )
    (folder / "events_2024-01-02.jsonl").write_text("", encoding="utf-8")
    source = TableSource("web", "events", "files", path=str(folder / "*.jsonl"), format="jsonl")
    result = extract_table(warehouse, contracts[("web", "events")], source, "b1", LOADED_AT)

    assert result.rows_loaded == 2 and len(result.files_loaded) == 2
    assert result.unexpected_columns == ["ab_test"]
    assert raw_rows(
        warehouse,
        "web__events",
        "event_id, event_ts, page_url, search_term, account_id, device_type, _source_row",
    ) == [
        ("e1", "2024-01-01T10:00:00Z", "/a", None, None, None, 1),
        ("e2", "2024-01-01T10:00:05Z", None, "fiets", "42", None, 2),
    ]


def test_malformed_jsonl_is_reported_with_its_line(warehouse, contracts, tmp_path):
    folder = tmp_path / "web"
    folder.mkdir()
    (folder / "events_2024-01-01.jsonl").write_text(
        '{"event_id": "e1", "event_ts": "t", "cookie_id": "c", "session_id": "s", "event_type": "x"}\n'
        '{"event_id": "e2", "event_ts": "t", "cookie_id": "c", "session_id": "s", "event_type": "x"}\n'
        '{"event_id": "e3", "event_ts": "t", "cookie_id": "c", "sessi\n',
        encoding="utf-8",
    )
    source = TableSource("web", "events", "files", path=str(folder / "*.jsonl"), format="jsonl")
    with pytest.raises(
        SourceError, match=r"events_2024-01-01\.jsonl: line 3: malformed JSON at character 61"
    ):
        extract_table(warehouse, contracts[("web", "events")], source, "b1", LOADED_AT)
    assert warehouse.execute("select count(*) from raw.web__events").fetchone()[0] == 0


def test_parquet_lands_values_as_text_with_row_numbers(warehouse, contracts, tmp_path):
    folder = tmp_path / "pq"
    folder.mkdir()
    path = folder / "events.parquet"
    duckdb.execute(
        f"""copy (select 'e' || i as event_id, timestamp '2024-01-01 10:00:00' + to_seconds(i) as event_ts,
                         'c' as cookie_id, 's' as session_id, 'page_view' as event_type, i as content_id
                  from range(3) t(i)) to '{path}' (format parquet)"""
    )
    source = TableSource("web", "events", "files", path=str(folder / "*.parquet"), format="parquet")
    result = extract_table(warehouse, contracts[("web", "events")], source, "b1", LOADED_AT)

    assert result.rows_loaded == 3
    assert raw_rows(warehouse, "web__events", "event_id, event_ts, content_id, _source_row") == [
        ("e0", "2024-01-01 10:00:00", "0", 1),
        ("e1", "2024-01-01 10:00:01", "1", 2),
        ("e2", "2024-01-01 10:00:02", "2", 3),
    ]


def test_unconfigured_table_gets_an_empty_raw_table(tmp_path, contracts):
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))  # no ensure_raw_schema beforehand
    result = extract_table(conn, contracts[("social", "interactions")], None, "b1")

    assert result.configured is False and result.rows_loaded == 0 and result.errors == []
    assert conn.execute('select count(*) from raw."social__interactions"').fetchone()[0] == 0
    columns = [row[0] for row in conn.execute('describe raw."social__interactions"').fetchall()]
    assert columns[-4:] == ["_batch_id", "_loaded_at", "_source", "_source_row"]
    conn.close()


def test_a_jsonl_file_without_any_json_object_is_an_error_not_an_empty_drop(warehouse, contracts, tmp_path):
    folder = tmp_path / "web"
    folder.mkdir()
    (folder / "events_2024-01-01.jsonl").write_text("\n\nthis is not json\n", encoding="utf-8")
    source = TableSource("web", "events", "files", path=str(folder / "*.jsonl"), format="jsonl")
    with pytest.raises(SourceError, match=r"events_2024-01-01\.jsonl: line 3 is not a JSON object"):
        extract_table(warehouse, contracts[("web", "events")], source, "b1", LOADED_AT)
    assert warehouse.execute("select count(*) from raw._loaded_files").fetchone()[0] == 0


def test_many_drops_land_in_bulk_with_per_file_rows_and_state(warehouse, contracts, tmp_path, monkeypatch):
    # Chunks of 8 files: several chunks, a second header layout (its own group), a bad file in the middle
    # (its chunk is split in halves until it is read alone).
    monkeypatch.setattr(extract, "FILE_CHUNK_MAX_FILES", 8)
    folder = tmp_path / "many"
    expected: dict[str, int] = {}
    for day in range(1, 12):
        name = f"receipts_2024-01-{day:02d}.csv"
        header = RECEIPT_HEADER if day % 3 else list(reversed(RECEIPT_HEADER))
        rows = day_rows(f"2024-01-{day:02d}", day * 7 % 5)  # days 5 and 10: header only
        if not day % 3:
            rows = [list(reversed(row)) for row in rows]
        write_csv(folder / name, header, rows)
        expected[str(folder / name)] = len(rows)
    bad = folder / "receipts_2024-01-06b.csv"
    bad.write_bytes(b"receipt_id,store_id,register_id,receipt_ts,total_amount\nA,S1,1,t,1\nB,Caf\xe9,1,t,2\n")
    write_csv(folder / "receipts_2024-01-07b.csv", RECEIPT_HEADER, [])  # header only: 0 rows
    expected[str(folder / "receipts_2024-01-07b.csv")] = 0
    contract, source = contracts[("pos", "receipts")], receipts_source(folder)

    with pytest.raises(SourceError) as caught:
        extract_table(warehouse, contract, source, "b1", LOADED_AT)

    [error] = caught.value.result.errors
    assert str(bad) in error and "Line: 3" in error
    result = caught.value.result
    assert result.files_loaded == sorted(expected) and result.rows_loaded == sum(expected.values())
    per_file = dict(warehouse.execute("select file_path, rows_loaded from raw._loaded_files").fetchall())
    assert per_file == expected
    in_raw = dict(warehouse.execute("select _source, count(*) from raw.pos__receipts group by 1").fetchall())
    assert in_raw == {path: rows for path, rows in expected.items() if rows}
    # _source_row is the data row number within each file (the receipt id ends in its index from 0).
    assert (
        warehouse.execute(
            "select count(*) from raw.pos__receipts where split_part(receipt_id, '-', 4)::int + 1 <> _source_row"
        ).fetchone()[0]
        == 0
    )
    assert warehouse.execute("select min(_source_row) from raw.pos__receipts").fetchone()[0] == 1
    assert state_is_consistent(warehouse, "pos", "receipts")

    with pytest.raises(SourceError) as again:  # only the bad file is tried again
        extract_table(warehouse, contract, source, "b2", LOADED_AT)
    assert again.value.result.rows_loaded == 0 and again.value.result.files_skipped == len(expected)


def test_big_drops_in_one_chunk_keep_each_files_row_numbers(warehouse, contracts, tmp_path):
    # Big enough for DuckDB to read with several threads: each file's rows keep their order.
    folder = tmp_path / "big"
    folder.mkdir()
    sizes = [150_000, 3, 120_000]
    for number, size in enumerate(sizes):
        duckdb.execute(
            f"""copy (select 'R{number}-' || i as receipt_id, 'S' || (i % 7) as store_id,
                             '2024-01-01 10:00:00' as receipt_ts, (i + 1)::varchar as total_amount
                      from range({size}) t(i)) to '{folder / f"receipts_{number}.csv"}' (header)"""
        )
    result = extract_table(
        warehouse, contracts[("pos", "receipts")], receipts_source(folder), "b1", LOADED_AT
    )

    assert result.rows_loaded == sum(sizes)
    assert (
        warehouse.execute(
            "select count(*) from raw.pos__receipts where total_amount::bigint <> _source_row"
        ).fetchone()[0]
        == 0
    )
    assert warehouse.execute(
        "select file_path, rows_loaded from raw._loaded_files order by 1"
    ).fetchall() == [(str(folder / f"receipts_{n}.csv"), size) for n, size in enumerate(sizes)]
    assert state_is_consistent(warehouse, "pos", "receipts")


def test_many_jsonl_drops_land_in_bulk_with_row_numbers(warehouse, contracts, tmp_path):
    folder = tmp_path / "web"
    folder.mkdir()
    for day in range(1, 6):
        lines = [
            f'{{"event_id": "e{day}-{i}", "event_ts": "t", "cookie_id": "c", "session_id": "s",'
            f' "event_type": "x", "page_url": "{i + 1}"}}'
            for i in range(day * 2)
        ]
        (folder / f"events_2024-01-0{day}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "events_2024-01-03.jsonl").write_text(
        '{"event_id": "bad", "event_ts": "t", "cookie_id": "c", "session_id": "s", "event_type": "x"}\n{"x": \n',
        encoding="utf-8",
    )
    source = TableSource("web", "events", "files", path=str(folder / "*.jsonl"), format="jsonl")
    with pytest.raises(SourceError, match=r"events_2024-01-03\.jsonl: line 2: malformed JSON"):
        extract_table(warehouse, contracts[("web", "events")], source, "b1", LOADED_AT)

    assert warehouse.execute(
        "select count(*), count(*) filter (where page_url::int <> _source_row) from raw.web__events"
    ).fetchone() == (2 + 4 + 8 + 10, 0)
    assert state_is_consistent(warehouse, "web", "events")
