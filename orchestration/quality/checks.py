"""Validation outcomes as Dagster asset checks and metadata: what failed, how many rows, examples."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from orchestration.ingest.contract import TableContract
from orchestration.ingest.extract import LoadResult, last_drop_loaded_at, missing_drop_message
from orchestration.ingest.sources_config import TableSource
from orchestration.quality.gx_context import SuiteOutcome, data_docs_index
from orchestration.quality.loads import loads_suite_name
from orchestration.quality.quarantine import RowValidation, suite_settings

ROWS_CHECK = "rows"
LOADS_CHECK = "loads"


def _cell(value: Any) -> str:
    text = "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")[:120]


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def data_docs_metadata(data_dir: Path) -> dict[str, dg.MetadataValue]:
    return {"data_docs": dg.MetadataValue.path(str(data_docs_index(data_dir)))}


def row_validation_metadata(validation: RowValidation, data_dir: Path) -> dict[str, Any]:
    """Asset metadata: rows checked and quarantined, per rule."""
    metadata: dict[str, Any] = {
        "rows_validated": dg.MetadataValue.int(validation.rows_checked),
        "rows_quarantined": dg.MetadataValue.int(validation.rows_quarantined),
        "quarantine_table": f"quarantine.{validation.table}",
    }
    for rule, count in sorted(validation.quarantined_per_rule.items()):
        metadata[f"quarantined/{rule}"] = dg.MetadataValue.int(count)
    for rule, count in sorted(validation.warnings_per_rule.items()):
        metadata[f"warned/{rule}"] = dg.MetadataValue.int(count)
    if validation.validation_results:
        metadata["validation_result"] = dg.MetadataValue.path(str(validation.validation_results[-1]))
    return metadata


def row_check_result(key: dg.AssetKey, validation: RowValidation, data_dir: Path) -> dg.AssetCheckResult:
    """Passed: every row met every rule. Warn: rows were quarantined or warned about (valid rows flow
    on). Error (blocks): an expectation could not be evaluated, so the rows were not really checked."""
    failures = sorted(validation.failures, key=lambda f: (f.severity != "critical", f.rule))
    rows = [
        [
            f.rule,
            f.severity,
            f.column,
            f.unexpected_count,
            "quarantined" if f.severity == "critical" else "flow on",
            f.exception or f.description,
        ]
        for f in failures
    ]
    samples = [
        [f.rule, *(sample.get(key) for key in ("_source", "_source_row")), _sample_value(sample, f.column)]
        for f in failures
        for sample in f.sample_rows[:3]
    ]
    metadata: dict[str, Any] = {
        **row_validation_metadata(validation, data_dir),
        **data_docs_metadata(data_dir),
    }
    if rows:
        metadata["failed_expectations"] = dg.MetadataValue.md(
            markdown_table(["rule", "severity", "column", "rows", "rows are", "expected"], rows)
        )
    if samples:
        metadata["sample_rows"] = dg.MetadataValue.md(
            markdown_table(["rule", "file / source", "row", "value"], samples)
        )
    severity = dg.AssetCheckSeverity.ERROR if validation.errors else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=ROWS_CHECK,
        passed=not failures,
        severity=severity,
        metadata=metadata,
        description=None
        if not failures
        else f"{validation.rows_quarantined} of {validation.rows_checked} row(s) quarantined",
    )


def _sample_value(sample: dict[str, Any], column: str | None) -> Any:
    if column and column in sample:
        return sample[column]
    return next((v for k, v in sample.items() if k not in ("_batch_id", "_source", "_source_row")), None)


def delivery_check_result(
    key: dg.AssetKey, outcome: SuiteOutcome, frame: pd.DataFrame, data_dir: Path
) -> dg.AssetCheckResult:
    """Error (blocks): a critical delivery rule failed (volume, share quarantined). Warn: freshness,
    schema drift."""
    failed = outcome.failed()
    critical = outcome.failed("critical")
    rows = [
        [
            o.rule,
            o.severity,
            o.unexpected_count,
            ", ".join(str(r.get("_source")) for r in o.unexpected_rows[:3]),
            o.exception or o.description,
        ]
        for o in failed
    ]
    shown = frame.head(20)
    deliveries = markdown_table(
        ["source", "rows", "recent median", "min expected", "quarantined share"],
        [
            [
                r["_source"],
                r["rows"],
                r["recent_median_rows"],
                r["min_expected_rows"],
                _share(r["quarantined_share"]),
            ]
            for _, r in shown.iterrows()
        ],
    )
    metadata: dict[str, Any] = {"deliveries": dg.MetadataValue.md(deliveries), **data_docs_metadata(data_dir)}
    if outcome.validation_result_path:
        metadata["validation_result"] = dg.MetadataValue.path(str(outcome.validation_result_path))
    if rows:
        metadata["failed_expectations"] = dg.MetadataValue.md(
            markdown_table(["rule", "severity", "deliveries", "examples", "expected"], rows)
        )
    first = frame.iloc[0] if len(frame) else None
    if first is not None:
        for name in ("latest_event_time", "stale_before", "unexpected_columns", "absent_columns"):
            if first[name] is not None and not pd.isna(first[name]):
                metadata[name] = str(first[name])
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=LOADS_CHECK,
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if critical else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description=None if not failed else "; ".join(f"{o.rule}: {o.description}" for o in failed),
    )


def _share(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):.1%}"


def missing_drop_error(
    conn: duckdb.DuckDBPyConnection,
    contract: TableContract,
    source: TableSource | None,
    result: LoadResult,
    now: dt.datetime | None = None,
) -> str | None:
    """A daily file source that brought no new drop while its last one is too old (`loads` suite
    meta `max_hours_between_drops`)."""
    if result.files_loaded or source is None or source.kind != "files":
        return None
    max_hours = suite_settings(loads_suite_name(contract)).get("max_hours_between_drops")
    if not max_hours:
        return None
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return missing_drop_message(contract, source, last_drop_loaded_at(conn, contract), now, float(max_hours))
