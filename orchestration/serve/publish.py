"""Publish warehouse relations into read-only serving files for BI tools, swapped in atomically.

DuckDB lets one process write a database file, and a reader in another process blocks that writer
too (STACK.md). So BI tools never open the warehouse. At the end of a successful run every audience
(`bi`, `restricted`) gets a new database file, written beside the old one under a temporary name and
then renamed over it, and a new Parquet version directory that a `current` symlink is swapped to:

    <serving>/klantbeeld_<audience>.duckdb            schema <audience>: the tables + `_publication`
    <serving>/parquet/<audience>/<version>/<table>.parquet
    <serving>/parquet/<audience>/current -> <version>   (the previous version is kept for open readers)

A rename is atomic: a client opens either yesterday's complete file or today's, and one that has
yesterday's open keeps reading it (the old inode lives until it is closed). Nothing is swapped before
every table of every audience is copied and its row count checked; on any error the temporary files
are removed and the previous publication stays as it was.

The files are written in DuckDB's v1.0.0 storage format, so every 1.x driver of a BI tool opens them
(measured: a v1.4.0 file does not open in DuckDB 1.0-1.3; tests/unit/serve/test_duckdb_1x_client.py).
DuckDB has no users or grants: the access boundary is the file, so the restricted file is mode 0600
(its Parquet directory 0700) and the bi file 0644.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.serve.declarations import AUDIENCES, PublishedRelation

STORAGE_VERSION = "v1.0.0"  # the oldest 1.x format: DuckDB 1.0 and later open it
PUBLICATION_TABLE = "_publication"
FILE_MODES = {"bi": 0o644, "restricted": 0o600}
DIRECTORY_MODES = {"bi": 0o755, "restricted": 0o700}
VERSION_FORMAT = "%Y%m%dT%H%M%S.%fZ"
VERSION_PATTERN = re.compile(r"^\d{8}T\d{6}\.\d{6}Z$")
CURRENT_LINK = "current"


class PublicationError(RuntimeError):
    """A copy that does not match its source: nothing was swapped."""


@dataclass(frozen=True)
class PublishedTable:
    audience: str
    table: str
    source: str
    row_count: int


@dataclass(frozen=True)
class Publication:
    """What one publication wrote: the files BI tools open now, and the tables with their row counts."""

    run_id: str
    published_at: datetime
    version: str
    storage_version: str
    databases: dict[str, Path]
    parquet_dirs: dict[str, Path]
    tables: tuple[PublishedTable, ...]


def serving_database_path(serving_dir: Path, audience: str) -> Path:
    """`klantbeeld_<audience>.duckdb`, not `<audience>.duckdb`: DuckDB names the catalog after the file,
    and a catalog `bi` beside the schema `bi` makes `bi.customers` ambiguous (a Binder Error)."""
    return serving_dir / f"klantbeeld_{audience}.duckdb"


def parquet_audience_dir(serving_dir: Path, audience: str) -> Path:
    return serving_dir / "parquet" / audience


def parquet_current_dir(serving_dir: Path, audience: str) -> Path:
    return parquet_audience_dir(serving_dir, audience) / CURRENT_LINK


@dataclass
class _Staged:
    """One audience's new publication, written under temporary names until the swap."""

    audience: str
    temp_database: Path
    database: Path
    version_dir: Path
    tables: list[PublishedTable] = field(default_factory=list)
    created_version_dir: bool = False

    @classmethod
    def plan(cls, serving_dir: Path, audience: str, version: str, token: str) -> _Staged:
        database = serving_database_path(serving_dir, audience)
        return cls(
            audience=audience,
            temp_database=database.with_name(f"{database.name}.tmp-{token}"),
            database=database,
            version_dir=parquet_audience_dir(serving_dir, audience) / version,
        )

    def remove(self) -> None:
        """Delete what this publication wrote (never a version directory it did not create)."""
        for path in (self.temp_database, wal_path(self.temp_database)):
            path.unlink(missing_ok=True)
        if self.created_version_dir:
            shutil.rmtree(self.version_dir, ignore_errors=True)


