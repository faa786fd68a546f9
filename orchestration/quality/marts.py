"""Great Expectations on the published marts: build each suite's frame in DuckDB, run it, report it.

A mart suite is `expectations/suites/<schema>/<table>.json`, named after the dbt relation it checks
(`bi.customer_360`, `marts.customer_360`). Its `meta.klantbeeld` says how the frame is built, so
validation scales with the warehouse (1,000,000 people, tens of millions of touchpoints):

- `{"relation": ..., "columns": [...], "index_columns": [...]}`: only those columns are loaded, one
  row per relation row. For customer-grain relations (up to a few million rows). `index_columns`
  identify a failing row in the sample rows.
- `{"relation": ..., "aggregates": {name: sql}, "failing_rows": {name: {"where": ..., "columns": [...]}}}`:
  one row of SQL aggregates computed by DuckDB, for fact tables; the expectations test those
  aggregate columns. When an expectation on aggregate `name` fails, `failing_rows[name]` selects a
  sample of the rows behind it (the relation's rows matching `where`, showing `columns`).

Either may add `"parameters": {name: scalar sql}`: values computed before validation that the
expectations use as `{"$PARAMETER": name}` (the row count of `identity.dim_customer`, today's date).

Every expectation has GX's `severity` (critical: blocks the publication; warning: recorded) and
`description`, and `meta.rule`, its short name (orchestration/stages/quality/mart_checks.py). The
files are in the form GX saves (`canonical_suite_json`), so a run leaves them unchanged.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from orchestration.paths import EXPECTATIONS_DIR
from orchestration.quality.gx_context import UNEXPECTED_SAMPLE_ROWS, SuiteOutcome, run_suite

SUITES_DIR = EXPECTATIONS_DIR / "suites"
MAX_CELL_CHARS = 120  # keeps the markdown tables readable in the Dagster UI
MARKDOWN_METADATA = frozenset({"failed_expectations", "failing_rows"})  # check_metadata's markdown values


class MartSuiteError(ValueError):
    """A mart suite whose `meta.klantbeeld` cannot build a frame."""


def suite_path(suite_name: str) -> Path:
    """`bi.customer_360` -> `expectations/suites/bi/customer_360.json`."""
    return SUITES_DIR.joinpath(*suite_name.split(".")).with_suffix(".json")


def load_suite(suite_name: str) -> dict[str, Any]:
    """The suite's JSON as GX stores it."""
    return json.loads(suite_path(suite_name).read_text(encoding="utf-8"))


def suite_frame_spec(suite_name: str) -> dict[str, Any]:
    """The suite's `meta.klantbeeld`: the relation and how to build its frame."""
    spec = load_suite(suite_name).get("meta", {}).get("klantbeeld")
    if not spec or "relation" not in spec:
        raise MartSuiteError(f"{suite_path(suite_name)}: meta.klantbeeld.relation is missing")
    return spec


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_relation(relation: str) -> str:
    """`bi.customer_360` -> `"bi"."customer_360"`."""
    return ".".join(quote_identifier(part) for part in relation.split("."))


def frame_sql(suite_meta: Mapping[str, Any]) -> str:
    """The one SELECT that builds a suite's frame: listed columns, or one row of aggregates."""
    relation = quote_relation(suite_meta["relation"])
    columns: Sequence[str] = suite_meta.get("columns") or ()
    aggregates: Mapping[str, str] = suite_meta.get("aggregates") or {}
    if bool(columns) == bool(aggregates):
        raise MartSuiteError(
            f"{suite_meta['relation']}: meta.klantbeeld needs either `columns` or `aggregates` (not both)"
        )
    if columns:
        selected = [quote_identifier(column) for column in columns]
    else:
        # The expressions are SQL from the suite file (version-controlled), the names are quoted.
        selected = [f"{expression} as {quote_identifier(name)}" for name, expression in aggregates.items()]
    return f"select {', '.join(selected)} from {relation}"


def mart_frame(conn: duckdb.DuckDBPyConnection, suite_meta: Mapping[str, Any]) -> pd.DataFrame:
    """The frame a mart suite validates, computed by DuckDB (never a `select *` of a fact table)."""
    return conn.execute(frame_sql(suite_meta)).df()


def validate_mart(
    conn: duckdb.DuckDBPyConnection, data_dir: Path, suite_name: str, run_name: str | None = None
) -> SuiteOutcome:
    """Build the suite's frame from the warehouse, validate it, and attach sample failing rows."""
    suite_meta = suite_frame_spec(suite_name)
    frame = mart_frame(conn, suite_meta)
    outcome = run_suite(
        data_dir,
        suite_name,
        frame,
        parameters=suite_parameters(conn, suite_meta),
        index_columns=suite_meta.get("index_columns") or (),
        run_name=run_name,
    )
    failing_rows: Mapping[str, Mapping[str, Any]] = suite_meta.get("failing_rows") or {}
    for failed in outcome.failed():
        sample = failing_rows.get(failed.column or "")
        if sample and not failed.unexpected_rows:
            try:
                failed.unexpected_rows = sample_rows(conn, suite_meta["relation"], sample)
            except duckdb.Error as error:  # the validation stands; only its example rows are missing
                failed.unexpected_rows = [
                    {"sample_error": f"{suite_path(suite_name)}: failing_rows.{failed.column}: {error}"}
                ]
    return outcome


