"""publish(): every audience in its own file and Parquet directory, swapped in whole or not at all."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from orchestration.serve import publish as publish_module
from orchestration.serve.declarations import PublishedRelation
from orchestration.serve.publish import (
    STORAGE_VERSION,
    PublicationError,
    parquet_audience_dir,
    parquet_current_dir,
    publish,
    read_publication,
    serving_database_path,
)
from tests.unit.serve.serving_helpers import RELATIONS, build_warehouse, serving_state

T0 = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return build_warehouse(tmp_path / "warehouse.duckdb")


@pytest.fixture
def serving(tmp_path: Path) -> Path:
    return tmp_path / "serving"


def tables_in(database: Path) -> dict[str, int]:
    with duckdb.connect(str(database), read_only=True) as conn:
        names = conn.execute(
            "select schema_name || '.' || table_name from duckdb_tables() order by 1"
        ).fetchall()
        return {name: conn.execute(f"select count(*) from {name}").fetchone()[0] for (name,) in names}


def test_each_audience_gets_its_own_file_with_its_tables_and_the_publication(warehouse, serving):
    result = publish(warehouse, serving, RELATIONS, run_id="run-1", published_at=T0)

    bi, restricted = serving_database_path(serving, "bi"), serving_database_path(serving, "restricted")
    assert result.databases == {"bi": bi, "restricted": restricted}
    assert tables_in(bi) == {"bi._publication": 2, "bi.customers": 10, "bi.identity_resolution_stats": 1}
    assert tables_in(restricted) == {"restricted._publication": 1, "restricted.dim_customer": 10}
    at = T0.replace(tzinfo=None)  # published_at is stored as UTC without a zone
    assert read_publication(bi) == [
        ("customers", "bi.customers", 10, "run-1", at, STORAGE_VERSION),
        ("identity_resolution_stats", "bi.identity_resolution_stats", 1, "run-1", at, STORAGE_VERSION),
    ]
    assert {(t.audience, t.table, t.row_count) for t in result.tables} == {
        ("bi", "customers", 10),
        ("bi", "identity_resolution_stats", 1),
        ("restricted", "dim_customer", 10),
    }
    # the bi file holds no column of the restricted mart it was derived from
    with duckdb.connect(str(bi), read_only=True) as conn:
        columns = {c for (c,) in conn.execute("select column_name from duckdb_columns()").fetchall()}
    assert not columns & {"first_name", "last_name", "email", "birth_date"}
    assert not list(serving.glob("*.tmp-*")) and not list(serving.glob("*.wal"))


def test_parquet_current_points_at_the_new_version_and_keeps_only_the_previous_one(warehouse, serving):
    for day in range(3):
        build_warehouse(warehouse, customers=10 + day)
        publish(warehouse, serving, RELATIONS, run_id=f"run-{day}", published_at=T0 + timedelta(days=day))

    versions = sorted(p.name for p in parquet_audience_dir(serving, "bi").iterdir() if p.name != "current")
    assert versions == ["20260702T020000.000000Z", "20260703T020000.000000Z"]
    current = parquet_current_dir(serving, "bi")
    assert current.is_symlink() and str(current.readlink()) == versions[-1]
    with duckdb.connect() as conn:
        (rows,) = conn.execute(
            "select count(*) from read_parquet(?)", [str(current / "customers.parquet")]
        ).fetchone()
        (run_id,) = conn.execute(
            "select distinct run_id from read_parquet(?)", [str(current / "_publication.parquet")]
        ).fetchone()
    assert (rows, run_id) == (12, "run-2")
    assert sorted(p.name for p in (parquet_current_dir(serving, "restricted")).iterdir()) == [
        "_publication.parquet",
        "dim_customer.parquet",
    ]


def test_a_serving_dir_copied_without_its_links_publishes_again(warehouse, serving, tmp_path):
    """`cp -r` / `shutil.copytree` follow the `current` link and copy a real directory in its place."""
    publish(warehouse, serving, RELATIONS, run_id="run-1", published_at=T0)
    copied = tmp_path / "copied-serving"
    shutil.copytree(serving, copied)
    assert not parquet_current_dir(copied, "bi").is_symlink()

    build_warehouse(warehouse, customers=12)
    publish(warehouse, copied, RELATIONS, run_id="run-2", published_at=T0 + timedelta(days=1))
    current = parquet_current_dir(copied, "bi")
    assert current.is_symlink()
    with duckdb.connect() as conn:
        (rows,) = conn.execute(
            "select count(*) from read_parquet(?)", [str(current / "customers.parquet")]
        ).fetchone()
    assert rows == 12


def test_the_restricted_file_is_private_and_the_bi_file_readable_by_all(warehouse, serving):
    publish(warehouse, serving, RELATIONS, run_id="run-1", published_at=T0)

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(serving_database_path(serving, "bi")) == 0o644
    assert mode(serving_database_path(serving, "restricted")) == 0o600
    assert mode(parquet_audience_dir(serving, "bi")) == 0o755
    assert mode(parquet_audience_dir(serving, "restricted")) == 0o700
    assert {mode(p) for p in parquet_current_dir(serving, "restricted").iterdir()} == {0o600}
    assert {mode(p) for p in parquet_current_dir(serving, "bi").iterdir()} == {0o644}


READER = """
import sys, duckdb
conn = duckdb.connect(sys.argv[1], read_only=True)
for line in sys.stdin:
    rows = conn.execute("select count(*) from bi.customers").fetchone()[0]
    run_id = conn.execute("select distinct run_id from bi._publication").fetchone()[0]
    print(rows, run_id, flush=True)