def publish(
    warehouse: Path,
    serving_dir: Path,
    relations: Sequence[PublishedRelation],
    run_id: str,
    *,
    published_at: datetime | None = None,
    lock_wait_seconds: float = 60.0,
) -> Publication:
    """Copy `relations` from the warehouse into every audience's serving file and Parquet directory,
    then swap them in. Every audience is written each time (an audience without relations gets only
    its `_publication` table), so a relation no longer declared disappears from the serving files."""
    unknown = sorted({r.audience for r in relations} - set(AUDIENCES))
    if unknown:
        raise ValueError(f"unknown audiences {unknown}: expected {', '.join(AUDIENCES)}")
    published_at = (published_at or datetime.now(UTC)).astimezone(UTC)
    version = published_at.strftime(VERSION_FORMAT)
    token = re.sub(r"[^A-Za-z0-9-]", "_", run_id)
    serving_dir.mkdir(parents=True, exist_ok=True)
    staged = [_Staged.plan(serving_dir, audience, version, token) for audience in AUDIENCES]
    spill_dir = serving_dir / f".spill-{token}"
    try:
        # One in-memory connection with the warehouse attached read-only for the whole publication:
        # no process can write the warehouse meanwhile, so every audience gets the same state of it.
        with duckdb.connect(":memory:", config={"temp_directory": str(spill_dir)}) as conn:
            _attach_waiting_for_lock(conn, warehouse, lock_wait_seconds)
            for stage in staged:
                stage.remove()  # a retried step of the same run starts clean
                _write(
                    conn, stage, [r for r in relations if r.audience == stage.audience], run_id, published_at
                )
    except BaseException:
        for stage in staged:
            stage.remove()
        raise
    finally:
        shutil.rmtree(spill_dir, ignore_errors=True)
    for stage in staged:
        stage.temp_database.replace(stage.database)  # rename(2): atomic
    for stage in staged:
        _swap_current(stage.version_dir)
    return Publication(
        run_id=run_id,
        published_at=published_at,
        version=version,
        storage_version=STORAGE_VERSION,
        databases={stage.audience: stage.database for stage in staged},
        parquet_dirs={stage.audience: stage.version_dir for stage in staged},
        tables=tuple(table for stage in staged for table in stage.tables),
    )


def _write(
    conn: duckdb.DuckDBPyConnection,
    stage: _Staged,
    relations: Sequence[PublishedRelation],
    run_id: str,
    published_at: datetime,
) -> None:
    """Write one audience's temporary database file and Parquet version directory."""
    audience = stage.audience
    database = quote(f"publication_{audience}")
    target = f"{database}.{quote(audience)}"
    _make_dir(stage.version_dir, DIRECTORY_MODES[audience])
    stage.created_version_dir = True
    conn.execute(
        f"attach {literal(str(stage.temp_database))} as {database} (storage_version {literal(STORAGE_VERSION)})"
    )
    conn.execute(f"create schema {target}")
    for relation in relations:
        source = f"warehouse.{quote(relation.schema)}.{quote(relation.table)}"
        copy = f"{target}.{quote(relation.table)}"
        conn.execute(f"create table {copy} as select * from {source}")
        source_rows, copied_rows = _row_count(conn, source), _row_count(conn, copy)
        if copied_rows != source_rows:
            raise PublicationError(
                f"{audience}.{relation.table}: {copied_rows} rows copied, {relation.source} has {source_rows}"
            )
        stage.tables.append(PublishedTable(audience, relation.table, relation.source, copied_rows))
    _write_publication_table(conn, target, stage.tables, run_id, published_at)
    for table in [*(t.table for t in stage.tables), PUBLICATION_TABLE]:
        parquet = stage.version_dir / f"{table}.parquet"
        conn.execute(f"copy {target}.{quote(table)} to {literal(str(parquet))} (format parquet)")
        expected = _row_count(conn, f"{target}.{quote(table)}")
        written = _row_count(conn, f"read_parquet({literal(str(parquet))})")
        if written != expected:
            raise PublicationError(f"{parquet}: {written} rows written, {expected} expected")
        parquet.chmod(FILE_MODES[audience])
    conn.execute(f"checkpoint {database}")
    conn.execute(f"detach {database}")
    # A checkpointed, detached database has no write-ahead log; one left over would be a bug.
    if wal_path(stage.temp_database).exists():
        raise PublicationError(f"{wal_path(stage.temp_database)} left after checkpoint")
    stage.temp_database.chmod(FILE_MODES[audience])


