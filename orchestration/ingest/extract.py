"""Extraction: land one source table into `raw."<system>__<table>"`, incrementally and exactly once.

Plain functions, no Dagster. The caller opens one DuckDB connection, calls `ensure_raw_schema` once
and `extract_table` per source table.

Raw keeps every value as text, exactly as the source sent it, plus load metadata (`_batch_id`,
`_loaded_at`, `_source`, `_source_row`). `(_batch_id, _source, _source_row)` identifies every raw row
(the data row in its file; for databases the row in the batch's stream), so a later step can move
single rows. What was loaded is recorded in three state tables in `raw`:

- `_load_batches`: one row per (batch, table) with the rows and files it brought and the watermarks;
- `_loaded_files`: one row per loaded file drop (path, size, mtime), so a drop is never loaded twice
  while a re-delivered, changed file loads again;
- `_watermarks`: per database table the highest cursor value landed so far.

Rows and the state that describes them commit in one DuckDB transaction: per file for file sources
(a bad file fails alone, the good ones stay loaded), per table for database sources. So a crash never
leaves rows without state or state without rows, and a rerun neither skips nor duplicates anything.

Files are read by DuckDB's own readers (no Python loop over rows). Database rows are streamed in
chunks through SQLAlchemy (any URL) and handed to DuckDB as Arrow tables of strings.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import glob
import itertools
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from orjson import loads as _fast_json_loads

from orchestration.ingest.contract import RAW_SCHEMA, TableContract, raw_table_ddl
from orchestration.ingest.sources_config import TableSource

DATABASE_CHUNK_ROWS = 50_000

STATE_TABLES_DDL: dict[str, str] = {
    "_load_batches": """
        batch_id varchar not null,
        system varchar not null,
        source_table varchar not null,
        started_at timestamp not null,
        finished_at timestamp,
        rows_loaded bigint not null,
        files_loaded integer not null,
        watermark_before varchar,
        watermark_after varchar,
        validated_at timestamp""",  # when the row rules ran on the load (orchestration/quality)
    "_loaded_files": """
        system varchar not null,
        source_table varchar not null,
        file_path varchar not null,
        file_size bigint not null,
        file_mtime timestamp not null,
        rows_loaded bigint not null,
        batch_id varchar not null,
        loaded_at timestamp not null""",
    "_watermarks": """
        system varchar not null,
        source_table varchar not null,
        cursor_column varchar not null,
        watermark varchar,
        updated_at timestamp not null""",
}


class SourceError(Exception):
    """A source table (or some of its files) could not be landed.

    The message names system.table, the file or database table, the line/row and column where known,
    and the rule that was broken. `result` holds what was loaded anyway (the good files), if anything.
    """

    def __init__(self, message: str, result: LoadResult | None = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass
class LoadResult:
    system: str
    table: str
    batch_id: str
    configured: bool  # False: not in sources.yaml, the raw table exists but stays empty
    rows_loaded: int = 0
    files_loaded: list[str] = field(default_factory=list)  # files: drops newly loaded by this call
    files_skipped: int = 0  # files: drops that were loaded earlier (same path, size and mtime)
    watermark_before: str | None = None  # databases
    watermark_after: str | None = None
    source_description: str = ""  # the glob, or `<url without password>#<schema.table>`
    errors: list[str] = field(default_factory=list)  # files that were not loaded, and why
    unexpected_columns: list[str] = field(default_factory=list)  # source columns not in the contract
    # Optional contract columns absent from a drop (or table) that has unknown columns: renamed?
    absent_columns: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------- schema


def _q(identifier: str) -> str:
    """A DuckDB identifier, double-quoted."""
    return '"' + identifier.replace('"', '""') + '"'


def _lit(value: str) -> str:
    """A DuckDB string literal."""
    return "'" + value.replace("'", "''") + "'"


def raw_table_name(contract: TableContract) -> str:
    return f"{RAW_SCHEMA}.{_q(contract.raw_table)}"


def _state(name: str) -> str:
    return f"{RAW_SCHEMA}.{_q(name)}"


def ensure_raw_schema(conn: duckdb.DuckDBPyConnection, contracts: Mapping | Iterable[TableContract]) -> None:
    """Create the raw schema, the state tables and every raw table (empty). Idempotent."""
    tables = contracts.values() if isinstance(contracts, Mapping) else contracts
    conn.execute(f"create schema if not exists {RAW_SCHEMA}")
    for name, body in STATE_TABLES_DDL.items():
        conn.execute(f"create table if not exists {_state(name)} ({body}\n)")
    for contract in tables:
        conn.execute(raw_table_ddl(contract))


# --------------------------------------------------------------------------------------------- entry


def extract_table(
    conn: duckdb.DuckDBPyConnection,
    contract: TableContract,
    source: TableSource | None,
    batch_id: str,
    loaded_at: dt.datetime | None = None,
) -> LoadResult:
    """Land the new rows of one source table into `raw."<system>__<table>"`.

    Files: every drop matching the glob that was not loaded before (same path, size and mtime).
    Databases: the rows with cursor >= the stored watermark, minus those already landed.
    Raises `SourceError` when the source cannot be read; for file sources the good files are
    loaded and committed first, then the error lists every file that was not loaded.
    """
    ensure_raw_schema(conn, [contract])
    loaded_at = _utc_naive(loaded_at)
    if source is None:
        return LoadResult(contract.system, contract.name, batch_id, configured=False)
    if source.kind == "database":
        return _extract_database(conn, contract, source, batch_id, loaded_at)
    return _extract_files(conn, contract, source, batch_id, loaded_at)


def _utc_naive(value: dt.datetime | None) -> dt.datetime:
    if value is None:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


@dataclass(frozen=True)
class _ColumnMatch:
    """How the contract's columns are found among the source's columns."""

    present: dict[str, str]  # contract column -> source column (as spelled in the source)
    missing_required: list[tuple[str, str]]  # (contract column, expected source column)
    missing_optional: list[str]  # optional contract columns the source does not have
    unexpected: list[str]  # source columns the contract does not know

    @property
    def absent_columns(self) -> list[str]:
        """Optional contract columns absent while unknown columns are present (a rename?); else none."""
        return self.missing_optional if self.unexpected else []


def _match_columns(
    contract: TableContract, source: TableSource, source_columns: Sequence[str]
) -> _ColumnMatch:
    exact = set(source_columns)
    by_lower: dict[str, list[str]] = {}
    for name in source_columns:
        by_lower.setdefault(name.lower(), []).append(name)
    present: dict[str, str] = {}
    missing: list[tuple[str, str]] = []
    missing_optional: list[str] = []
    for column in contract.columns:
        wanted = source.source_column(column.name)
        if wanted in exact:
            present[column.name] = wanted
        elif len(by_lower.get(wanted.lower(), [])) == 1:  # tolerate a different case (CustomerId)
            present[column.name] = by_lower[wanted.lower()][0]
        elif column.required:
            missing.append((column.name, wanted))
        else:
            missing_optional.append(column.name)
    used = set(present.values())
    unexpected = [name for name in source_columns if name not in used]
    return _ColumnMatch(present, missing, missing_optional, unexpected)


def _missing_message(where: str, match: _ColumnMatch, source_columns: Sequence[str]) -> str:
    parts = [
        f"required column {contract_col!r}"
        + (f" (source column {source_col!r})" if source_col != contract_col else "")
        for contract_col, source_col in match.missing_required
    ]
    renamed = f"; unknown source columns {match.unexpected}: renamed?" if match.unexpected else ""
    return (
        f"{where}: {', '.join(parts)} missing{renamed} "
        f"(rule: every required contract column must be present); the source has columns {list(source_columns)}"
    )


# ----------------------------------------------------------------------------------------- batches


def _record_batch(
    conn: duckdb.DuckDBPyConnection,
    contract: TableContract,
    batch_id: str,
    started_at: dt.datetime,
    rows: int,
    files: int,
    watermark_before: str | None = None,
    watermark_after: str | None = None,
) -> None:
    """Add rows/files to the (batch, table) row of `_load_batches`, creating it if needed.

    Runs inside the caller's transaction. A retried step with the same batch id continues its row,
    so `sum(rows_loaded)` over `_load_batches` always equals the rows in the raw table.
    """
    key = [batch_id, contract.system, contract.name]
    exists = conn.execute(
        f"select count(*) from {_state('_load_batches')} where batch_id = ? and system = ? and source_table = ?",
        key,
    ).fetchone()[0]
    if not exists:
        conn.execute(
            f"""insert into {_state("_load_batches")} (batch_id, system, source_table, started_at,
                    finished_at, rows_loaded, files_loaded, watermark_before, watermark_after)
                values (?, ?, ?, ?, null, ?, ?, ?, ?)""",
            [*key, started_at, rows, files, watermark_before, watermark_after],
        )
        return
    conn.execute(
        f"""update {_state("_load_batches")}
            set rows_loaded = rows_loaded + ?, files_loaded = files_loaded + ?,
                watermark_after = coalesce(?, watermark_after)
            where batch_id = ? and system = ? and source_table = ?""",
        [rows, files, watermark_after, *key],
    )


def _finish_batch(conn: duckdb.DuckDBPyConnection, contract: TableContract, batch_id: str) -> None:
    conn.execute(
        f"""update {_state("_load_batches")} set finished_at = ?
            where batch_id = ? and system = ? and source_table = ?""",
        [_utc_naive(None), batch_id, contract.system, contract.name],
    )


# ------------------------------------------------------------------------------------------- files


def _file_reader(
    source: TableSource, path: str, columns: Sequence[str] | None = None, filename: str | None = None
) -> str:
    """DuckDB table function reading one file (or a list literal `[...]` of files) with every value as text.

    `columns`: csv: the header, in file order; jsonl: the keys to read (absent keys read as NULL).
    `filename`: name of a column holding each row's file path.
    """
    files = path if path.startswith("[") else _lit(path)
    extra = f", filename = {_lit(filename)}" if filename else ""
    if source.format == "csv":
        # No sniffing (~35 ms a file, and it may take ' for a quote in Dutch names): RFC 4180 quoting,
        # the header read by `_csv_header`, every column as text.
        struct = ", ".join(f"{_lit(name)}: 'VARCHAR'" for name in columns or [])
        return (
            f"read_csv({files}, auto_detect = false, header = true, delim = {_lit(source.delimiter)}, "
            f"quote = '\"', escape = '\"', encoding = {_lit(source.encoding)}, columns = {{{struct}}}{extra})"
        )
    if source.format == "jsonl":
        options = ""
        if columns is not None:
            struct = ", ".join(f"{_lit(name)}: 'VARCHAR'" for name in columns)
            options = f", columns = {{{struct}}}"
        return f"read_json({files}, format = 'newline_delimited'{options}{extra})"
    if source.format == "parquet":
        return f"read_parquet({files}{extra})"
    raise ValueError(f"unknown file format {source.format!r}")


_DUCKDB_NOISE = re.compile(r"^(Possible Solution|Possible fixes|LINE \d+:|\s*file = |\s*\^)")


def _short_duckdb_error(error: Exception) -> str:
    """DuckDB's message without its advice and reader-settings dump: the line, the value, the rule."""
    kept: list[str] = []
    for line in str(error).splitlines():
        if _DUCKDB_NOISE.match(line) or (kept and not line.strip()):
            break
        if line.strip():
            kept.append(line.strip())
    return "; ".join(kept) or type(error).__name__