def suite_parameters(conn: duckdb.DuckDBPyConnection, suite_meta: Mapping[str, Any]) -> dict[str, Any]:
    """The suite's `{"$PARAMETER": name}` values, each one scalar query."""
    parameters: dict[str, Any] = {}
    for name, query in (suite_meta.get("parameters") or {}).items():
        row = conn.execute(query).fetchone()
        value = row[0] if row else None
        # the frame holds dates as pandas timestamps, which do not compare with datetime.date
        parameters[name] = pd.Timestamp(value) if isinstance(value, datetime.date) else value
    return parameters


def sample_rows(
    conn: duckdb.DuckDBPyConnection, relation: str, sample: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Up to UNEXPECTED_SAMPLE_ROWS rows of `relation` matching the sample's `where`."""
    columns = ", ".join(quote_identifier(column) for column in sample["columns"])
    query = (
        f"select {columns} from {quote_relation(relation)} where {sample['where']} "
        f"order by {columns} limit {UNEXPECTED_SAMPLE_ROWS}"
    )
    cursor = conn.execute(query)
    names = [description[0] for description in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def expected_by_rule(suite_name: str) -> dict[str, str]:
    """What each expectation of the suite asks, in short (`min_value=0, max_value=1`), by rule."""
    expected: dict[str, str] = {}
    for expectation in load_suite(suite_name).get("expectations", []):
        kwargs = expectation.get("kwargs", {})
        # the same fallback name as gx_context gives an expectation without meta.rule
        default_rule = f"{expectation['type']}({kwargs.get('column', '')})"
        rule = (expectation.get("meta") or {}).get("rule") or default_rule
        shown = {
            # GX saves a row condition as {"pass_through_filter": "<pandas condition>", ...}
            key: value.get("pass_through_filter", value) if isinstance(value, Mapping) else value
            for key, value in kwargs.items()
            if key not in ("column", "condition_parser", "result_format") and value is not None
        }
        expected[rule] = ", ".join(f"{key}={value}" for key, value in shown.items())
    return expected


def check_metadata(outcome: SuiteOutcome) -> dict[str, Any]:
    """What an asset check shows: counts, a markdown table of failed expectations and of sample
    failing rows, the stored validation result. Plain values: markdown (keys in MARKDOWN_METADATA) as
    `str`, paths as `Path`, counts as `int`."""
    critical = outcome.failed("critical")
    warnings = outcome.failed("warning")
    metadata: dict[str, Any] = {
        "suite": str(suite_path(outcome.suite).relative_to(EXPECTATIONS_DIR.parent)),
        "rows_validated": outcome.rows,
        "expectations": len(outcome.outcomes),
        "failed_critical": len(critical),
        "failed_warning": len(warnings),
    }
    if critical or warnings:
        metadata["failed_expectations"] = failed_expectations_markdown(outcome)
        samples = failing_rows_markdown(outcome)
        if samples:
            metadata["failing_rows"] = samples
    if outcome.validation_result_path is not None:
        metadata["validation_result"] = outcome.validation_result_path
    return metadata


def failed_expectations_markdown(outcome: SuiteOutcome) -> str:
    expected = expected_by_rule(outcome.suite)
    rows = []
    for failed in sorted(outcome.failed(), key=lambda o: (o.severity != "critical", o.rule)):
        unexpected = "" if failed.unexpected_count is None else f"{failed.unexpected_count:,}"
        if failed.unexpected_count is not None and failed.element_count:
            unexpected += f" of {failed.element_count:,}"
        rows.append(
            [
                failed.rule,
                failed.severity,
                failed.column,
                expected.get(failed.rule),
                failed.exception or failed.observed_value,
                unexpected,
                failed.description,
            ]
        )
    header = ["rule", "severity", "column", "expected", "observed", "unexpected rows", "description"]
    return _markdown_table(header, rows)


def failing_rows_markdown(outcome: SuiteOutcome) -> str:
    """One small table of sample rows per failed expectation that has them, the row's identity
    (`index_columns`) first."""
    index_columns = suite_frame_spec(outcome.suite).get("index_columns") or []
    sections: list[str] = []
    for failed in outcome.failed():
        if not failed.unexpected_rows:
            continue
        seen = [key for row in failed.unexpected_rows for key in row]
        columns = [c for c in dict.fromkeys([*index_columns, *seen]) if c in seen]
        table = _markdown_table(columns, [[row.get(c) for c in columns] for row in failed.unexpected_rows])
        sections.append(f"**{failed.rule}** ({failed.severity}, `{failed.column}`)\n\n{table}")
    return "\n\n".join(sections)


def _markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"
