"""The nightly job on a small simulated world: everything lands, nothing twice, each new day exactly once."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from orchestration.definitions import defs
from orchestration.paths import DEFAULT_SOURCES_CONFIG
from tests.integration.pipeline import CONTRACTS, row_counts, run_nightly

pytestmark = pytest.mark.integration


def staging_model_for(raw_table: str) -> str:
    """The staging model that reads a raw table, from the asset graph (dbt source -> model lineage)."""
    raw_key = dg.AssetKey(["raw", raw_table])
    (model,) = [
        spec.key.path[-1]
        for spec in defs.resolve_all_asset_specs()
        if spec.key.path[0] == "staging" and raw_key in {dep.asset_key for dep in spec.deps}
    ]
    return model


def test_every_configured_source_has_rows_in_raw_and_staging(nightly_runs):
    assert nightly_runs["first"].success
    raw, staging = nightly_runs["raw_after_first"], nightly_runs["staging_after_first"]
    for contract in CONTRACTS.values():
        assert raw[contract.raw_table] > 0, f"raw.{contract.raw_table} is empty"
        model = staging_model_for(contract.raw_table)
        assert staging.get(model, 0) > 0, f"staging.{model} is empty"
        assert staging[model] <= raw[contract.raw_table]


def test_dbt_tests_ran_as_asset_checks(nightly_runs):
    evaluations = nightly_runs["first"].get_asset_check_evaluations()
    assert len(evaluations) >= 2 * len(CONTRACTS), "expected key tests on every staging model"
    failed = [e.check_name for e in evaluations if not e.passed and e.severity.value == "ERROR"]
    assert not failed, f"blocking dbt tests failed on clean simulated data: {failed}"


def test_a_second_run_without_new_data_adds_no_rows(nightly_runs):
    assert nightly_runs["second"].success
    assert nightly_runs["raw_after_second"] == nightly_runs["raw_after_first"]


def test_the_next_day_is_loaded_exactly_once(nightly_runs):
    assert nightly_runs["third"].success
    before, after = nightly_runs["raw_after_second"], nightly_runs["raw_after_third"]
    added = {table: after[table] - before[table] for table in after}
    assert added == nightly_runs["expected_new_rows"]
    assert sum(added.values()) > 0, "the simulator's next day brought no rows at all"


def test_load_state_adds_up(nightly_runs):
    with duckdb.connect(str(nightly_runs["data_dir"] / "warehouse.duckdb"), read_only=True) as conn:
        for contract in CONTRACTS.values():
            (in_raw,) = conn.execute(f'select count(*) from raw."{contract.raw_table}"').fetchone()
            (held,) = conn.execute(
                f'select count(*) from quarantine."{contract.raw_table}" where _released_at is null'
            ).fetchone()
            (by_batches,) = conn.execute(
                "select coalesce(sum(rows_loaded), 0) from raw._load_batches where system = ? and source_table = ?",
                [contract.system, contract.name],
            ).fetchone()
            assert in_raw + held == by_batches, f"{contract.raw_table}: loaded = passed + quarantined"


def test_pipeline_runs_with_only_customers_and_orders(small_world: Path, tmp_path: Path):
    with DEFAULT_SOURCES_CONFIG.open() as handle:
        full = yaml.safe_load(handle)["systems"]
    minimal = {
        "systems": {
            "crm": {**full["crm"], "tables": {"customers": {}}},
            "webshop": {**full["webshop"], "tables": {"orders": {}}},
        }
    }
    config = tmp_path / "sources.yaml"
    config.write_text(yaml.safe_dump(minimal))
    result = run_nightly(small_world, sources_config=config)
    assert result.success
    raw = row_counts(small_world, "raw")
    staging = row_counts(small_world, "staging")
    assert raw["crm__customers"] > 0 and raw["webshop__orders"] > 0
    assert staging["stg_crm__customers"] > 0 and staging["stg_webshop__orders"] > 0
    others = {
        table: rows for table, rows in raw.items() if table not in {"crm__customers", "webshop__orders"}
    }
    assert others and not any(others.values()), f"unconfigured sources should be empty: {others}"


def test_a_broken_drop_fails_its_asset_by_name_while_valid_data_flows(small_world: Path):
    receipts_dir = small_world / "sources" / "pos" / "receipts"
    broken = receipts_dir / "receipts_2026-07-01.csv"
    # a drop whose export lost the total_amount column (a required column of the landing contract)
    broken.write_text("receipt_id,store_id,receipt_ts\nR-X1,S01,2026-07-01 10:00:00\n", encoding="utf-8")
    good_files = len(list(receipts_dir.glob("*.csv"))) - 1

    result = run_nightly(small_world, raise_on_error=False)

    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert [e.step_key for e in failures] == ["raw__pos__receipts"]
    message = str(failures[0].step_failure_data.user_failure_data.description)
    assert "pos.receipts" in message and str(broken) in message and "total_amount" in message
    with duckdb.connect(str(small_world / "warehouse.duckdb"), read_only=True) as conn:
        loaded = conn.execute(
            "select count(*), count(*) filter (where file_path = ?) from raw._loaded_files "
            "where system = 'pos' and source_table = 'receipts'",
            [str(broken)],
        ).fetchone()
        (other_tables_loaded,) = conn.execute(
            "select count(*) from raw._load_batches where rows_loaded > 0 and source_table <> 'receipts'"
        ).fetchone()
    assert loaded == (good_files, 0), "the good drops load, the broken one does not"
    assert other_tables_loaded >= len(CONTRACTS) - 1
