"""Fixtures of the integration tests: the nightly job run after run on the small world, and a
mid-sized world with hand-planted customers on which it has run once."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from orchestration.dbt_project import dbt_project
from orchestration.identity.evaluate import evaluate_warehouse
from orchestration.serve.declarations import load_published_relations
from orchestration.serve.publish import serving_database_path
from tests.conftest import WORLD_END_DATE
from tests.integration.bad_input import copy_world, landed_fingerprint, plant_bad_rows, plant_broken_inputs
from tests.integration.pipeline import (
    identity_map,
    key_history,
    landed_counts,
    new_source_rows,
    plant_login_of_anonymous_cookie,
    row_counts,
    run_nightly,
)
from tests.integration.planted import plant_customers
from tests.integration.serving_reader import reader_looping
from tests.unit.serve.serving_helpers import serving_state

# Enough people that per-segment campaign response rates have usable intervals; one year of history.
MARTS_WORLD_PEOPLE = 2000


@pytest.fixture(scope="session")
def marts_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~2,000-person world (seed 7, last day 2026-06-30) with the customers of
    `tests/integration/planted.py` added, after one nightly run. Read-only for the tests: open the
    warehouse with `duckdb.connect(str(path / "warehouse.duckdb"), read_only=True)`."""
    import simulator

    data_dir = tmp_path_factory.mktemp("marts-world")
    simulator.generate(
        data_dir, n_people=MARTS_WORLD_PEOPLE, seed=7, end_date=WORLD_END_DATE, history_days=365
    )
    plant_customers(data_dir)
    result = run_nightly(data_dir)
    assert result.success
    return data_dir


@pytest.fixture(scope="session")
def nightly_runs(small_world_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The nightly job on a copy of the small world, as the tests of loading, identity and serving
    need it (with what they check captured after each run): run 1; run 2 with no new data; the simulator's next day
    with an anonymous cookie's login to a known account planted in it, then run 3 while a reader in another
    process queries the bi serving file in a loop; finally, on a copy a day later, a run with ten kinds
    of broken source input (their extractions fail, so dbt and the publication must not run)."""
    import simulator

    data_dir = tmp_path_factory.mktemp("nightly") / "data"
    shutil.copytree(small_world_template, data_dir)
    warehouse = data_dir / "warehouse.duckdb"
    runs: dict = {"data_dir": data_dir}
    runs["first"] = run_nightly(data_dir)
    runs["raw_after_first"] = landed_counts(data_dir)
    runs["staging_after_first"] = row_counts(data_dir, "staging")
    runs["identity_quality_after_first"] = evaluate_warehouse(data_dir, scopes=("profile", "all"))
    runs["identity_map_after_first"] = identity_map(data_dir)
    runs["second"] = run_nightly(data_dir)
    runs["raw_after_second"] = landed_counts(data_dir)
    runs["identity_map_after_second"] = identity_map(data_dir)
    runs["key_history_after_second"] = key_history(data_dir)
    simulator.advance(data_dir, days=1)
    # the new day also holds a login of an anonymous cookie to a known account (test_identity_resolution)
    runs["login"] = plant_login_of_anonymous_cookie(data_dir)
    runs["expected_new_rows"] = new_source_rows(data_dir, warehouse)

    bi_tables = sorted(
        r.table for r in load_published_relations(dbt_project.manifest_path) if r.audience == "bi"
    )
    bi_database = serving_database_path(data_dir / "serving", "bi")
    with reader_looping(bi_database, bi_tables, data_dir.parent / "stop-reader") as reader:
        runs["third_started"] = time.time()
        runs["third"] = run_nightly(data_dir)
        time.sleep(2)  # a few more reads, of the new publication
    runs["reader"] = reader
    runs["raw_after_third"] = landed_counts(data_dir)
    runs["identity_map_after_third"] = identity_map(data_dir)
    runs["key_history_after_third"] = key_history(data_dir)

    # A drop that lost a required column and nine other bad inputs, each in its own table, on a copy
    # a day later (tests/integration/test_bad_input.py): their extraction assets fail (a new column
    # only warns), so dbt and the publication skip and the serving files stay as they were.
    failing = copy_world(data_dir, data_dir.parent / "failing")
    simulator.advance(failing, days=1)
    runs["broken_inputs"] = plant_broken_inputs(failing)
    runs["failing_dir"] = failing
    runs["landed_before_failure"] = landed_fingerprint(failing)
    runs["serving_before_failure"] = serving_state(failing / "serving")
    runs["failed"] = run_nightly(failing, raise_on_error=False)
    runs["serving_after_failure"] = serving_state(failing / "serving")
    return runs


@pytest.fixture(scope="session")
def bad_rows_run(nightly_runs: dict) -> dict:
    """The nightly job a day after `nightly_runs`' third run, on a copy, with bad rows planted in the
    new drops and the source databases next to valid ones (tests/integration/bad_input.py): what the
    sources hold that is new, the serving files before and after, and the run."""
    import simulator

    data_dir = copy_world(nightly_runs["data_dir"], nightly_runs["data_dir"].parent / "bad-rows")
    assert landed_counts(data_dir) == nightly_runs["raw_after_third"], "the shared world changed after run 3"
    simulator.advance(data_dir, days=1)
    run: dict = {"data_dir": data_dir, "planted": plant_bad_rows(data_dir)}
    run["expected_new_rows"] = new_source_rows(data_dir, data_dir / "warehouse.duckdb")
    run["serving_before"] = serving_state(data_dir / "serving")
    run["result"] = run_nightly(data_dir, raise_on_error=False)
    run["serving_after"] = serving_state(data_dir / "serving")
    return run