"""


def test_a_reader_with_the_old_file_open_keeps_reading_it_while_a_new_one_is_swapped_in(warehouse, serving):
    publish(warehouse, serving, RELATIONS, run_id="run-1", published_at=T0)
    bi = serving_database_path(serving, "bi")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(bi)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:

        def ask() -> str:
            reader.stdin.write("\n")
            reader.stdin.flush()
            return reader.stdout.readline().strip()

        assert ask() == "10 run-1"
        build_warehouse(warehouse, customers=25)
        # the reader holds the serving file open (and its lock): the publication neither waits nor fails
        publish(warehouse, serving, RELATIONS, run_id="run-2", published_at=T0 + timedelta(days=1))
        assert ask() == "10 run-1", "an open connection keeps the publication it opened, complete"
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
    assert reader.returncode == 0
    assert tables_in(bi)["bi.customers"] == 25, "a new connection opens the new publication"


def test_a_failed_publication_leaves_the_previous_one_as_it_was(warehouse, serving):
    publish(warehouse, serving, RELATIONS, run_id="run-1", published_at=T0)
    before = serving_state(serving)
    build_warehouse(warehouse, customers=30)

    missing = [*RELATIONS, PublishedRelation("restricted", "identity", "no_such_table")]
    with pytest.raises(duckdb.CatalogException, match="no_such_table"):
        publish(warehouse, serving, missing, run_id="run-2", published_at=T0 + timedelta(days=1))
    assert serving_state(serving) == before

    assert tables_in(serving_database_path(serving, "bi"))["bi.customers"] == 10


def test_a_copy_whose_row_count_differs_from_its_source_is_never_swapped_in(warehouse, serving, monkeypatch):
    publish(warehouse, serving, RELATIONS, run_id="run-1", published_at=T0)
    before = serving_state(serving)
    real_row_count = publish_module._row_count

    def short_copy(conn, relation):
        rows = real_row_count(conn, relation)
        return rows - 1 if relation.startswith('"publication_') else rows  # the copies

    monkeypatch.setattr(publish_module, "_row_count", short_copy)
    with pytest.raises(PublicationError, match="rows copied"):
        publish(warehouse, serving, RELATIONS, run_id="run-2", published_at=T0 + timedelta(days=1))
    assert serving_state(serving) == before


def test_a_relation_no_longer_declared_disappears_from_its_file(warehouse, serving):
    publish(warehouse, serving, RELATIONS, run_id="run-1", published_at=T0)
    bi_only = [r for r in RELATIONS if r.audience == "bi"]
    publish(warehouse, serving, bi_only, run_id="run-2", published_at=T0 + timedelta(days=1))
    assert tables_in(serving_database_path(serving, "restricted")) == {"restricted._publication": 0}
    assert [p.name for p in parquet_current_dir(serving, "restricted").iterdir()] == ["_publication.parquet"]


HOLD_LOCK = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(float(sys.argv[2]))"


def test_publication_waits_while_another_process_writes_the_warehouse(warehouse, serving):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(warehouse), "1.5"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    publish(warehouse, serving, RELATIONS, run_id="run-1", published_at=T0, lock_wait_seconds=30)
    holder.wait(timeout=30)
    assert time.monotonic() - started >= 0.5
    assert tables_in(serving_database_path(serving, "bi"))["bi.customers"] == 10


def test_an_unknown_audience_is_refused_before_anything_is_written(warehouse, serving):
    with pytest.raises(ValueError, match="unknown audiences"):
        publish(warehouse, serving, [PublishedRelation("public", "bi", "customers")], run_id="run-1")
    assert not serving.exists()
