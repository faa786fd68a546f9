"""The frame a raw table's suite validates: the rows of a load, typed the way staging types them.

Raw keeps text. To check "an amount is not negative" or "a date can be read", each contract column
appears twice in the frame: `<column>` typed by the contract's logical type with the same rules as
the staging macros (`dbt_project/macros/parse.sql`: Dutch and English decimals, `YYYY-MM-DD` and
`DD-MM-YYYY` dates, ISO timestamps with or without offset), and `<column>__raw`, the trimmed text,
so "text present but unreadable" is a plain expectation. Emails are normalized as staging does
(lower case, no spaces) and code columns lower-cased, so formats and value sets match staging too.

`_duplicate_of` names the earlier row of the same delivered file (batch and source) with the same
primary key; the first row passes, repeats are flagged. The frame is built in DuckDB and handed to
pandas in chunks, so a batch of any size is validated in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import duckdb
import pandas as pd

from orchestration.ingest.contract import RAW_SCHEMA, ColumnSpec, TableContract

LINEAGE_COLUMNS = ("_batch_id", "_source", "_source_row")
DUPLICATE_COLUMN = "_duplicate_of"
RAW_SUFFIX = "__raw"
FRAME_CHUNK_ROWS = 1_000_000

# Offsets (`Z`, `+01:00`) after the time: the same pattern as the staging macro.
_OFFSET_PATTERN = r"[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)? ?([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)$"


def q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def clean_text(expr: str) -> str:
    return f"nullif(trim({expr}), '')"


def typed_expression(column: ColumnSpec, expr: str, text_format: str | None = None) -> str:
    """DuckDB SQL reading the raw text `expr` as the column's logical type (NULL when unreadable).

    Mirrors the staging macros; `tests/unit/quality/test_raw_batch.py` pins the shared cases.
    `text_format`: `email` (normalized as staging does), `code` (lower-cased), else trimmed text.
    """
    text = f"trim({expr})"
    if column.type == "decimal":
        plain = f"replace(replace({text}, '€', ''), ' ', '')"
        english = f"replace(replace({plain}, '.', ''), ',', '.')"
        return (
            f"cast(try_cast(case when {plain} like '%.%,%' then {english} "
            f"when {plain} like '%,%.%' then replace({plain}, ',', '') "
            f"else replace({plain}, ',', '.') end as decimal(28, 6)) as double)"
        )
    if column.type == "integer":
        return f"try_cast({clean_text(expr)} as bigint)"
    if column.type == "date":
        return f"cast(coalesce(try_strptime({text}, '%Y-%m-%d'), try_strptime({text}, '%d-%m-%Y')) as date)"
    if column.type == "timestamp":
        # Offset-less times stay as written (local or UTC): validity and the day are what is checked.
        return (
            f"case when regexp_matches({text}, '{_OFFSET_PATTERN}') "
            f"then timezone('UTC', coalesce(try_cast({text} as timestamptz), "
            f"try_cast(regexp_replace(regexp_replace({text}, ' ?[zZ]$', '+00:00'), "
            f"' ([+-][0-9]{{2}}(:?[0-9]{{2}})?)$', '\\1') as timestamptz))) "
            f"else coalesce(try_cast({text} as timestamp), try_strptime({text}, '%d-%m-%Y %H:%M:%S')) end"
        )
    if column.type == "boolean":
        return (
            f"case when lower({text}) in ('1', 'true', 't', 'yes', 'y', 'j', 'ja') then true "
            f"when lower({text}) in ('0', 'false', 'f', 'no', 'n', 'nee') then false end"
        )
    if text_format == "email":
        return f"nullif(lower(regexp_replace({expr}, '\\s', '', 'g')), '')"
    if text_format == "code":
        return f"lower({clean_text(expr)})"
    return clean_text(expr)


def frame_columns(contract: TableContract) -> list[str]:
    """The frame's columns: typed and `__raw` per contract column, then lineage and duplicates."""
    columns: list[str] = []
    for column in contract.columns:
        columns.append(column.name)
        if column.type != "string":
            columns.append(column.name + RAW_SUFFIX)
    return [*columns, *LINEAGE_COLUMNS, DUPLICATE_COLUMN]


def frame_select(contract: TableContract, rows_sql: str, text_formats: dict[str, str] | None = None) -> str:
    """SELECT of the frame over `rows_sql` (any relation with the raw table's columns).

    Duplicates are counted within `rows_sql`: pass every row of the deliveries concerned.
    """
    text_formats = text_formats or {}
    projections: list[str] = []
    for column in contract.columns:
        name = q(column.name)
        projections.append(f"{typed_expression(column, name, text_formats.get(column.name))} as {name}")
        if column.type != "string":
            projections.append(f"{clean_text(name)} as {q(column.name + RAW_SUFFIX)}")
    projections += [q(name) for name in LINEAGE_COLUMNS]
    key = ", ".join(clean_text(q(name)) for name in contract.primary_key)
    content = ", ".join(q(name) for name in contract.column_names)
    window = f"partition by _batch_id, _source, {key} order by _source_row"
    key_present = " and ".join(f"{clean_text(q(name))} is not null" for name in contract.primary_key)
    duplicate = (
        f"case when ({key_present}) and row_number() over ({window}) > 1 then "
        f"'row ' || first_value(_source_row) over ({window}) || ' of the same file' || "
        f"case when first_value(hash({content})) over ({window}) = hash({content}) "
        f"then ' (same values)' else ' (different values)' end end as {DUPLICATE_COLUMN}"
    )
    return f"select {', '.join(projections)}, {duplicate} from ({rows_sql}) as delivered"


def raw_rows_sql(contract: TableContract, batch_ids: Sequence[str]) -> str:
    batches = ", ".join("'" + batch.replace("'", "''") + "'" for batch in batch_ids)
    return f"select * from {RAW_SCHEMA}.{q(contract.raw_table)} where _batch_id in ({batches})"


def frame_chunks(
    conn: duckdb.DuckDBPyConnection, select_sql: str, chunk_rows: int = FRAME_CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """The frame in pandas chunks of at most `chunk_rows` rows (a whole delivery per chunk where it fits).

    The frame is materialized once in a temporary table; each chunk is a range of its row numbers.
    """
    conn.execute(
        f"create or replace temp table _klantbeeld_frame as "
        f"select *, row_number() over (order by _batch_id, _source, _source_row) - 1 as _frame_row "
        f"from ({select_sql})"
    )
    try:
        total = conn.execute("select count(*) from _klantbeeld_frame").fetchone()[0]
        for start in range(0, max(total, 1), chunk_rows):
            frame = conn.execute(
                "select * exclude (_frame_row) from _klantbeeld_frame "
                "where _frame_row >= ? and _frame_row < ? order by _frame_row",
                [start, start + chunk_rows],
            ).df()
            yield as_nanosecond_times(frame)
    finally:
        conn.execute("drop table if exists _klantbeeld_frame")


def as_nanosecond_times(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates and timestamps as datetime64[ns]: GX compares only those vectorized, and with the suite's
    ISO text bounds ("1900-01-01"); DuckDB hands over microseconds."""
    for name, dtype in frame.dtypes.items():
        if pd.api.types.is_datetime64_any_dtype(dtype) and not isinstance(dtype, pd.DatetimeTZDtype):
            frame[name] = frame[name].astype("datetime64[ns]")
    return frame
