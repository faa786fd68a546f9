"""The quality of deliveries: volume against recent history, share quarantined, freshness, new columns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb
import pandas as pd
import pytest

from orchestration.ingest.extract import LoadResult
from orchestration.quality.loads import FRAME_COLUMNS, delivery_frame, validate_deliveries
from orchestration.quality.quarantine import RowValidation

FIRST_DROP_AT = dt.datetime(2024, 2, 1, 2, 0)
REFERENCE_TIME = dt.datetime(2024, 3, 1, 6, 0)


def record_history(conn: duckdb.DuckDBPyConnection, rows_per_drop: Sequence[int]) -> None:
    """Earlier daily drops of pos.receipts in `raw._loaded_files`, oldest first, one batch each."""
    for day, rows in enumerate(rows_per_drop):
        loaded_at = FIRST_DROP_AT + dt.timedelta(days=day)
        record_file(conn, f"/drops/receipts_{day:03d}.csv", rows, f"history-{day}", loaded_at)


def record_file(
    conn: duckdb.DuckDBPyConnection, path: str, rows: int, batch_id: str, loaded_at: dt.datetime
) -> None:
    conn.execute(
        "insert into raw._loaded_files values ('pos', 'receipts', ?, 100, ?, ?, ?, ?)",
        [path, loaded_at, rows, batch_id, loaded_at],
    )


def todays_load(
    conn: duckdb.DuckDBPyConnection, files: dict[str, int], unexpected_columns: Sequence[str] = ()
) -> LoadResult:
    """The load of this run (batch `today`): its files recorded as extraction records them."""
    loaded_at = REFERENCE_TIME - dt.timedelta(hours=4)
    for path, rows in files.items():
        record_file(conn, path, rows, "today", loaded_at)
    return LoadResult(
        "pos",
        "receipts",
        "today",
        configured=True,
        rows_loaded=sum(files.values()),
        files_loaded=list(files),
        source_description="/drops/receipts_*.csv",
        unexpected_columns=list(unexpected_columns),
    )


def nothing_quarantined() -> RowValidation:
    return RowValidation("pos__receipts", ["today"])


# ------------------------------------------------------------------------------------------------ volume


def test_min_expected_rows_is_a_tenth_of_the_recent_median_rounded_up(warehouse, receipts_contract):
    record_history(warehouse, [100, 105, 110, 95, 105, 120, 105])

    frame = delivery_frame(
        warehouse,
        receipts_contract,
        todays_load(warehouse, {"/drops/receipts_today.csv": 90}),
        nothing_quarantined(),
        REFERENCE_TIME,
    )

    assert list(frame.columns) == FRAME_COLUMNS
    row = frame.iloc[0]
    assert (row["_source"], row["rows"]) == ("/drops/receipts_today.csv", 90)
    assert (row["recent_median_rows"], row["history_deliveries"], row["min_expected_rows"]) == (105.0, 7, 11)


@pytest.mark.parametrize(
    ("history", "minimum"),
    [
        ([100] * 6, None),  # too few deliveries to judge
        ([19] * 7, None),  # too small to judge: a few rows more or less is no signal
        ([20] * 7, 2),
        ([100] * 7, 10),
    ],
    ids=["6 deliveries", "median 19", "median 20", "median 100"],
)
def test_volume_is_judged_only_with_enough_history(warehouse, receipts_contract, history, minimum):
    record_history(warehouse, history)

    frame = delivery_frame(
        warehouse,
        receipts_contract,
        todays_load(warehouse, {"/drops/receipts_today.csv": 1}),
        nothing_quarantined(),
        REFERENCE_TIME,
    )

    value = frame.iloc[0]["min_expected_rows"]
    assert (None if pd.isna(value) else int(value)) == minimum
    assert frame.iloc[0]["history_deliveries"] == len(history)


def test_history_is_the_28_most_recent_earlier_deliveries(warehouse, receipts_contract):
    # the two oldest would move the median to 200 if they counted; today's drop never counts
    record_history(warehouse, [1000, 1000, *([100] * 14), *([200] * 14)])

    frame = delivery_frame(
        warehouse,
        receipts_contract,
        todays_load(warehouse, {"/drops/receipts_today.csv": 5000}),
        nothing_quarantined(),
        REFERENCE_TIME,
    )

    assert (frame.iloc[0]["history_deliveries"], frame.iloc[0]["recent_median_rows"]) == (28, 150.0)


def test_a_delivery_far_below_the_median_fails_volume_drop(warehouse, receipts_contract, quality_data_dir):
    record_history(warehouse, [100] * 7)
    load = todays_load(warehouse, {"/drops/receipts_a.csv": 5, "/drops/receipts_b.csv": 10})

    outcome, frame = validate_deliveries(
        warehouse, quality_data_dir, receipts_contract, load, nothing_quarantined(), REFERENCE_TIME
    )

    assert list(frame["_source"]) == ["/drops/receipts_a.csv", "/drops/receipts_b.csv"]
    (failed,) = outcome.failed("critical")
    assert failed.rule == "volume_drop" and failed.unexpected_count == 1
    assert [row["_source"] for row in failed.unexpected_rows] == ["/drops/receipts_a.csv"]


def test_a_database_read_is_one_delivery_and_the_first_full_read_is_no_history(
    warehouse, contracts, quality_data_dir
):
    customers = contracts[("crm", "customers")]
    reads = [50_000, *([40] * 7)]  # the first read brings the whole table, later reads the changes
    for day, rows in enumerate(reads):
        started = FIRST_DROP_AT + dt.timedelta(days=day)
        warehouse.execute(
            "insert into raw._load_batches values (?, 'crm', 'customers', ?, ?, ?, 0, null, null, null)",
            [f"history-{day}", started, started + dt.timedelta(minutes=1), rows],
        )
    load = LoadResult(
        "crm",
        "customers",
        "today",
        configured=True,
        rows_loaded=3,
        source_description="sqlite:///crm.db#customers",
    )

    outcome, frame = validate_deliveries(
        warehouse,
        quality_data_dir,
        customers,
        load,
        RowValidation("crm__customers", ["today"]),
        REFERENCE_TIME,
    )

    row = frame.iloc[0]
    assert (row["_source"], row["rows"], row["history_deliveries"], row["min_expected_rows"]) == (
        "sqlite:///crm.db#customers",
        3,
        7,
        4,
    )
    assert [failed.rule for failed in outcome.failed()] == ["volume_drop"]


# ----------------------------------------------------------------------------------- share quarantined


def test_share_quarantined_is_judged_from_100_rows(warehouse, receipts_contract, quality_data_dir):
    files = {"/drops/small.csv": 99, "/drops/broken.csv": 100, "/drops/fine.csv": 100}
    load = todays_load(warehouse, files)
    validation = RowValidation(
        "pos__receipts",
        ["today"],
        quarantined_by_source={"/drops/small.csv": 10, "/drops/broken.csv": 10, "/drops/fine.csv": 5},
    )

    outcome, frame = validate_deliveries(
        warehouse, quality_data_dir, receipts_contract, load, validation, REFERENCE_TIME
    )

    shares = dict(zip(frame["_source"], frame["quarantined_share"], strict=True))
    assert pd.isna(shares["/drops/small.csv"])
    assert (shares["/drops/broken.csv"], shares["/drops/fine.csv"]) == (0.1, 0.05)
    (failed,) = outcome.failed("critical")
    assert failed.rule == "too_many_rows_quarantined"
    assert [row["_source"] for row in failed.unexpected_rows] == ["/drops/broken.csv"]


# ------------------------------------------------------------------------------------ freshness, schema


def land_receipt_times(conn: duckdb.DuckDBPyConnection, batch_id: str, times: Sequence[str]) -> None:
    for number, text in enumerate(times, start=1):
        conn.execute(
            """insert into raw.pos__receipts (receipt_id, receipt_ts, _batch_id, _source, _source_row)
               values (?, ?, ?, '/drops/receipts_today.csv', ?)""",
            [f"R{batch_id}{number}", text, batch_id, number],
        )


@pytest.mark.parametrize(
    ("newest_event", "stale"),
    [("2024-02-28 05:59:00", True), ("2024-02-28 06:00:00", False), ("2024-02-29 23:00:00", False)],
)
def test_stale_warns_when_the_newest_event_is_older_than_the_freshness_hours(
    warehouse, receipts_contract, quality_data_dir, newest_event, stale
):
    land_receipt_times(warehouse, "today", ["2024-02-20 10:00:00", newest_event, "not a time"])
    load = todays_load(warehouse, {"/drops/receipts_today.csv": 3})

    outcome, frame = validate_deliveries(
        warehouse, quality_data_dir, receipts_contract, load, nothing_quarantined(), REFERENCE_TIME
    )

    row = frame.iloc[0]
    assert row["latest_event_time"] == pd.Timestamp(newest_event)
    assert row["stale_before"] == pd.Timestamp("2024-02-28 06:00:00")  # 48 h before the reference time
    assert [(o.rule, o.severity) for o in outcome.failed()] == ([("stale", "warning")] if stale else [])


def test_newest_event_falls_back_to_the_table_when_the_load_brought_no_rows(warehouse, receipts_contract):
    land_receipt_times(warehouse, "yesterday", ["2024-02-29 08:00:00", "2024-02-29 09:30:00"])

    frame = delivery_frame(
        warehouse,
        receipts_contract,
        todays_load(warehouse, {"/drops/receipts_empty.csv": 0}),
        nothing_quarantined(),
        REFERENCE_TIME,
    )

    assert frame.iloc[0]["latest_event_time"] == pd.Timestamp("2024-02-29 09:30:00")


def test_columns_the_contract_does_not_know_are_a_warning(warehouse, receipts_contract, quality_data_dir):
    load = todays_load(
        warehouse, {"/drops/receipts_today.csv": 3}, unexpected_columns=["till_operator", "vat"]
    )

    outcome, frame = validate_deliveries(
        warehouse, quality_data_dir, receipts_contract, load, nothing_quarantined(), REFERENCE_TIME
    )

    assert frame.iloc[0]["unexpected_columns"] == "till_operator, vat"
    assert [(o.rule, o.severity) for o in outcome.failed()] == [("new_columns", "warning")]
    assert outcome.failed("critical") == []


def test_a_load_without_deliveries_gives_one_row_that_is_not_judged(
    warehouse, receipts_contract, quality_data_dir
):
    record_history(warehouse, [100] * 7)
    load = LoadResult("pos", "receipts", "today", configured=True, source_description="/drops/receipts_*.csv")

    outcome, frame = validate_deliveries(
        warehouse, quality_data_dir, receipts_contract, load, nothing_quarantined(), REFERENCE_TIME
    )

    assert len(frame) == 1 and frame.iloc[0]["_source"] is None and pd.isna(frame.iloc[0]["rows"])
    assert outcome.success


def test_a_bursty_source_is_not_judged_on_volume():
    """A suite with `volume_min_share: null` (campaign exposures) sets no minimum, whatever the history."""
    from orchestration.quality import loads

    assert loads.minimum_expected_rows({"volume_min_share": None}, [100] * 30) is None
    assert loads.minimum_expected_rows({"volume_min_share": 0.1}, [100] * 30) == 10