def _is_empty_drop(source: TableSource, size: int) -> bool:
    """A legitimate day without rows: a 0-byte JSON-lines file (the simulator writes those).

    A CSV drop always starts with its header and a Parquet file ends with its footer, so 0 bytes there
    is a broken export, not an empty day (a header-only CSV is one, and loads 0 rows).
    """
    return size == 0 and source.format == "jsonl"


def _empty_file_message(where: str, source: TableSource) -> str:
    if source.format == "csv":
        return f"{where}: line 1: the file is empty, no header (rule: a csv drop starts with a header line)"
    return f"{where}: the file is empty, 0 bytes (rule: a parquet drop is a complete parquet file)"


def _parse_json_line(line: str) -> tuple[object, ValueError | None]:
    """One JSON-lines line parsed: (value, None), or (None, the error)."""
    try:
        return _fast_json_loads(line), None
    except ValueError as fast_error:
        try:  # json takes a few things orjson does not (NaN, huge integers)
            return json.loads(line), None
        except ValueError:
            return None, fast_error


def _first_bad_json_line(path: str, encoding: str) -> str | None:
    """`line N: what is wrong (rule: ...)` for the first line that is not a JSON object; None: all are.

    Only on the error path: DuckDB's JSON reader reports line numbers that are off (one too high for
    a cut-off last line or a bad byte), so the line is looked up here, once a file has failed.
    """
    with Path(path).open("rb") as handle:
        for number, raw_line in enumerate(handle, start=1):
            try:
                line = raw_line.decode(encoding)
            except UnicodeDecodeError as error:
                return (
                    f"line {number}: byte {error.start + 1} is not valid {encoding} ({error.reason}) "
                    f"(rule: the file is {encoding})"
                )
            if not line.strip():
                continue
            record, error = _parse_json_line(line.rstrip("\r\n"))
            if isinstance(record, dict):
                continue
            if isinstance(error, json.JSONDecodeError):
                cut_off = "" if line.endswith("\n") else " (the file ends inside it: truncated?)"
                problem = f"malformed JSON at character {error.colno}: {error.msg}{cut_off}"
            else:
                problem = "not a JSON object"
            return f"line {number}: {problem} (rule: one JSON object per line)"
    return None


