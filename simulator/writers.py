"""Writers per form: databases through SQLAlchemy (any URL), daily CSV and JSON-lines files."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from simulator.contract import column_types, columns, contract, primary_key
from simulator.textops import S, arrow_strings

Table = dict[str, np.ndarray]
INSERT_BATCH = 20_000


class Timestamp(TypeDecorator[Any]):
    """ISO text 'YYYY-MM-DD HH:MM:SS' in SQLite (compares correctly as text), a real timestamp elsewhere."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(19))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name == "sqlite" or not isinstance(value, str):
            return value
        return datetime.fromisoformat(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S")
        return value


_SA_TYPES: dict[str, Any] = {
    "string": sa.String,
    "integer": sa.BigInteger,
    "decimal": sa.Float,
    "boolean": sa.SmallInteger,  # 0/1: portable and what operational systems often hold
    "date": lambda: sa.String(10),  # as typed: bad dates must survive
    "timestamp": Timestamp,
}


def sa_table(metadata: sa.MetaData, system: str, table: str) -> sa.Table:
    pk = primary_key(system, table)
    cols = [
        sa.Column(name, _SA_TYPES[typ](), primary_key=name in pk, nullable=name not in pk)
        for name, typ in column_types(system, table).items()
    ]
    t = sa.Table(table, metadata, *cols)
    if "updated_at" in column_types(system, table):
        sa.Index(f"ix_{table}_updated_at", t.c.updated_at)
    return t


def to_frame(t: Table, system: str, table: str, for_db: bool) -> pd.DataFrame:
    """Contract columns in contract order; empty strings and NaN become nulls."""
    types = column_types(system, table)
    n = len(next(iter(t.values()))) if t else 0
    data: dict[str, Any] = {}
    for c, typ in types.items():
        a = t.get(c)
        if a is None:
            data[c] = pd.array([None] * n, dtype="object")
            continue
        if a.dtype.kind == "T" or a.dtype.kind == "U":
            obj = a.astype(object)
            obj[a == ""] = None
            data[c] = obj
        elif typ == "boolean":
            data[c] = a.astype(np.int64) if for_db else a.astype(bool)
        elif a.dtype.kind == "f":
            obj = np.round(a, 2).astype(object)
            obj[np.isnan(a)] = None
            data[c] = obj
        elif typ == "integer" and c == "satisfaction":
            obj = a.astype(object)
            obj[a < 0] = None
            data[c] = obj
        else:
            data[c] = a.astype(np.int64) if a.dtype.kind in "iub" else a
    return pd.DataFrame(data, columns=list(types))


def write_database(
    url: str, system: str, tables: Mapping[str, pd.DataFrame], *, create: bool = False
) -> dict[str, int]:
    """Upsert contract-shaped frames into the system's tables at any SQLAlchemy URL (created if missing;
    dropped and recreated with create=True). Rows are matched on the contract primary key."""
    engine = sa.create_engine(url)
    md = sa.MetaData()
    sa_tables = {name: sa_table(md, system, name) for name in contract()[system]["tables"]}
    counts: dict[str, int] = {}
    try:
        if create:
            md.drop_all(engine)
        md.create_all(engine)
        with engine.begin() as conn:
            for name, frame in tables.items():
                counts[name] = _upsert(conn, sa_tables[name], frame, primary_key(system, name))
    finally:
        engine.dispose()
    return counts


def _upsert(conn: sa.Connection, table: sa.Table, frame: pd.DataFrame, pk: list[str]) -> int:
    if frame.empty:
        return 0
    cols = list(frame.columns)
    dialect = conn.dialect.name
    values = [frame[c].to_numpy(dtype=object) for c in cols]
    if dialect == "sqlite":
        updates = ", ".join(f'"{c}" = excluded."{c}"' for c in cols if c not in pk)
        sql = (
            f'INSERT INTO "{table.name}" ({", ".join(f"{chr(34)}{c}{chr(34)}" for c in cols)}) '
            f"VALUES ({', '.join('?' for _ in cols)}) "
            f"ON CONFLICT ({', '.join(pk)}) DO UPDATE SET {updates}"
        )
        rows = list(zip(*[v.tolist() for v in values], strict=True))
        for i in range(0, len(rows), INSERT_BATCH):
            conn.exec_driver_sql(sql, rows[i : i + INSERT_BATCH])
        return len(rows)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=pk, set_={c: stmt.excluded[c] for c in cols if c not in pk}
        )
        for i in range(0, len(records), INSERT_BATCH):
            conn.execute(stmt, records[i : i + INSERT_BATCH])
        return len(records)
    # any other database: delete the keys, then insert (one transaction)
    key = frame[pk].astype(str).agg("|".join, axis=1) if len(pk) > 1 else None
    for i in range(0, len(records), INSERT_BATCH):
        batch = frame.iloc[i : i + INSERT_BATCH]
        if key is None:
            conn.execute(table.delete().where(table.c[pk[0]].in_(batch[pk[0]].tolist())))
        else:
            for rec in batch[pk].to_dict("records"):  # composite keys: rare in this contract
                conn.execute(table.delete().where(sa.and_(*(table.c[k] == v for k, v in rec.items()))))
        conn.execute(table.insert(), records[i : i + INSERT_BATCH])
    return len(records)


