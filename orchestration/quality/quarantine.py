"""Row-level quality of raw loads: validate the rows of each load, quarantine the ones that fail.

A load lands in `raw` first (exactly once, as sent). Then the rows of every load of the table that
was not validated yet go through the table's `raw.<table>` suite; rows that fail a critical
expectation move, in one transaction, from `raw."<table>"` to `quarantine."<table>"` with the rules
they broke and why; warnings are counted and the rows stay. So for every load:
rows read from the source = rows in raw + rows in quarantine (released rows are back in raw).

After a fix (of the suite, or of the row: update its columns in the quarantine table),
`reprocess` validates the quarantined rows again and releases those that pass into raw under their
original load, so they flow into staging on the next build.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from orchestration.ingest.contract import RAW_SCHEMA, TableContract
from orchestration.quality.gx_context import ExpectationOutcome, run_suite
from orchestration.quality.raw_batch import (
    DUPLICATE_COLUMN,
    LINEAGE_COLUMNS,
    RAW_SUFFIX,
    frame_chunks,
    frame_select,
    q,
    raw_rows_sql,
)
from orchestration.quality.raw_suites import suite_path

QUARANTINE_SCHEMA = "quarantine"
ROW_KEY = list(LINEAGE_COLUMNS)  # (_batch_id, _source, _source_row) identifies a raw row
SAMPLE_ROWS = 10


def row_suite_name(contract: TableContract) -> str:
    return f"raw.{contract.raw_table}"


def suite_settings(suite_name: str) -> dict[str, Any]:
    """The `meta.klantbeeld` block of a suite file (frame settings and thresholds)."""
    document = json.loads(suite_path(suite_name).read_text(encoding="utf-8"))
    return document.get("meta", {}).get("klantbeeld", {})


def quarantine_table(contract: TableContract) -> str:
    return f"{QUARANTINE_SCHEMA}.{q(contract.raw_table)}"


def ensure_quarantine(conn: duckdb.DuckDBPyConnection, contract: TableContract) -> None:
    """The quarantine table of a raw table and the validation state of its loads. Idempotent."""
    conn.execute(f"create schema if not exists {QUARANTINE_SCHEMA}")
    columns = ", ".join(f"{q(name)} varchar" for name in contract.column_names)
    conn.execute(
        f"""create table if not exists {quarantine_table(contract)} ({columns},
            _batch_id varchar, _loaded_at timestamp, _source varchar, _source_row bigint,
            _failed_rules varchar[], _reasons varchar, _quarantined_at timestamp,
            _released_at timestamp, _released_by varchar)"""
    )
    conn.execute(f'alter table {RAW_SCHEMA}."_load_batches" add column if not exists validated_at timestamp')


@dataclass
class RuleFailure:
    """A failed expectation over the rows validated, merged across chunks."""

    rule: str
    severity: str
    column: str | None
    description: str
    unexpected_count: int = 0
    sample_rows: list[dict[str, Any]] = field(default_factory=list)
    exception: str | None = None


@dataclass
class RowValidation:
    """What the row rules did to the loads of one table in one run."""

    table: str
    batches: list[str]
    rows_checked: int = 0
    rows_quarantined: int = 0
    quarantined_by_source: dict[str, int] = field(default_factory=dict)
    failures: list[RuleFailure] = field(default_factory=list)
    validation_results: list[Path] = field(default_factory=list)

    @property
    def quarantined_per_rule(self) -> dict[str, int]:
        return {f.rule: f.unexpected_count for f in self.failures if f.severity == "critical"}

    @property
    def warnings_per_rule(self) -> dict[str, int]:
        return {f.rule: f.unexpected_count for f in self.failures if f.severity != "critical"}

    @property
    def errors(self) -> list[RuleFailure]:
        """Expectations that could not be evaluated (a suite that does not fit the frame)."""
        return [f for f in self.failures if f.exception]


def unvalidated_batches(conn: duckdb.DuckDBPyConnection, contract: TableContract) -> list[str]:
    rows = conn.execute(
        f"""select batch_id from {RAW_SCHEMA}."_load_batches"
            where system = ? and source_table = ? and validated_at is null order by started_at""",
        [contract.system, contract.name],
    ).fetchall()
    return [row[0] for row in rows]


def validate_loads(
    conn: duckdb.DuckDBPyConnection,
    data_dir: Path,
    contract: TableContract,
    load_time: dt.datetime,
    run_name: str | None = None,
) -> RowValidation:
    """Validate every not yet validated load of the table and quarantine the rows that fail."""
    ensure_quarantine(conn, contract)
    batches = unvalidated_batches(conn, contract)
    validation = RowValidation(contract.raw_table, batches)
    if not batches:
        return validation
    number_unnumbered_rows(conn, contract)
    select = frame_select(contract, raw_rows_sql(contract, batches), _text_formats(contract))
    failing = _validate_frames(conn, data_dir, contract, select, load_time, run_name, validation)
    conn.execute("begin transaction")
    try:
        _move_to_quarantine(conn, contract, failing, validation)
        placeholders = ", ".join("?" for _ in batches)
        conn.execute(
            f"""update {RAW_SCHEMA}."_load_batches" set validated_at = ?
                where system = ? and source_table = ? and batch_id in ({placeholders})""",
            [_utc_now(), contract.system, contract.name, *batches],
        )
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return validation


def number_unnumbered_rows(conn: duckdb.DuckDBPyConnection, contract: TableContract) -> None:
    """Give rows without `_source_row` (database rows landed before they were numbered) a number
    within their load and source, so each raw row has its own identity before rows are moved by it."""
    raw = f'{RAW_SCHEMA}."{contract.raw_table}"'
    if not conn.execute(f"select count(*) from {raw} where _source_row is null").fetchone()[0]:
        return
    conn.execute(
        f"""update {raw} as target set _source_row = numbered.row_number
            from (select rowid as row_id,
                         row_number() over (partition by _batch_id, _source order by rowid) as row_number
                  from {raw} where _source_row is null) as numbered
            where target.rowid = numbered.row_id"""
    )


def _text_formats(contract: TableContract) -> dict[str, str]:
    return suite_settings(row_suite_name(contract)).get("text_formats", {})


def suite_parameters(load_time: dt.datetime, contract: TableContract) -> dict[str, Any]:
    tolerance = suite_settings(row_suite_name(contract)).get("future_tolerance_hours", 24)
    return {
        # ISO text: GX parses text bounds for datetime columns (a Timestamp and a date would not compare)
        "latest_allowed_time": (load_time + dt.timedelta(hours=tolerance)).isoformat(sep=" "),
        "load_date": f"{load_time.date().isoformat()} 00:00:00",
    }


def _validate_frames(
    conn: duckdb.DuckDBPyConnection,
    data_dir: Path,
    contract: TableContract,
    select: str,
    load_time: dt.datetime,
    run_name: str | None,
    validation: RowValidation,
) -> pd.DataFrame:
    """Run the row suite over the frame's chunks. Returns the failing rows: key, rule, column, value."""
    parameters = suite_parameters(load_time, contract)
    merged: dict[str, RuleFailure] = {}
    failing: list[dict[str, Any]] = []
    for frame in frame_chunks(conn, select):
        if frame.empty:
            continue
        validation.rows_checked += len(frame)
        outcome = run_suite(
            data_dir,
            row_suite_name(contract),
            frame,
            parameters=parameters,
            index_columns=ROW_KEY,
            run_name=run_name,
            complete=True,
        )
        if outcome.validation_result_path:
            validation.validation_results.append(outcome.validation_result_path)
        for failed in outcome.failed():
            _merge(merged, failed)
            if failed.severity == "critical":
                column = failed.column or ""
                for row in failed.unexpected_rows:
                    failing.append(
                        {
                            **{key: row.get(key) for key in ROW_KEY},
                            "rule": failed.rule,
                            "column": column.removesuffix(RAW_SUFFIX),
                            "detail": row.get(DUPLICATE_COLUMN) if column == DUPLICATE_COLUMN else None,
                        }
                    )
    validation.failures = list(merged.values())
    return pd.DataFrame(failing, columns=[*ROW_KEY, "rule", "column", "detail"])