_CSV_FIELD_COUNT = re.compile(
    r"CSV Error on Line: (\d+).*?Original Line: (.*?)\n.*?Expected Number of Columns: (\d+) Found: (\d+)",
    re.DOTALL,
)


def _unreadable_file_message(source: TableSource, drop: _Drop, error: duckdb.Error) -> str:
    """Why DuckDB could not read one drop, naming its line and, where it can, the column and the rule."""
    if source.format == "jsonl":
        bad_line = _first_bad_json_line(drop.path, source.encoding)
        if bad_line:
            return f"{drop.where}: {bad_line}"
    if source.format == "csv":
        fields = _CSV_FIELD_COUNT.search(str(error))
        header = drop.reader_columns or []
        if fields and int(fields.group(3)) == len(header):
            line, original, found = fields.group(1), fields.group(2), int(fields.group(4))
            if found < len(header):
                detail = f"columns {header[found:]} missing (a cut-off last row: truncated?)"
            else:
                detail = f"{found - len(header)} field(s) beyond the last column {header[-1]!r}"
            return (
                f"{drop.where}: line {line}: {found} fields where the header has {len(header)}, {detail} "
                f"(rule: every row has the header's fields); the line: {original[:200]!r}"
            )
    message = _short_duckdb_error(error)
    if "encod" in message.lower() or "utf-8" in message.lower():
        return (
            f"{drop.where}: cannot be read: {message} (rule: a drop is encoded as {source.encoding}; "
            "another encoding is set per table with `encoding:` in sources.yaml)"
        )
    return f"{drop.where}: cannot be read: {message}"


JSONL_KEY_SAMPLE_LINES = 2_000


def _jsonl_keys(path: str, encoding: str, where: str) -> list[str] | None:
    """The keys of the first records of a JSON-lines file (None: no records at all).

    Cheaper than DuckDB's schema detection (~60 ms a file). Only used to check required keys and
    report unknown ones: the reader then asks for every contract key, so a key that first appears
    further down the file still lands. Lines that do not parse are left to DuckDB to report.
    """
    keys: dict[str, None] = {}
    records, first_bad_line = 0, None
    with Path(path).open(encoding=encoding, errors="replace") as handle:
        for number, line in enumerate(itertools.islice(handle, JSONL_KEY_SAMPLE_LINES), start=1):
            if not line.strip():
                continue
            record, _ = _parse_json_line(line)
            if isinstance(record, dict):
                records += 1
                keys.update(dict.fromkeys(record))
            elif first_bad_line is None:
                first_bad_line = number
    if not records and first_bad_line is not None:
        raise SourceError(
            f"{where}: line {first_bad_line} is not a JSON object (rule: one JSON object per line)"
        )
    return list(keys) if records else None


