"""BI access during the nightly run: a reader in another process queries the serving file in a loop
while the next run writes the warehouse and publishes; it never sees an error or a half-built table,
and a failed run leaves the publication exactly as it was.

The runs are the shared `nightly_runs` (tests/integration/conftest.py): the reader loops during the
run of the next simulated day, and a run with a broken source file follows on a copy.
"""

from __future__ import annotations

import stat

import dagster as dg
import duckdb
import pytest

from orchestration.dbt_project import dbt_project
from orchestration.serve.declarations import load_published_relations
from orchestration.serve.publish import parquet_current_dir, read_publication, serving_database_path
from orchestration.stages.serve.assets import PUBLICATION_KEY

pytestmark = pytest.mark.integration

BI_TABLES = sorted(r.table for r in load_published_relations(dbt_project.manifest_path) if r.audience == "bi")


@pytest.fixture(scope="module")
def served(nightly_runs: dict) -> dict:
    """The serving side of the shared nightly runs: the reader looped during the third run, which
    replaced the second run's publication; the failed run ran on a copy after it."""
    return {
        "data_dir": nightly_runs["data_dir"],
        "first": nightly_runs["second"],
        "second": nightly_runs["third"],
        "second_started": nightly_runs["third_started"],
        "reader": nightly_runs["reader"],
        "failed": nightly_runs["failed"],
        "before_failure": nightly_runs["serving_before_failure"],
        "after_failure": nightly_runs["serving_after_failure"],
    }


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
    # the failing copy breaks one source table per kind of bad input (tests/integration/test_bad_input.py)
    assert "raw__pos__receipts" in failures and all(step.startswith("raw__") for step in failures)
    succeeded = {e.step_key for e in failed.all_events if e.event_type_value == "STEP_SUCCESS"}
    assert "serving__publication" not in succeeded, "the publication must not run"
    # dbt builds nothing from the sources; only the seeds (reference data, no source input) may load
    materialized = {event.asset_key.path[0] for event in failed.get_asset_materialization_events()}
    assert materialized <= {"raw", "reference"}, "dbt must not build from the sources"
    assert served["after_failure"] == served["before_failure"], "the serving files changed"