def _merge(merged: dict[str, RuleFailure], failed: ExpectationOutcome) -> None:
    failure = merged.setdefault(
        failed.rule, RuleFailure(failed.rule, failed.severity, failed.column, failed.description)
    )
    failure.unexpected_count += failed.unexpected_count or 0
    failure.exception = failure.exception or failed.exception
    room = SAMPLE_ROWS - len(failure.sample_rows)
    if room > 0:
        failure.sample_rows.extend(_json_safe(row) for row in failed.unexpected_rows[:room])


def _json_safe(row: dict[str, Any]) -> dict[str, Any]:
    return {key: (None if pd.isna(value) else str(value)) for key, value in row.items()}


def _reason_sql(contract: TableContract, alias: str) -> str:
    """`<rule> (<column> = '<text as sent>')` for each failure of a row, from the raw row itself."""
    cases = " ".join(
        f"when '{name}' then {alias}.{q(name)}" for name in contract.column_names if "'" not in name
    )
    value = f"case f.column {cases} end"
    return (
        "f.rule || case when f.detail is not null then ': ' || f.detail "
        f"when f.column in ({', '.join(repr(n) for n in contract.column_names)}) then "
        f"' (' || f.column || ' = ' || coalesce('''' || {value} || '''', 'empty') || ')' else '' end"
    )