def _csv_header(path: str, source: TableSource, where: str) -> list[str]:
    """The column names in the first line of a CSV file."""
    encoding = (
        "utf-8-sig" if source.encoding.replace("_", "-").lower() in ("utf-8", "utf8") else source.encoding
    )
    try:
        with Path(path).open("rb") as handle:  # only the first line: the rest is DuckDB's to check
            first_line = handle.readline().decode(encoding)
        header = next(csv.reader([first_line.rstrip("\r\n")], delimiter=source.delimiter), [])
    except (UnicodeDecodeError, LookupError, csv.Error) as error:
        raise SourceError(f"{where}: line 1 (the header) cannot be read: {error}") from error
    if not header:
        raise SourceError(f"{where}: line 1 has no header (rule: csv drops start with a header line)")
    return header


# New drops are landed in chunks: one DuckDB statement reads up to FILE_CHUNK_MAX_FILES files (or
# FILE_CHUNK_MAX_BYTES) that share their columns, and the chunk's rows and state commit together. A chunk
# that fails is split in halves until the bad file is read alone, with its own precise error.
FILE_CHUNK_MAX_FILES = 500
FILE_CHUNK_MAX_BYTES = 256 * 2**20
FILE_CHUNK_MIN_SPLIT = 4  # a failed chunk of at most this many files is retried file by file


@dataclass
class _Drop:
    """A new file drop and how to read it (`match` None: an empty drop, only recorded)."""

    path: str
    size: int
    mtime_us: int
    where: str
    reader_columns: list[str] | None = None  # csv: the header; jsonl: the keys to read
    match: _ColumnMatch | None = None

    def group_key(self) -> tuple:
        if self.match is None:
            return ()
        return (tuple(self.reader_columns or ()), tuple(self.match.present.items()))


def _extract_files(
    conn: duckdb.DuckDBPyConnection,
    contract: TableContract,
    source: TableSource,
    batch_id: str,
    loaded_at: dt.datetime,
) -> LoadResult:
    assert source.path and source.format
    result = LoadResult(
        contract.system, contract.name, batch_id, configured=True, source_description=source.path
    )
    seen: dict[str, set[tuple[int, int]]] = {}
    for path, size, mtime_us in conn.execute(
        f"""select file_path, file_size, epoch_us(file_mtime) from {_state("_loaded_files")}
            where system = ? and source_table = ?""",
        [contract.system, contract.name],
    ).fetchall():
        seen.setdefault(path, set()).add((size, mtime_us))

    unexpected: dict[str, None] = {}  # both in first-seen order over the drops
    absent: dict[str, None] = {}
    drops: list[_Drop] = []
    # sources.yaml holds an absolute glob, which Path.glob does not take.
    matched = glob.glob(source.path, recursive=True)  # noqa: PTH207
    paths = [path for path in sorted(matched) if Path(path).is_file()]
    if not paths:
        raise SourceError(
            f"{contract.system}.{contract.name}: no file matches {source.path} "
            "(rule: a configured file source has at least one drop)",
            result,
        )
    for path in paths:
        stat = Path(path).stat()
        mtime_us = stat.st_mtime_ns // 1000
        if (stat.st_size, mtime_us) in seen.get(path, set()):
            result.files_skipped += 1
            continue
        drop = _Drop(path, stat.st_size, mtime_us, f"{contract.system}.{contract.name}: file {path}")
        try:
            _plan_drop(conn, contract, source, drop, unexpected, absent)
        except SourceError as error:
            result.errors.append(str(error))
            continue
        except duckdb.Error as error:
            result.errors.append(f"{drop.where}: cannot be read: {_short_duckdb_error(error)}")
            continue
        drops.append(drop)

    groups: dict[tuple, list[_Drop]] = {}
    for drop in drops:
        groups.setdefault(drop.group_key(), []).append(drop)
    loaded: dict[str, int] = {}
    errors: dict[str, str] = {}
    for group in groups.values():
        for chunk in _chunks(group):
            _load_drops(conn, contract, source, chunk, batch_id, loaded_at, loaded, errors)
    for drop in drops:  # in path order, as found
        if drop.path in loaded:
            result.files_loaded.append(drop.path)
            result.rows_loaded += loaded[drop.path]
        elif drop.path in errors:
            result.errors.append(errors[drop.path])

    if not loaded:  # nothing new: still record the (empty) batch, for the run history
        conn.execute("begin transaction")
        _record_batch(conn, contract, batch_id, loaded_at, 0, 0)
        conn.execute("commit")
    _finish_batch(conn, contract, batch_id)
    result.unexpected_columns = list(unexpected)
    result.absent_columns = list(absent)
    if result.errors:
        count = len(result.errors)
        raise SourceError(
            f"{contract.system}.{contract.name}: {count} file(s) not loaded "
            f"({len(result.files_loaded)} other file(s) loaded):\n" + "\n".join(result.errors),
            result,
        )
    return result


