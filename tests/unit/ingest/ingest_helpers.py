"""Helpers for the extraction tests: tiny hand-made sources and state checks."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import duckdb

LOADED_AT = dt.datetime(2024, 3, 1, 2, 0, 0)


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]], sep: str = ",") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [sep.join(header)] + [sep.join("" if v is None else str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_sqlite(path: Path, ddl: str, rows: Sequence[Sequence[object]], table: str) -> Path:
    """A SQLite database with one table, the way the simulator writes them (text timestamps, 0/1)."""
    with sqlite3.connect(path) as db:
        db.execute(ddl)
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            db.executemany(f"insert into {table} values ({marks})", rows)
    return path


def sqlite_exec(path: Path, sql: str, params: Sequence[object] = ()) -> None:
    with sqlite3.connect(path) as db:
        db.execute(sql, params)


def raw_rows(conn: duckdb.DuckDBPyConnection, raw_table: str, columns: str, order: str = "1") -> list[tuple]:
    return conn.execute(f'select {columns} from raw."{raw_table}" order by {order}').fetchall()


def state_is_consistent(conn: duckdb.DuckDBPyConnection, system: str, table: str) -> bool:
    """Rows in the raw table == rows recorded in `_load_batches` (and `_loaded_files` for files)."""
    raw = conn.execute(f'select count(*) from raw."{system}__{table}"').fetchone()[0]
    batches = conn.execute(
        "select coalesce(sum(rows_loaded), 0) from raw._load_batches where system = ? and source_table = ?",
        [system, table],
    ).fetchone()[0]
    per_batch = conn.execute(
        f"""select count(*) from (
              select b.batch_id, b.rows_loaded, count(r._batch_id) as n
              from raw._load_batches b left join raw."{system}__{table}" r on r._batch_id = b.batch_id
              where b.system = ? and b.source_table = ? group by all) where rows_loaded <> n""",
        [system, table],
    ).fetchone()[0]
    return raw == batches and per_batch == 0