def _move_to_quarantine(
    conn: duckdb.DuckDBPyConnection,
    contract: TableContract,
    failing: pd.DataFrame,
    validation: RowValidation,
) -> None:
    """Move the failing rows from raw to quarantine (inside the caller's transaction)."""
    if failing.empty:
        return
    conn.register("_klantbeeld_failing", failing)
    try:
        raw = f'{RAW_SCHEMA}."{contract.raw_table}"'
        on = " and ".join(f"r.{key} is not distinct from f.{key}" for key in ROW_KEY)
        columns = ", ".join(f"r.{q(name)}" for name in contract.column_names)
        conn.execute(
            f"""insert into {quarantine_table(contract)}
                select {columns}, r._batch_id, r._loaded_at, r._source, r._source_row,
                       list(distinct f.rule order by f.rule), string_agg({_reason_sql(contract, "r")}, '; '),
                       ?, null, null
                from {raw} r join _klantbeeld_failing f on {on}
                group by all""",
            [_utc_now()],
        )
        moved = conn.execute(
            f"""select r._source, count(*) from {raw} r
                where exists (select 1 from _klantbeeld_failing f where {on}) group by 1"""
        ).fetchall()
        conn.execute(f"delete from {raw} r where exists (select 1 from _klantbeeld_failing f where {on})")
    finally:
        conn.unregister("_klantbeeld_failing")
    validation.quarantined_by_source = {source: count for source, count in moved}
    validation.rows_quarantined = sum(validation.quarantined_by_source.values())


@dataclass
class Reprocessing:
    table: str
    rows_checked: int = 0
    rows_released: int = 0
    still_quarantined: Counter = field(default_factory=Counter)  # rule -> rows


def reprocess(
    conn: duckdb.DuckDBPyConnection,
    data_dir: Path,
    contract: TableContract,
    load_time: dt.datetime,
    released_by: str,
) -> Reprocessing:
    """Validate the quarantined rows again (after a fix) and release those that now pass into raw.

    A released row keeps its load (`_batch_id`), source and row number, so staging orders it as if
    it had passed at first; in quarantine it stays, marked `_released_at`, as the record of what happened.
    """
    ensure_quarantine(conn, contract)
    result = Reprocessing(contract.raw_table)
    quarantined = f"select * exclude (_failed_rules, _reasons, _quarantined_at, _released_at, _released_by) from {quarantine_table(contract)} where _released_at is null"
    # Duplicates are judged against the rows of the same delivery that did pass (they are in raw).
    deliveries = f"""select * from {RAW_SCHEMA}."{contract.raw_table}" r
        where exists (select 1 from ({quarantined}) c where c._batch_id = r._batch_id and c._source = r._source)
        union all by name {quarantined}"""
    select = frame_select(contract, deliveries, _text_formats(contract))
    candidates = conn.execute(f"select _batch_id, _source, _source_row from ({quarantined})").df()
    if candidates.empty:
        return result
    scratch = RowValidation(contract.raw_table, [])
    failing = _validate_frames(conn, data_dir, contract, select, load_time, released_by, scratch)
    keys = candidates.merge(failing[ROW_KEY].drop_duplicates(), on=ROW_KEY, how="left", indicator=True)
    passing = keys[keys["_merge"] == "left_only"][ROW_KEY]
    result.rows_checked = len(candidates)
    failing_candidates = failing.merge(candidates, on=ROW_KEY)
    result.still_quarantined = Counter(failing_candidates.drop_duplicates([*ROW_KEY, "rule"])["rule"])
    if passing.empty:
        return result
    conn.register("_klantbeeld_passing", passing)
    try:
        on = " and ".join(f"c.{key} is not distinct from p.{key}" for key in ROW_KEY)
        columns = ", ".join(q(name) for name in contract.column_names)
        conn.execute("begin transaction")
        try:
            conn.execute(
                f"""insert into {RAW_SCHEMA}."{contract.raw_table}" ({columns}, _batch_id, _loaded_at, _source, _source_row)
                    select {columns}, _batch_id, _loaded_at, _source, _source_row from ({quarantined}) c
                    where exists (select 1 from _klantbeeld_passing p where {on})"""
            )
            conn.execute(
                f"""update {quarantine_table(contract)} c set _released_at = ?, _released_by = ?
                    where _released_at is null and exists (select 1 from _klantbeeld_passing p where {on})""",
                [_utc_now(), released_by],
            )
            conn.execute("commit")
        except BaseException:
            conn.execute("rollback")
            raise
    finally:
        conn.unregister("_klantbeeld_passing")
    result.rows_released = len(passing)
    return result


def quarantine_counts(conn: duckdb.DuckDBPyConnection, contract: TableContract) -> dict[str, int]:
    """Rows held in quarantine now, per rule (a row breaking two rules counts for both)."""
    ensure_quarantine(conn, contract)
    rows = conn.execute(
        f"""select rule, count(*) from (select unnest(_failed_rules) as rule
            from {quarantine_table(contract)} where _released_at is null) group by 1 order by 2 desc"""
    ).fetchall()
    return dict(rows)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
