"""Quality of the deliveries themselves: volume, freshness, schema drift, share quarantined.

The `loads.<table>` suite validates a frame with one row per delivery of this run (a file drop,
or the read of a database table), next to what recent deliveries brought:

| column | meaning |
|---|---|
| `_source`, `rows` | the file (or database table) and the rows it brought |
| `recent_median_rows`, `history_deliveries` | median rows of the previous deliveries, and how many |
| `min_expected_rows` | `volume_min_share` x that median, once there is enough history (else empty: not judged) |
| `quarantined_share`, `max_quarantined_share` | rows of the delivery that went to quarantine |
| `unexpected_columns`, `absent_columns` | source columns the contract does not know; optional contract columns missing |
| `latest_event_time`, `stale_before` | newest event time in the load (or the table), and reference time - freshness hours |
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from orchestration.ingest.contract import RAW_SCHEMA, TableContract
from orchestration.ingest.extract import LoadResult
from orchestration.quality.gx_context import SuiteOutcome, run_suite
from orchestration.quality.quarantine import RowValidation, quarantine_table, suite_settings
from orchestration.quality.raw_batch import q, typed_expression

FRAME_COLUMNS = [
    "_source",
    "rows",
    "recent_median_rows",
    "history_deliveries",
    "min_expected_rows",
    "quarantined_share",
    "max_quarantined_share",
    "unexpected_columns",
    "absent_columns",
    "latest_event_time",
    "stale_before",
]


def loads_suite_name(contract: TableContract) -> str:
    return f"loads.{contract.raw_table}"


def _deliveries(
    conn: duckdb.DuckDBPyConnection, contract: TableContract, result: LoadResult
) -> list[tuple[str, int]]:
    """(source, rows read) of each delivery of this load."""
    if contract.kind == "database" or not result.files_loaded:
        if result.configured and (result.rows_loaded or contract.kind == "database"):
            return [(result.source_description, result.rows_loaded)]
        return []
    rows = conn.execute(
        f"""select file_path, rows_loaded from {RAW_SCHEMA}."_loaded_files"
            where system = ? and source_table = ? and batch_id = ?""",
        [contract.system, contract.name, result.batch_id],
    ).fetchall()
    return sorted(rows)


def _history(
    conn: duckdb.DuckDBPyConnection, contract: TableContract, batch_id: str, limit: int
) -> list[int]:
    """Rows of the most recent earlier deliveries (files; or database reads after the first)."""
    if contract.kind == "database":
        sql = f"""select rows_loaded from {RAW_SCHEMA}."_load_batches"
            where system = ? and source_table = ? and batch_id <> ? and finished_at is not null
              and started_at > (select min(started_at) from {RAW_SCHEMA}."_load_batches"
                                where system = ? and source_table = ?)
            order by started_at desc limit {int(limit)}"""
        params = [contract.system, contract.name, batch_id, contract.system, contract.name]
    else:
        sql = f"""select rows_loaded from {RAW_SCHEMA}."_loaded_files"
            where system = ? and source_table = ? and batch_id <> ?
            order by loaded_at desc, file_path desc limit {int(limit)}"""
        params = [contract.system, contract.name, batch_id]
    return [row[0] for row in conn.execute(sql, params).fetchall()]


def _latest_event_time(
    conn: duckdb.DuckDBPyConnection, contract: TableContract, batch_id: str
) -> pd.Timestamp | None:
    """Newest event time among the rows of this load that passed; of the whole table if none."""
    if not contract.event_time:
        return None
    column = next(c for c in contract.columns if c.name == contract.event_time)
    expression = typed_expression(column, q(column.name))
    table = f'{RAW_SCHEMA}."{contract.raw_table}"'
    latest = conn.execute(
        f"select max({expression}) from {table} where _batch_id = ?", [batch_id]
    ).fetchone()[0]
    if latest is None:
        latest = conn.execute(f"select max({expression}) from {table}").fetchone()[0]
    return pd.Timestamp(latest) if latest is not None else None


def minimum_expected_rows(settings: dict[str, Any], history: list[int]) -> int | None:
    """`volume_min_share` x the median of the recent deliveries, once the history is long and large
    enough; None (not judged) otherwise, and for a bursty source (`volume_min_share: null`)."""
    share = settings.get("volume_min_share", 0.1)
    if share is None or not history:
        return None
    median = float(pd.Series(history).median())
    if len(history) < int(settings.get("volume_min_history", 7)) or median < float(
        settings.get("volume_min_median_rows", 20)
    ):
        return None
    return math.ceil(float(share) * median) or None


def delivery_frame(
    conn: duckdb.DuckDBPyConnection,
    contract: TableContract,
    result: LoadResult,
    validation: RowValidation,
    reference_time: dt.datetime,
) -> pd.DataFrame:
    settings = suite_settings(loads_suite_name(contract))
    history = _history(conn, contract, result.batch_id, int(settings.get("volume_history_deliveries", 28)))
    median = float(pd.Series(history).median()) if history else None
    minimum = minimum_expected_rows(settings, history)
    freshness_hours = settings.get("freshness_hours")
    latest = _latest_event_time(conn, contract, result.batch_id) if freshness_hours else None
    stale_before = (
        pd.Timestamp(reference_time - dt.timedelta(hours=float(freshness_hours))) if freshness_hours else None
    )
    common: dict[str, Any] = {
        "recent_median_rows": median,
        "history_deliveries": len(history),
        "min_expected_rows": minimum,
        "max_quarantined_share": float(settings.get("max_quarantined_share", 0.05)),
        "unexpected_columns": ", ".join(result.unexpected_columns) or None,
        "absent_columns": ", ".join(getattr(result, "absent_columns", []) or []) or None,
        "latest_event_time": latest,
        "stale_before": stale_before,
    }
    min_rows_for_share = int(settings.get("quarantined_share_min_rows", 100))
    rows = []
    for source, count in _deliveries(conn, contract, result) or [(None, None)]:
        quarantined = validation.quarantined_by_source.get(source, 0) if source else 0
        rows.append(
            {
                "_source": source,
                "rows": count,
                **common,
                # small deliveries are not judged: one bad row in 20 is not a broken file
                "quarantined_share": (quarantined / count) if count and count >= min_rows_for_share else None,
            }
        )
    frame = pd.DataFrame(rows, columns=FRAME_COLUMNS)
    for name in ("latest_event_time", "stale_before"):
        frame[name] = pd.to_datetime(frame[name]).astype("datetime64[ns]")
    return frame


def validate_deliveries(
    conn: duckdb.DuckDBPyConnection,
    data_dir: Path,
    contract: TableContract,
    result: LoadResult,
    validation: RowValidation,
    reference_time: dt.datetime,
    run_name: str | None = None,
) -> tuple[SuiteOutcome, pd.DataFrame]:
    frame = delivery_frame(conn, contract, result, validation, reference_time)
    # one row per delivery, so complete results are small; GX names failing rows only in those
    outcome = run_suite(
        data_dir,
        loads_suite_name(contract),
        frame,
        index_columns=["_source"],
        run_name=run_name,
        complete=True,
    )
    return outcome, frame


def quarantined_rows(conn: duckdb.DuckDBPyConnection, contract: TableContract, batch_ids: list[str]) -> int:
    if not batch_ids:
        return 0
    placeholders = ", ".join("?" for _ in batch_ids)
    return conn.execute(
        f"select count(*) from {quarantine_table(contract)} where _batch_id in ({placeholders})", batch_ids
    ).fetchone()[0]