# ------------------------------------------------------------------ files
def _arrow(frame: pd.DataFrame, system: str, table: str) -> pa.Table:
    types = column_types(system, table)
    arrays = []
    for c in frame.columns:
        typ = types[c]
        col = frame[c]
        if typ == "boolean":
            arrays.append(pa.array(col.to_numpy(dtype=object), type=pa.bool_(), from_pandas=True))
        elif typ == "decimal":
            arrays.append(pa.array(col.to_numpy(dtype=object), type=pa.float64(), from_pandas=True))
        elif typ == "integer" and col.dtype.kind in "iu":
            arrays.append(pa.array(col.to_numpy(), type=pa.int64()))
        elif typ == "integer":
            arrays.append(pa.array(col.to_numpy(dtype=object), type=pa.int64(), from_pandas=True))
        else:
            arrays.append(pa.array(col.to_numpy(dtype=object), type=pa.string(), from_pandas=True))
    return pa.Table.from_arrays(arrays, names=list(frame.columns))


def arrow_table(t: Table, system: str, table: str) -> pa.Table:
    """Contract columns straight from numpy arrays (empty strings, NaN and negative satisfaction → null)."""
    types = column_types(system, table)
    n = len(next(iter(t.values()))) if t else 0
    arrays = []
    for c, typ in types.items():
        a = t.get(c)
        if a is None:
            arrays.append(pa.nulls(n, pa.string()))
        elif a.dtype.kind in "TU":
            arrays.append(arrow_strings(a, mask=a == ""))
        elif a.dtype.kind == "O":
            arrays.append(pa.array(np.where(a == "", None, a), type=pa.string(), from_pandas=True))
        elif typ == "boolean":
            arrays.append(pa.array(a.astype(bool), type=pa.bool_()))
        elif typ == "decimal":
            arrays.append(
                pa.array(
                    np.round(a.astype(np.float64), 2), type=pa.float64(), mask=np.isnan(a.astype(np.float64))
                )
            )
        elif typ == "integer":
            arrays.append(
                pa.array(a.astype(np.int64), type=pa.int64(), mask=a < 0 if c == "satisfaction" else None)
            )
        else:
            arrays.append(arrow_strings(a.astype(S)))
    return pa.Table.from_arrays(arrays, names=list(types))


def jsonl_lines(tbl: pa.Table) -> np.ndarray:
    """One JSON object per row (nulls written as null), rendered by DuckDB."""
    con = duckdb.connect()
    try:
        con.register("rows_in", tbl)
        out = con.sql("select to_json(t)::varchar as j from rows_in t").to_arrow_table()
    finally:
        con.close()
    return out.column("j").to_numpy(zero_copy_only=False)


_HEADERS: dict[tuple[str, str], bytes] = {}


def header(system: str, table: str) -> bytes:
    if (system, table) not in _HEADERS:
        _HEADERS[(system, table)] = (",".join(f'"{c}"' for c in columns(system, table)) + "\n").encode()
    return _HEADERS[(system, table)]


def write_day(
    path: Path, system: str, table: str, fmt: str, data: pa.Table | np.ndarray | None, new: bool
) -> None:
    """Write (new=True: create with the CSV header, also for a day without rows) or append a day's rows."""
    if data is None or len(data) == 0:
        if new:
            path.write_bytes(header(system, table) if fmt == "csv" else b"")
        return
    with path.open("wb" if new else "ab") as f:
        if fmt == "csv":
            if new:
                f.write(header(system, table))
            pacsv.write_csv(data, f, pacsv.WriteOptions(include_header=False))
        else:
            f.write(("\n".join(data.tolist()) + "\n").encode("utf-8"))


def write_snapshot(path: Path, frame: pd.DataFrame, system: str, table: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(_arrow(frame[columns(system, table)], system, table), path)