def _chunks(drops: list[_Drop]) -> Iterable[list[_Drop]]:
    chunk: list[_Drop] = []
    size = 0
    for drop in drops:
        if chunk and (len(chunk) >= FILE_CHUNK_MAX_FILES or size + drop.size > FILE_CHUNK_MAX_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(drop)
        size += drop.size
    if chunk:
        yield chunk


def _load_drops(
    conn: duckdb.DuckDBPyConnection,
    contract: TableContract,
    source: TableSource,
    chunk: list[_Drop],
    batch_id: str,
    loaded_at: dt.datetime,
    loaded: dict[str, int],
    errors: dict[str, str],
) -> None:
    """Land a chunk of drops with the same columns: in one statement, else in halves, else one by one."""
    if len(chunk) > 1:
        try:
            loaded.update(_load_chunk(conn, contract, source, chunk, batch_id, loaded_at))
            return
        except duckdb.Error:
            if len(chunk) > FILE_CHUNK_MIN_SPLIT:
                half = len(chunk) // 2
                for part in (chunk[:half], chunk[half:]):
                    _load_drops(conn, contract, source, part, batch_id, loaded_at, loaded, errors)
                return
    for drop in chunk:
        try:
            loaded[drop.path] = _load_file(conn, contract, source, drop, batch_id, loaded_at)
        except duckdb.Error as error:
            errors[drop.path] = _unreadable_file_message(source, drop, error)


def _load_file(
    conn: duckdb.DuckDBPyConnection,
    contract: TableContract,
    source: TableSource,
    drop: _Drop,
    batch_id: str,
    loaded_at: dt.datetime,
) -> int:
    """Land one drop and record it, in one transaction. Returns its rows; raises duckdb.Error."""
    conn.execute("begin transaction")
    try:
        if drop.match is None:  # an empty drop: recorded, so it is not retried
            rows = 0
        else:
            select = _drop_select(contract, source, [drop])
            rows = conn.execute(
                f"insert into {raw_table_name(contract)} by name {select}", [batch_id, loaded_at, drop.path]
            ).fetchone()[0]
        conn.execute(
            f"insert into {_state('_loaded_files')} values (?, ?, ?, ?, make_timestamp(?), ?, ?, ?)",
            [contract.system, contract.name, drop.path, drop.size, drop.mtime_us, rows, batch_id, loaded_at],
        )
        _record_batch(conn, contract, batch_id, loaded_at, rows, 1)
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return rows


def _load_chunk(
    conn: duckdb.DuckDBPyConnection,
    contract: TableContract,
    source: TableSource,
    chunk: list[_Drop],
    batch_id: str,
    loaded_at: dt.datetime,
) -> dict[str, int]:
    """Land several drops with the same columns in one statement and record them, in one transaction.

    The rows pass through a temporary table, which gives the rows per file for `_loaded_files`.
    Returns {path: rows}; raises duckdb.Error (nothing landed) when any of the files cannot be read.
    """
    with_rows = [drop for drop in chunk if drop.match is not None]
    counts: dict[str, int] = {}
    conn.execute("begin transaction")
    try:
        if with_rows:
            select = _drop_select(contract, source, with_rows)
            conn.execute(f"create temp table _klantbeeld_files as {select}", [batch_id, loaded_at])
            counts = dict(
                conn.execute("select _source, count(*) from _klantbeeld_files group by all").fetchall()
            )
            conn.execute(f"insert into {raw_table_name(contract)} by name select * from _klantbeeld_files")
            conn.execute("drop table _klantbeeld_files")
        rows = {drop.path: counts.get(drop.path, 0) for drop in chunk}
        state = pa.table(
            {
                "file_path": pa.array([drop.path for drop in chunk], pa.string()),
                "file_size": pa.array([drop.size for drop in chunk], pa.int64()),
                "mtime_us": pa.array([drop.mtime_us for drop in chunk], pa.int64()),
                "rows_loaded": pa.array([rows[drop.path] for drop in chunk], pa.int64()),
            }
        )
        conn.register("_klantbeeld_drops", state)
        try:
            conn.execute(
                f"""insert into {_state("_loaded_files")}
                    select ?, ?, file_path, file_size, make_timestamp(mtime_us), rows_loaded, ?, ?
                    from _klantbeeld_drops""",
                [contract.system, contract.name, batch_id, loaded_at],
            )
        finally:
            conn.unregister("_klantbeeld_drops")
        _record_batch(conn, contract, batch_id, loaded_at, sum(rows.values()), len(chunk))
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return rows


def _plan_drop(
    conn: duckdb.DuckDBPyConnection,
    contract: TableContract,
    source: TableSource,
    drop: _Drop,
    unexpected: dict[str, None],
    absent: dict[str, None],
) -> None:
    """Find how to read one drop: its columns and their match with the contract (none: an empty drop).

    Raises SourceError when the file is empty but must not be, or a required column is missing.
    Adds the drop's unknown columns to `unexpected`, and its absent optional columns to `absent`.
    """
    if _is_empty_drop(source, drop.size):
        return
    if drop.size == 0:
        raise SourceError(_empty_file_message(drop.where, source))
    if source.format == "jsonl":
        source_columns = _jsonl_keys(drop.path, source.encoding, drop.where)
        if source_columns is None:
            return  # no records
    elif source.format == "csv":
        source_columns = _csv_header(drop.path, source, drop.where)
    else:
        described = conn.execute(f"describe select * from {_file_reader(source, drop.path)}").fetchall()
        source_columns = [row[0] for row in described]
    match = _match_columns(contract, source, source_columns)
    if match.missing_required:
        # where the columns are named: the header line of a csv, the first records of JSON lines
        place = {"csv": "line 1 (the header)", "jsonl": "the records' keys"}.get(source.format, "the schema")
        raise SourceError(_missing_message(f"{drop.where}: {place}", match, source_columns))
    unexpected.update(dict.fromkeys(match.unexpected))
    absent.update(dict.fromkeys(match.absent_columns))
    if source.format == "jsonl":
        # Read every contract key (a key that only appears after the sniffer's sample still lands).
        drop.reader_columns = list(
            dict.fromkeys([*match.present.values(), *map(source.source_column, contract.column_names)])
        )
    elif source.format == "csv":
        drop.reader_columns = source_columns
    drop.match = match


_FILE_COLUMN = "_klantbeeld_file"
_ROW_COLUMN = "_klantbeeld_row"


def _drop_select(contract: TableContract, source: TableSource, drops: Sequence[_Drop]) -> str:
    """The `select` producing the raw rows of drops that share their columns.

    One drop: parameters batch id, loaded at, path. Several: batch id, loaded at (the path comes from
    the reader's filename column). `_source_row` is the data row number within each file: DuckDB keeps
    the files' row order (tested), so it is the row number in the scan minus the file's first one.
    """
    first = drops[0]
    assert first.match is not None
    if len(drops) == 1:
        if source.format == "parquet":
            reader = f"read_parquet({_lit(first.path)}, file_row_number = true)"
            row_number = "file_row_number + 1"
        else:
            reader = _file_reader(source, first.path, first.reader_columns)
            row_number = "row_number() over ()"
        source_sql = "cast(? as varchar)"
    else:
        paths = "[" + ", ".join(_lit(drop.path) for drop in drops) + "]"
        if source.format == "parquet":
            reader = f"read_parquet({paths}, file_row_number = true, filename = {_lit(_FILE_COLUMN)})"
            row_number = "file_row_number + 1"
        else:
            scan = _file_reader(source, paths, first.reader_columns, filename=_FILE_COLUMN)
            reader = f"(select *, row_number() over () as {_ROW_COLUMN} from {scan})"
            row_number = f"{_ROW_COLUMN} - min({_ROW_COLUMN}) over (partition by {_FILE_COLUMN}) + 1"
        source_sql = _FILE_COLUMN
    projections = [f"cast({_q(src)} as varchar) as {_q(col)}" for col, src in first.match.present.items()]
    projections += [
        "cast(? as varchar) as _batch_id",
        "cast(? as timestamp) as _loaded_at",
        f"{source_sql} as _source",
        f"cast({row_number} as bigint) as _source_row",
    ]
    return f"select {', '.join(projections)} from {reader}"


# ---------------------------------------------------------------------------------- missing drops


@dataclass(frozen=True)
class LastDrop:
    """The most recently loaded drop of a file source."""

    file_path: str
    loaded_at: dt.datetime  # UTC, naive (as `raw._loaded_files` stores it)


def last_drop_loaded_at(conn: duckdb.DuckDBPyConnection, contract: TableContract) -> LastDrop | None:
    """The drop of the table loaded last (of several in one load: the last path); None: none yet.

    Every recorded drop counts, also a header-only one: a day without rows is still a delivery.
    """
    row = conn.execute(
        f"""select file_path, loaded_at from {_state("_loaded_files")}
            where system = ? and source_table = ?
            order by loaded_at desc, file_path desc limit 1""",
        [contract.system, contract.name],
    ).fetchone()
    return LastDrop(row[0], row[1]) if row else None


def missing_drop_message(
    contract: TableContract,
    source: TableSource | None,
    last_drop: LastDrop | None,
    now: dt.datetime,
    max_hours: float,
) -> str | None:
    """The message for a file source whose last drop is more than `max_hours` old; None: on time.

    None also for databases, unconfigured tables and tables that never loaded a drop (a glob that
    matches nothing, or only broken files, fails the extraction itself).
    """
    if source is None or source.kind != "files" or last_drop is None:
        return None
    hours = (_utc_naive(now) - _utc_naive(last_drop.loaded_at)).total_seconds() / 3600
    if hours <= max_hours:
        return None
    return (
        f"{contract.system}.{contract.name}: no new drop since {last_drop.file_path} loaded at "
        f"{last_drop.loaded_at:%Y-%m-%d %H:%M:%S} UTC ({hours:.1f} h ago) "
        f"(rule: a drop arrives at least every {max_hours:g} h)"
    )


# --------------------------------------------------------------------------------------- databases


def describe_url(url: sa.URL | str) -> str:
    """The URL with its password hidden."""
    return sa.make_url(url).render_as_string(hide_password=True)


def _to_text(value: object) -> str | None:
    """One database value as text (the slow path, for columns Arrow cannot take as a whole)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def text_array(values: Sequence[object]) -> pa.Array:
    """A column of database values as an Arrow string array.

    Strings, integers, booleans and decimals convert inside Arrow; floats through `str` (Python's
    text); timestamps and mixed columns (SQLite is dynamically typed, e.g. 1 and 2.5 in one column)
    take the per-value path so their text is Python's.
    """
    try:
        array = pa.array(values, from_pandas=False)  # inferring is ~4x faster than type=pa.string()
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([_to_text(value) for value in values], type=pa.string())
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return array.cast(pa.string())
    if pa.types.is_null(kind):
        return pa.nulls(len(array), pa.string())
    if pa.types.is_boolean(kind):
        return pc.if_else(array, "true", "false")
    if pa.types.is_integer(kind):
        return array.cast(pa.string())
    if pa.types.is_floating(kind) and set(map(type, values)) <= {float, type(None)}:
        return pa.array([None if value is None else str(value) for value in values], type=pa.string())
    if pa.types.is_decimal(kind) and all(
        value is None or (isinstance(value, decimal.Decimal) and value.is_finite()) for value in values
    ):
        return array.cast(pa.string())
    return pa.array([_to_text(value) for value in values], type=pa.string())


def _watermark_param(watermark: str, column_type: sa.types.TypeEngine, dialect: str) -> object:
    """The stored (text) watermark as a value the source compares correctly with its cursor column.

    SQLite compares with the text as stored (its timestamps are text). Other databases get the
    cursor column's own Python type, so a PostgreSQL timestamp compares as a timestamp.
    """
    if dialect == "sqlite":
        return watermark
    try:
        python_type = column_type.python_type
    except NotImplementedError:
        return watermark
    if python_type is dt.datetime:
        return dt.datetime.fromisoformat(watermark)
    if python_type is dt.date:
        return dt.date.fromisoformat(watermark)
    if python_type is int:
        return int(watermark)
    if python_type is float:
        return float(watermark)
    if python_type is decimal.Decimal:
        return decimal.Decimal(watermark)
    return watermark


def _database_error(where: str, error: Exception) -> SourceError:
    detail = str(getattr(error, "orig", None) or error).strip().splitlines()
    return SourceError(f"{where}: {detail[0] if detail else type(error).__name__}")


def _extract_database(
    conn: duckdb.DuckDBPyConnection,
    contract: TableContract,
    source: TableSource,
    batch_id: str,
    loaded_at: dt.datetime,
) -> LoadResult:
    assert source.url and source.source_table
    url = sa.make_url(source.url)
    qualified = (
        f"{source.source_schema}.{source.source_table}" if source.source_schema else source.source_table
    )
    description = f"{describe_url(url)}#{qualified}"
    where = f"{contract.system}.{contract.name}: database table {description}"
    result = LoadResult(
        contract.system, contract.name, batch_id, configured=True, source_description=description
    )
    # SQLite would silently create an empty database file at a wrong path.
    database = url.database or ""
    is_sqlite_file = url.get_backend_name() == "sqlite" and database not in ("", ":memory:")
    if is_sqlite_file and not database.startswith("file:") and not Path(database).is_file():
        raise SourceError(f"{where}: the database file {url.database} does not exist")

    engine = sa.create_engine(url)
    try:
        try:
            source_columns = sa.inspect(engine).get_columns(source.source_table, schema=source.source_schema)
        except sa.exc.NoSuchTableError as error:
            raise SourceError(f"{where}: the table does not exist") from error
        except sa.exc.SQLAlchemyError as error:
            raise _database_error(f"{where}: cannot connect or read the table definition", error) from error
        if not source_columns:  # some dialects return nothing instead of raising
            raise SourceError(f"{where}: the table does not exist")
        names = [column["name"] for column in source_columns]
        match = _match_columns(contract, source, names)
        if match.missing_required:
            raise SourceError(_missing_message(where, match, names))
        result.unexpected_columns = match.unexpected
        result.absent_columns = match.absent_columns
        return _stream_database(
            conn, contract, source, engine, match, source_columns, result, where, loaded_at
        )
    finally:
        engine.dispose()


def _dbapi_errors(engine: sa.Engine) -> tuple[type[BaseException], ...]:
    error = getattr(engine.dialect.loaded_dbapi, "Error", None)
    return (error,) if isinstance(error, type) and issubclass(error, BaseException) else ()


def _fetch_chunks(
    source_conn: sa.Connection, query: str, params: dict[str, object]
) -> Iterable[Sequence[Sequence[object]]]:
    """The query's rows, DATABASE_CHUNK_ROWS at a time, as sequences of tuples.

    SQLite: straight from the driver's cursor (it streams, and SQLAlchemy's Row objects cost more
    than the fetch itself). Other databases: SQLAlchemy with a server-side cursor where it has one.
    """
    if source_conn.dialect.name == "sqlite" and source_conn.dialect.driver == "pysqlite":
        dbapi_cursor = source_conn.connection.driver_connection.cursor()
        try:
            dbapi_cursor.execute(query, params)  # sqlite3 takes :name parameters as they are
            while rows := dbapi_cursor.fetchmany(DATABASE_CHUNK_ROWS):
                yield rows
        finally:
            dbapi_cursor.close()
        return
    stream = source_conn.execution_options(stream_results=True, yield_per=DATABASE_CHUNK_ROWS).execute(
        sa.text(query), params
    )
    yield from stream.partitions(DATABASE_CHUNK_ROWS)


def _last_source_row(conn: duckdb.DuckDBPyConnection, contract: TableContract, batch_id: str) -> int:
    """The highest `_source_row` this batch has landed in the table (0: none).

    Only a retried step has landed rows under its batch id before: the raw table is scanned then only.
    """
    retried = conn.execute(
        f"select count(*) from {_state('_load_batches')} where batch_id = ? and system = ? and source_table = ?",
        [batch_id, contract.system, contract.name],
    ).fetchone()[0]
    if not retried:
        return 0
    return conn.execute(
        f"select coalesce(max(_source_row), 0) from {raw_table_name(contract)} where _batch_id = ?",
        [batch_id],
    ).fetchone()[0]


def _stream_database(
    conn: duckdb.DuckDBPyConnection,
    contract: TableContract,
    source: TableSource,
    engine: sa.Engine,
    match: _ColumnMatch,
    source_columns: list[dict],
    result: LoadResult,
    where: str,
    loaded_at: dt.datetime,
) -> LoadResult:
    preparer = engine.dialect.identifier_preparer
    table_sql = preparer.quote(source.source_table)
    if source.source_schema:
        table_sql = f"{preparer.quote_schema(source.source_schema)}.{table_sql}"
    columns = list(match.present)  # contract names, in contract order
    select_list = ", ".join(preparer.quote(match.present[column]) for column in columns)
    cursor = contract.cursor if contract.cursor in match.present else None
    if contract.cursor and cursor is None:
        raise SourceError(f"{where}: the cursor column {source.source_column(contract.cursor)!r} is missing")

    watermark = None
    if cursor:
        row = conn.execute(
            f"select watermark from {_state('_watermarks')} where system = ? and source_table = ?",
            [contract.system, contract.name],
        ).fetchone()
        watermark = row[0] if row else None
    result.watermark_before = watermark

    query = f"select {select_list} from {table_sql}"
    params: dict[str, object] = {}
    if cursor:
        cursor_sql = preparer.quote(match.present[cursor])
        if watermark is not None:
            cursor_type = next(c["type"] for c in source_columns if c["name"] == match.present[cursor])
            query += f" where {cursor_sql} >= :watermark"
            params["watermark"] = _watermark_param(watermark, cursor_type, engine.dialect.name)
        query += f" order by {cursor_sql}"

    raw = raw_table_name(contract)
    insert_columns = ", ".join(_q(column) for column in columns)
    select_columns = ", ".join(f"c.{_q(column)}" for column in columns)
    insert_sql = (
        f"insert into {raw} ({insert_columns}, _batch_id, _loaded_at, _source, _source_row) "
        f"select {select_columns}, ?, ?, ?, c.{_ROW_COLUMN} from _klantbeeld_chunk c"
    )
    # `_source_row` numbers the batch's stream 1, 2, ... across chunks. A step retried with the same
    # batch id continues after the rows it landed before, so the numbers stay unique in the batch.
    rows_streamed = _last_source_row(conn, contract, result.batch_id)
    if cursor and watermark is not None:
        # Rows exactly at the watermark may have landed already: skip those with the same key and cursor.
        keys = [cursor, *[k for k in contract.primary_key if k != cursor]]
        conn.execute(
            f"create or replace temp table _klantbeeld_seen as "
            f"select distinct {', '.join(_q(k) for k in keys)} from {raw} where {_q(cursor)} = ?",
            [watermark],
        )
        if conn.execute("select count(*) from _klantbeeld_seen").fetchone()[0]:
            on = " and ".join(f"s.{_q(k)} is not distinct from c.{_q(k)}" for k in keys)
            insert_sql += f" where not exists (select 1 from _klantbeeld_seen s where {on})"

    new_watermark = watermark
    conn.execute("begin transaction")
    try:
        with engine.connect() as source_conn:
            for rows in _fetch_chunks(source_conn, query, params):
                transposed = zip(*rows, strict=True)  # rows -> columns
                arrays = {
                    column: text_array(values) for column, values in zip(columns, transposed, strict=True)
                }
                arrays[_ROW_COLUMN] = pa.array(np.arange(rows_streamed + 1, rows_streamed + len(rows) + 1))
                rows_streamed += len(rows)
                chunk = pa.table(arrays)
                if cursor:
                    cursor_values = chunk.column(cursor).drop_null()
                    if len(cursor_values):
                        new_watermark = cursor_values[-1].as_py()
                conn.register("_klantbeeld_chunk", chunk)
                try:
                    result.rows_loaded += conn.execute(
                        insert_sql, [result.batch_id, loaded_at, result.source_description]
                    ).fetchone()[0]
                finally:
                    conn.unregister("_klantbeeld_chunk")
        result.watermark_after = new_watermark
        if cursor:
            conn.execute(
                f"delete from {_state('_watermarks')} where system = ? and source_table = ?",
                [contract.system, contract.name],
            )
            conn.execute(
                f"insert into {_state('_watermarks')} values (?, ?, ?, ?, ?)",
                [contract.system, contract.name, cursor, new_watermark, loaded_at],
            )
        _record_batch(
            conn,
            contract,
            result.batch_id,
            loaded_at,
            result.rows_loaded,
            0,
            watermark_before=watermark,
            watermark_after=new_watermark,
        )
        _finish_batch(conn, contract, result.batch_id)
        conn.execute("commit")
    except (sa.exc.SQLAlchemyError, *_dbapi_errors(engine)) as error:
        conn.execute("rollback")
        raise _database_error(f"{where}: reading failed", error) from error
    except BaseException:
        conn.execute("rollback")
        raise
    finally:
        conn.execute("drop table if exists _klantbeeld_seen")
    return result