def _write_publication_table(
    conn: duckdb.DuckDBPyConnection,
    target: str,
    tables: Sequence[PublishedTable],
    run_id: str,
    published_at: datetime,
) -> None:
    """`<audience>._publication`: one row per table of the file, written last."""
    conn.execute(
        f"create table {target}.{PUBLICATION_TABLE} ("
        "table_name varchar not null, source_relation varchar not null, row_count bigint not null, "
        "run_id varchar not null, published_at timestamp not null, storage_version varchar not null)"
    )
    conn.execute(
        f"comment on table {target}.{PUBLICATION_TABLE} is "
        f"{literal('The tables of this publication and their row counts; published_at is in UTC.')}"
    )
    for table in tables:
        conn.execute(
            f"insert into {target}.{PUBLICATION_TABLE} values (?, ?, ?, ?, ?, ?)",
            [
                table.table,
                table.source,
                table.row_count,
                run_id,
                published_at.replace(tzinfo=None),
                STORAGE_VERSION,
            ],
        )


def _row_count(conn: duckdb.DuckDBPyConnection, relation: str) -> int:
    (rows,) = conn.execute(f"select count(*) from {relation}").fetchone()
    return int(rows)


def _attach_waiting_for_lock(conn: duckdb.DuckDBPyConnection, warehouse: Path, wait_seconds: float) -> None:
    """ATTACH the warehouse read-only, waiting (with backoff) while another process writes it."""
    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}")
    deadline = time.monotonic() + wait_seconds
    delay = 0.1
    while True:
        try:
            conn.execute(f"attach {literal(str(warehouse))} as warehouse (read_only)")
            return
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _make_dir(path: Path, mode: int) -> None:
    """Create `path` (it must be new) and its audience directory with `mode` whatever the umask."""
    path.mkdir(parents=True)
    for directory in (path.parent, path):
        directory.chmod(mode)


def _swap_current(version_dir: Path) -> None:
    """Point `current` at `version_dir` with one rename, keep the version it pointed at before (a
    reader may still be in it), delete older ones."""
    audience_dir = version_dir.parent
    current = audience_dir / CURRENT_LINK
    previous = current_version(audience_dir)
    temp_link = audience_dir / f".{CURRENT_LINK}.tmp-{version_dir.name}"
    with suppress(FileNotFoundError):
        temp_link.unlink()
    temp_link.symlink_to(version_dir.name)  # relative: the serving directory can move
    if current.is_dir() and not current.is_symlink():
        # a copy of the data directory that followed the link (e.g. `cp -r`): a rename cannot replace
        # a directory, and this one only duplicates a version
        shutil.rmtree(current)
    temp_link.replace(current)
    for old in _version_dirs(audience_dir):
        if old.name not in {version_dir.name, previous}:
            shutil.rmtree(old, ignore_errors=True)


def current_version(audience_dir: Path) -> str | None:
    """The version `current` points at, if any."""
    current = audience_dir / CURRENT_LINK
    return str(current.readlink()) if current.is_symlink() else None


def _version_dirs(audience_dir: Path) -> Iterator[Path]:
    for path in sorted(audience_dir.iterdir()):
        if VERSION_PATTERN.match(path.name) and path.is_dir() and not path.is_symlink():
            yield path


def wal_path(database: Path) -> Path:
    return database.with_name(database.name + ".wal")


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def read_publication(database: Path) -> list[tuple[str, str, int, str, datetime, str]]:
    """The `_publication` rows of a serving file, by table name (opened read-only, closed again)."""
    audience = database.stem.removeprefix("klantbeeld_")
    with duckdb.connect(str(database), read_only=True) as conn:
        return conn.execute(
            f"select * from {quote(audience)}.{PUBLICATION_TABLE} order by table_name"
        ).fetchall()
