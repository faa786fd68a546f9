"""BI access during the nightly run: a reader in another process queries the serving file in a loop
while the next run writes the warehouse and publishes; it never sees an error or a half-built table,
and a failed run leaves the publication exactly as it was.

One module fixture runs the pipeline three times on a copy of the small world: run 1, then run 2 on
the next simulated day with the reader looping, then run 3 with a broken source file.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.dbt_project import dbt_project
from orchestration.serve.declarations import load_published_relations
from orchestration.serve.publish import parquet_current_dir, read_publication, serving_database_path
from orchestration.stages.serve.assets import PUBLICATION_KEY
from tests.integration.pipeline import run_nightly
from tests.unit.serve.serving_helpers import serving_state

pytestmark = pytest.mark.integration

BI_TABLES = sorted(r.table for r in load_published_relations(dbt_project.manifest_path) if r.audience == "bi")

# Open the bi file read-only, check that every expected table is listed in `_publication` with the row
# count it really has, close; again until the stop file appears. Prints a JSON summary at the end.
READER = """
import json, os, sys, time
import duckdb
path, stop, expected = sys.argv[1], sys.argv[2], sorted(json.loads(sys.argv[3]))
reads, errors, seen = 0, [], {}
print("started", flush=True)
while not os.path.exists(stop):
    try:
        with duckdb.connect(path, read_only=True) as conn:
            published = conn.execute("select table_name, row_count, run_id from bi._publication").fetchall()
            if sorted(table for table, _, _ in published) != expected:
                raise AssertionError(f"_publication lists {sorted(t for t, _, _ in published)}")
            for table, rows, _ in published:
                (count,) = conn.execute(f'select count(*) from bi."{table}"').fetchone()
                if count != rows:
                    raise AssertionError(f"bi.{table} has {count} rows, _publication says {rows}")
            (run_id,) = {run_id for _, _, run_id in published}
        reads += 1
        first, last = seen.get(run_id, (time.time(), None))
        seen[run_id] = (first, time.time())
    except Exception as error:
        errors.append(f"{type(error).__name__}: {error}")
    time.sleep(0.05)
print(json.dumps({"reads": reads, "errors": errors[:20], "error_count": len(errors), "seen": seen}))
"""


def fingerprint(data_dir: Path) -> dict[str, tuple]:
    return serving_state(data_dir / "serving")


@pytest.fixture(scope="module")
def served(small_world_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    import simulator

    data_dir = tmp_path_factory.mktemp("serving") / "data"
    shutil.copytree(small_world_template, data_dir)
    bi = serving_database_path(data_dir / "serving", "bi")
    runs: dict = {"data_dir": data_dir}

    runs["first"] = run_nightly(data_dir)
    assert runs["first"].success, "the first nightly run failed: nothing to serve"

    stop = data_dir.parent / "stop-reader"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(bi), str(stop), json.dumps(BI_TABLES)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "started"
        simulator.advance(data_dir, days=1)
        runs["second_started"] = time.time()
        runs["second"] = run_nightly(data_dir)
        runs["second_finished"] = time.time()
        time.sleep(2)  # a few more reads, of the new publication
        stop.touch()
        out, err = reader.communicate(timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert reader.returncode == 0, err
    runs["reader"] = json.loads(out.strip().splitlines()[-1])

    # A drop that lost a required column: its extraction asset fails, so dbt and the publication skip.
    broken = data_dir / "sources" / "pos" / "receipts" / "receipts_2099-01-01.csv"
    broken.write_text("receipt_id,store_id,receipt_ts\nR-X1,S01,2099-01-01 10:00:00\n", encoding="utf-8")
    runs["before_failure"] = fingerprint(data_dir)
    runs["failed"] = run_nightly(data_dir, raise_on_error=False)
    runs["after_failure"] = fingerprint(data_dir)
    return runs


def run_ids_seen(served: dict) -> dict[str, tuple[float, float]]:
    return {run_id: tuple(times) for run_id, times in served["reader"]["seen"].items()}


def test_a_reader_during_the_nightly_run_never_sees_an_error_or_a_half_built_table(served):
    reader = served["reader"]
    assert served["second"].success, "the run must not be blocked by a reader of the serving file"
    assert reader["error_count"] == 0, reader["errors"]
    assert reader["reads"] >= 100, f"only {reader['reads']} reads: the loop did not really run"


def test_the_reader_read_all_through_the_run_and_saw_the_swap(served):
    first, second = served["first"].run_id, served["second"].run_id
    seen = run_ids_seen(served)
    assert set(seen) == {first, second}
    # still reading the first publication after the second run had started (while dbt rebuilt the
    # marts), then the second one once it was swapped in
    assert seen[first][1] > served["second_started"]
    assert seen[second][0] > seen[first][0]


def test_the_publication_reflects_the_second_run(served):
    data_dir, run_id = served["data_dir"], served["second"].run_id
    serving = data_dir / "serving"
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        in_warehouse = {
            (r.audience, r.table): conn.execute(f'select count(*) from "{r.schema}"."{r.table}"').fetchone()[
                0
            ]
            for r in load_published_relations(dbt_project.manifest_path)
        }
    published = {}
    for audience in ("bi", "restricted"):
        for table, _, rows, published_run, _, _ in read_publication(serving_database_path(serving, audience)):
            assert published_run == run_id
            published[(audience, table)] = rows
    assert published == in_warehouse
    with duckdb.connect() as conn:
        (parquet_run,) = conn.execute(
            "select distinct run_id from read_parquet(?)",
            [str(parquet_current_dir(serving, "bi") / "_publication.parquet")],
        ).fetchone()
    assert parquet_run == run_id
    # the version of the first run is kept for readers still in it; nothing older exists
    assert len([p for p in parquet_current_dir(serving, "bi").parent.iterdir() if p.name != "current"]) == 2
    materialized = served["second"].asset_materializations_for_node("serving__publication")
    assert [m.asset_key for m in materialized] == [PUBLICATION_KEY]


def test_bi_gets_no_direct_identifiers_and_the_restricted_file_is_private(served):
    serving = served["data_dir"] / "serving"
    bi, restricted = serving_database_path(serving, "bi"), serving_database_path(serving, "restricted")
    with duckdb.connect(str(bi), read_only=True) as conn:
        bi_columns = {c for (c,) in conn.execute("select column_name from duckdb_columns()").fetchall()}
    with duckdb.connect(str(restricted), read_only=True) as conn:
        restricted_columns = {
            c
            for (c,) in conn.execute(
                "select column_name from duckdb_columns() where table_name = 'dim_customer'"
            ).fetchall()
        }
    identifiers = {
        "first_name",
        "last_name",
        "email",
        "phone",
        "street",
        "house_number",
        "postcode",
        "birth_date",
    }
    assert not bi_columns & identifiers
    assert {"customer_key", "birth_year", "age_band", "postcode4", "has_email_consent"} <= bi_columns
    assert identifiers <= restricted_columns
    assert stat.S_IMODE(bi.stat().st_mode) == 0o644
    assert stat.S_IMODE(restricted.stat().st_mode) == 0o600


def test_a_failed_run_leaves_the_publication_untouched(served):
    failed: dg.ExecuteInProcessResult = served["failed"]
    assert not failed.success
    failures = [e.step_key for e in failed.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failures == ["raw__pos__receipts"]
    succeeded = {e.step_key for e in failed.all_events if e.event_type_value == "STEP_SUCCESS"}
    assert not {"dbt_models", "serving__publication"} & succeeded, "dbt and the publication must not run"
    assert served["after_failure"] == served["before_failure"], "the serving files changed"
