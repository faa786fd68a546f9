"""The code location loads, and its graph is the one users see in the UI."""

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._utils.schedules import cron_string_iterator

import orchestration
from orchestration.dbt_project import dbt_project
from orchestration.definitions import defs
from orchestration.ingest.contract import load_contract
from orchestration.resources import AsOfResource
from orchestration.serve.declarations import load_published_relations
from orchestration.stages.ml.assets import SCORES_KEY, TRAINING_KEY
from orchestration.stages.serve.assets import PUBLICATION_KEY
from orchestration.stages.transform.dbt_assets import (
    PARSE_STATE,
    dbt_build_args,
    keep_parse_state,
    parse_state_dir,
    prepare_target_path,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def test_definitions_load_and_every_job_and_schedule_resolves():
    dg.Definitions.validate_loadable(defs)
    assert {job.name for job in defs.resolve_all_job_defs()} >= {"nightly"}
    assert defs.resolve_schedule_def("nightly_at_two").job_name == "nightly"
    # `dagster job execute -m orchestration` finds the same object through the package
    assert orchestration.defs is defs
    assert "defs" in dir(orchestration)


def test_one_extraction_asset_per_contract_table_grouped_per_system():
    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
    for contract in load_contract().values():
        spec = specs[dg.AssetKey(["raw", contract.raw_table])]
        assert spec.group_name == contract.system


def test_staging_models_depend_on_the_extraction_assets():
    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
    staging = [key for key in specs if key.path[0] == "staging"]
    assert staging, "no staging models in the dbt manifest"
    raw_keys = {dg.AssetKey(["raw", contract.raw_table]) for contract in load_contract().values()}
    fed_by_raw = {dep.asset_key for key in staging for dep in specs[key].deps} & raw_keys
    assert fed_by_raw == raw_keys, (
        f"raw tables no staging model reads: {sorted(map(str, raw_keys - fed_by_raw))}"
    )
    assert {specs[key].group_name for key in staging} == {"staging"}


def test_the_publication_runs_after_every_model_dbt_marks_for_publishing():
    specs = {spec.key: spec for spec in defs.resolve_all_asset_specs()}
    publication = specs[PUBLICATION_KEY]
    assert publication.group_name == "serve"
    declared = {dg.AssetKey(r.asset_key_path) for r in load_published_relations(dbt_project.manifest_path)}
    assert {dg.AssetKey(["bi", "customers"]), dg.AssetKey(["identity", "dim_customer"])} <= declared
    assert {dep.asset_key for dep in publication.deps} == declared
    assert all(specs[key].kinds & {"dbt"} for key in declared), "published relations are dbt models"


def test_nightly_job_covers_every_asset_but_the_weekly_training():
    nightly = defs.resolve_job_def("nightly")
    job_keys = set(nightly.asset_layer.executable_asset_keys)
    assert job_keys == {spec.key for spec in defs.resolve_all_asset_specs()} - {TRAINING_KEY}


def test_nightly_schedule_is_off_by_default_and_ticks_at_two_in_amsterdam():
    schedule = defs.resolve_schedule_def("nightly_at_two")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert schedule.execution_timezone == "Europe/Amsterdam"
    tick_time = datetime(2026, 11, 23, 2, 0, tzinfo=AMSTERDAM)
    requests = schedule.evaluate_tick(
        dg.build_schedule_context(scheduled_execution_time=tick_time)
    ).run_requests
    assert len(requests) == 1
    # Around the spring DST change 02:00 does not exist on 2027-03-28: the tick moves to 03:00.
    start = datetime(2027, 3, 26, 12, 0, tzinfo=AMSTERDAM).timestamp()
    ticks = cron_string_iterator(start, schedule.cron_schedule, "Europe/Amsterdam")
    local = [next(ticks).astimezone(AMSTERDAM) for _ in range(4)]
    assert [(t.day, t.hour) for t in local] == [(27, 2), (28, 3), (29, 2), (30, 2)]


def test_nightly_dbt_build_runs_models_and_data_tests_but_not_unit_tests(tmp_path):
    args = dbt_build_args(tmp_path)
    assert args[0] == "build"
    assert args[args.index("--target-path") + 1] == str(tmp_path)
    assert args[args.index("--exclude-resource-type") + 1] == "unit_test"
    assert "--vars" not in args


def test_dbt_starts_from_the_parse_state_the_last_run_on_the_same_warehouse_left(tmp_path):
    # dbt re-parses the whole project when the state was made with another profile (warehouse path)
    state_dir = parse_state_dir(tmp_path / "data" / "warehouse.duckdb")
    first, second, third = (tmp_path / name for name in ("run1", "run2", "run3"))
    for target in (first, second, third):
        target.mkdir()
    prepare_target_path(first, state_dir)
    prepared = dbt_project.project_dir / dbt_project.target_path / PARSE_STATE
    assert (first / PARSE_STATE).read_bytes() == prepared.read_bytes()  # nothing of this warehouse yet
    (first / PARSE_STATE).write_bytes(b"parsed with the profile of this warehouse")
    keep_parse_state(first, state_dir)
    prepare_target_path(second, state_dir)
    assert (second / PARSE_STATE).read_bytes() == b"parsed with the profile of this warehouse"
    (second / PARSE_STATE).unlink()  # a run that failed before parsing leaves none: the kept one stays
    keep_parse_state(second, state_dir)
    prepare_target_path(third, state_dir)
    assert (third / PARSE_STATE).read_bytes() == b"parsed with the profile of this warehouse"
    assert [path.name for path in state_dir.iterdir()] == [PARSE_STATE]


def test_a_run_as_of_a_past_date_passes_it_to_dbt_and_rejects_a_malformed_one(tmp_path):
    as_of = AsOfResource(value="2026-06-01T06:00:00").date()
    args = dbt_build_args(tmp_path, as_of)
    assert json.loads(args[args.index("--vars") + 1]) == {"as_of_date": "2026-06-01"}
    assert AsOfResource(value=None).date() is None
    with pytest.raises(ValueError, match="KLANTBEELD_AS_OF='01-06-2026' is not a date"):
        AsOfResource(value="01-06-2026").date()


def test_the_nightly_job_scores_but_never_trains_and_training_has_its_own_weekly_job():
    nightly = defs.resolve_job_def("nightly")
    nightly_keys = nightly.asset_layer.selected_asset_keys
    assert SCORES_KEY in nightly_keys and TRAINING_KEY not in nightly_keys
    assert defs.resolve_job_def("ml_training").asset_layer.selected_asset_keys == {TRAINING_KEY}
    schedule = defs.resolve_schedule_def("ml_training_weekly")
    assert schedule.job_name == "ml_training" and schedule.execution_timezone == "Europe/Amsterdam"
    # customer_360 shows the scores: it is downstream of the scoring asset
    assert SCORES_KEY in defs.resolve_asset_graph().get(dg.AssetKey(["marts", "customer_360"])).parent_keys
