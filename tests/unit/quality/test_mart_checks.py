"""Mart suites: frames built in DuckDB, suites run end to end, one suite per published relation, and
blocking asset checks that stop what comes after them (Dagster 1.13)."""

import csv
import json
import re
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from orchestration.dbt_project import dbt_project
from orchestration.paths import DBT_PROJECT_DIR, REPO_ROOT
from orchestration.quality.gx_context import SEVERITIES, canonical_suite_json
from orchestration.quality.marts import (
    MartSuiteError,
    check_metadata,
    load_suite,
    mart_frame,
    suite_frame_spec,
    suite_path,
    validate_mart,
)
from orchestration.resources import QualityResource, WarehouseResource
from orchestration.serve.declarations import load_published_relations
from orchestration.stages.quality.mart_checks import CHECK_NAME, mart_expectation_checks, mart_suites

RULE = re.compile(r"^[a-z][a-z0-9_]*$")
PUBLISHED = load_published_relations(dbt_project.manifest_path)
MART_SUITES = [relation.source for relation in PUBLISHED]


# ---------------------------------------------------------------- frames


@pytest.fixture
def conn():
    conn = duckdb.connect()
    conn.execute("create schema bi")
    conn.execute(
        """create table bi.orders as select * from (values
            ('o1', 'K1', 10.0, 'a'), ('o2', 'K1', -5.0, 'b'), ('o2', 'K2', 7.5, 'c')
        ) as t(order_key, customer_key, revenue, "select")"""
    )
    yield conn
    conn.close()


def test_frame_of_columns_loads_only_the_listed_columns_quoted(conn):
    frame = mart_frame(conn, {"relation": "bi.orders", "columns": ["order_key", "select"]})
    assert list(frame.columns) == ["order_key", "select"]  # `select` only works quoted
    assert frame["order_key"].tolist() == ["o1", "o2", "o2"]


def test_frame_of_aggregates_is_one_row_computed_in_duckdb(conn):
    frame = mart_frame(
        conn,
        {
            "relation": "bi.orders",
            "aggregates": {
                "rows": "count(*)",
                "duplicate keys": "count(*) - count(distinct order_key)",
                "negative_revenue": "count(*) filter (where revenue < 0)",
            },
        },
    )
    assert frame.to_dict("records") == [{"rows": 3, "duplicate keys": 1, "negative_revenue": 1}]


@pytest.mark.parametrize(
    "meta",
    [
        {"relation": "bi.orders"},
        {"relation": "bi.orders", "columns": ["order_key"], "aggregates": {"rows": "count(*)"}},
    ],
)
def test_a_frame_needs_either_columns_or_aggregates(conn, meta):
    with pytest.raises(MartSuiteError, match=r"bi\.orders: meta\.klantbeeld needs either"):
        mart_frame(conn, meta)


# ---------------------------------------------------------------- the suites in expectations/


def test_every_published_relation_has_a_suite_named_after_it():
    assert len(MART_SUITES) >= 13  # the bi views and the restricted customer tables
    missing = [name for name in MART_SUITES if not suite_path(name).exists()]
    assert not missing, f"published relations without a suite in expectations/suites/: {missing}"
    for name in MART_SUITES:
        assert suite_frame_spec(name)["relation"] == name, f"{suite_path(name)}: meta.klantbeeld.relation"
        assert load_suite(name)["name"] == name
    assert set(mart_suites().values()) == set(MART_SUITES)


def _manifest_columns() -> dict[str, set[str]]:
    manifest = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))
    return {
        relation.source: set(manifest["nodes"][relation.dbt_unique_id]["columns"]) for relation in PUBLISHED
    }


def _columns_used(expectation: dict) -> set[str]:
    kwargs = expectation["kwargs"]
    used = {
        kwargs.get("column"),
        kwargs.get("column_A"),
        kwargs.get("column_B"),
        *kwargs.get("column_list", []),
    }
    return {column for column in used if column}


@pytest.mark.parametrize("name", MART_SUITES)
def test_suite_is_well_formed(name):
    suite = load_suite(name)
    spec = suite["meta"]["klantbeeld"]
    rules = [expectation["meta"]["rule"] for expectation in suite["expectations"]]
    assert len(rules) == len(set(rules)), f"{suite_path(name)}: a rule name appears twice"
    for expectation in suite["expectations"]:
        where = f"{suite_path(name)}: {expectation['meta'].get('rule')}"
        assert RULE.match(expectation["meta"]["rule"]), where
        assert expectation["severity"] in SEVERITIES, where  # GX's own field, as its Data Docs show it
        assert expectation["description"].endswith("."), where
    frame_columns = set(spec.get("columns") or spec.get("aggregates"))
    used = set().union(*(_columns_used(expectation) for expectation in suite["expectations"]))
    assert used <= frame_columns, f"{suite_path(name)}: expectations on columns the frame lacks"
    assert set(spec.get("index_columns", [])) <= frame_columns
    assert set(spec.get("failing_rows", {})) <= frame_columns
    loaded = set(spec.get("columns", [])).union(
        *(s["columns"] for s in spec.get("failing_rows", {}).values())
    )
    unknown = loaded - _manifest_columns()[name]
    assert not unknown, f"{suite_path(name)}: columns {sorted(unknown)} are not in the dbt model {name}"


@pytest.mark.parametrize("name", MART_SUITES)
def test_suite_file_is_in_the_form_gx_saves(name):
    """GX re-saves the suites it runs: in its canonical form a run leaves the file unchanged."""
    text = suite_path(name).read_text(encoding="utf-8")
    assert canonical_suite_json(json.loads(text)) == text


def _declared_values(source: str) -> set[str]:
    """`dbt_project/seeds/<seed>.csv:<column>` or `dbt_project/dbt_project.yml:vars.marts.<var>`."""
    path, field = source.split(":")
    if path.endswith(".csv"):
        with (REPO_ROOT / path).open(encoding="utf-8") as handle:
            return {row[field] for row in csv.DictReader(handle)}
    value = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    for part in field.split("."):
        value = value[part]
    return {item["tier"] if isinstance(item, dict) else item for item in value}


def test_value_sets_follow_the_seeds_and_vars_they_come_from():
    checked = 0
    for name in MART_SUITES:
        for expectation in load_suite(name)["expectations"]:
            source = expectation["meta"].get("values_from")
            if not source:
                continue
            declared = _declared_values(source)
            kwargs = expectation["kwargs"]
            accepted = set(kwargs.get("value_set") or kwargs.get("partition_object", {}).get("values", []))
            missing = declared - accepted
            assert not missing, (
                f"{suite_path(name)}: {expectation['meta']['rule']} lacks {sorted(missing)} ({source})"
            )
            checked += 1
    assert checked >= 10


# ---------------------------------------------------------------- suites end to end


def _orders_warehouse(conn: duckdb.DuckDBPyConnection, duplicate: bool, negative_revenue: bool) -> None:
    """bi.fct_orders with 200 clean orders; optionally one duplicated key and one refund-like order."""
    conn.execute("create schema if not exists bi")
    conn.execute(
        """create or replace table bi.fct_orders as
        select
            'webshop:WO' || lpad(cast(i as varchar), 6, '0') as order_key,
            'KB' || lpad(cast(i as varchar), 10, '0') as customer_key,
            'webshop' as source_system,
            1 as line_count, 2 as item_count,
            20.0 as gross_amount, 1.0 as discount_amount, 19.0 as revenue, 8.0 as cost,
            0.0 as shipping_amount, 19.0 as total_amount,
            timestamp '2026-06-01 10:00:00' + i * interval 1 hour as ordered_at,
            cast(timestamp '2026-06-01 10:00:00' + i * interval 1 hour as date) as order_date
        from range(200) as t(i)"""
    )
    if duplicate:
        conn.execute(
            "insert into bi.fct_orders select * from bi.fct_orders where order_key = 'webshop:WO000007'"
        )
    if negative_revenue:
        conn.execute("update bi.fct_orders set revenue = -19.0 where order_key = 'webshop:WO000042'")


def test_aggregate_suite_reports_failed_critical_and_warning_rules_with_sample_rows(tmp_path):
    conn = duckdb.connect()
    _orders_warehouse(conn, duplicate=True, negative_revenue=True)
    outcome = validate_mart(conn, tmp_path, "bi.fct_orders", run_name="test")

    failed = {o.rule: o for o in outcome.failed()}
    assert set(failed) == {"one_row_per_order_key", "no_negative_revenue"}
    assert failed["one_row_per_order_key"].severity == "critical"
    assert failed["one_row_per_order_key"].observed_value == 1
    assert [row["order_key"] for row in failed["one_row_per_order_key"].unexpected_rows] == [
        "webshop:WO000007",
        "webshop:WO000007",
    ]
    assert failed["no_negative_revenue"].severity == "warning"
    assert [(r["order_key"], float(r["revenue"])) for r in failed["no_negative_revenue"].unexpected_rows] == [
        ("webshop:WO000042", -19.0)
    ]
    # one negative order of 201 is a stray source row, not a systematic error: the critical share holds
    assert "negative_revenue_share_small" not in failed

    metadata = check_metadata(outcome)
    assert metadata["failed_critical"] == 1 and metadata["failed_warning"] == 1
    assert metadata["rows_validated"] == 1  # one row of aggregates
    assert (
        "| one_row_per_order_key | critical | duplicate_keys | max_value=0.0 | 1 |"
        in (metadata["failed_expectations"])
    )
    assert "webshop:WO000042" in metadata["failing_rows"]
    assert metadata["validation_result"].is_file()


def test_column_suite_reports_failed_critical_and_warning_rules(tmp_path):
    conn = duckdb.connect()
    conn.execute("create schema bi")
    conn.execute(
        """create table bi.customer_channel_preference as
        select
            'KB' || lpad(cast(i as varchar), 10, '0') as customer_key,
            'sports' as product_line,
            3 as research_touchpoints, 2 as purchases, 1 as purchases_online, 1 as purchases_store,
            0 as responses, 1 as store_purchases_after_web_research,
            case when i = 5 then 1.5 else 1.0 end as robo_share,
            'web' as preferred_research_channel, 'store' as preferred_buy_channel,
            cast(null as varchar) as preferred_response_channel,
            30.0 as revenue, 20.0 as revenue_online,
            case when i = 9 then -2.0 else 10.0 end as revenue_store
        from range(200) as t(i)"""
    )
    outcome = validate_mart(conn, tmp_path, "bi.customer_channel_preference", run_name="test")

    assert outcome.rows == 200
    failed = {o.rule: (o.severity, o.column, o.unexpected_count) for o in outcome.failed()}
    assert failed == {
        "robo_share_is_a_share": ("critical", "robo_share", 1),
        "revenue_store_not_negative": ("warning", "revenue_store", 1),
    }
    samples = {o.rule: o.unexpected_rows for o in outcome.failed()}
    assert samples["robo_share_is_a_share"] == [
        {"customer_key": "KB0000000005", "product_line": "sports", "robo_share": 1.5}
    ]
    assert samples["revenue_store_not_negative"] == [
        {"customer_key": "KB0000000009", "product_line": "sports", "revenue_store": -2.0}
    ]
    metadata = check_metadata(outcome)
    markdown = metadata["failed_expectations"]
    assert markdown.index("robo_share_is_a_share") < markdown.index("revenue_store_not_negative")
    assert "| 1 of 200 |" in markdown
    assert "| KB0000000005 | sports | 1.5 |" in metadata["failing_rows"]


# ---------------------------------------------------------------- blocking checks in Dagster 1.13


def _materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}


@pytest.mark.parametrize(
    ("severity", "downstream_runs"),
    [(dg.AssetCheckSeverity.ERROR, False), (dg.AssetCheckSeverity.WARN, True)],
)
def test_a_failed_blocking_check_stops_the_downstream_asset_only_with_severity_error(
    severity, downstream_runs
):
    @dg.asset
    def upstream() -> None:
        pass

    @dg.asset(deps=[upstream])
    def downstream() -> None:
        pass

    @dg.asset_check(asset=upstream, blocking=True)
    def upstream_check() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, severity=severity)

    result = dg.materialize([upstream, downstream, upstream_check], raise_on_error=False)
    assert ("downstream" in _materialized(result)) is downstream_runs
    assert "upstream" in _materialized(result)
    assert result.success is downstream_runs


def test_one_error_in_a_multi_asset_check_stops_what_follows_every_checked_asset():
    """The price of checking all marts in one step: an ERROR on one holds back the others' children."""

    @dg.multi_asset(specs=[dg.AssetSpec("mart_a"), dg.AssetSpec("mart_b")])
    def marts():
        yield dg.MaterializeResult(asset_key="mart_a")
        yield dg.MaterializeResult(asset_key="mart_b")

    @dg.asset(deps=["mart_b"])
    def after_b() -> None:
        pass

    @dg.multi_asset_check(
        specs=[
            dg.AssetCheckSpec("check", asset="mart_a", blocking=True),
            dg.AssetCheckSpec("check", asset="mart_b", blocking=True),
        ]
    )
    def both():
        yield dg.AssetCheckResult(asset_key="mart_a", check_name="check", passed=False)
        yield dg.AssetCheckResult(asset_key="mart_b", check_name="check", passed=True)

    result = dg.materialize([marts, after_b, both], raise_on_error=False)
    assert _materialized(result) == {"mart_a", "mart_b"}
    evaluations = {e.asset_key.to_user_string(): e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations == {"mart_a": False, "mart_b": True}


@pytest.mark.parametrize(
    ("severity", "downstream_runs"),
    [(dg.AssetCheckSeverity.ERROR, False), (dg.AssetCheckSeverity.WARN, True)],
)
def test_a_blocking_check_yielded_by_the_assets_own_op_also_stops_downstream(severity, downstream_runs):
    @dg.asset(check_specs=[dg.AssetCheckSpec("rows", asset="loaded", blocking=True)])
    def loaded():
        yield dg.MaterializeResult()
        yield dg.AssetCheckResult(check_name="rows", passed=False, severity=severity)

    @dg.asset(deps=[loaded])
    def built_on_it() -> None:
        pass

    result = dg.materialize([loaded, built_on_it], raise_on_error=False)
    # the asset itself is recorded as materialized either way; only its children wait for the check
    assert "loaded" in _materialized(result)
    assert ("built_on_it" in _materialized(result)) is downstream_runs
    assert [e.passed for e in result.get_asset_check_evaluations()] == [False]


@pytest.mark.parametrize(("duplicate", "publication_runs"), [(True, False), (False, True)])
def test_mart_checks_run_the_suite_and_hold_back_the_publication_on_a_critical_failure(
    tmp_path, duplicate, publication_runs
):
    warehouse = tmp_path / "warehouse.duckdb"
    orders_key = dg.AssetKey(["bi", "fct_orders"])

    @dg.asset(key=orders_key)
    def fct_orders() -> None:
        with duckdb.connect(str(warehouse)) as conn:
            _orders_warehouse(conn, duplicate=duplicate, negative_revenue=True)

    @dg.asset(deps=[fct_orders])
    def publication() -> None:
        pass

    checks = mart_expectation_checks({orders_key: "bi.fct_orders"})
    result = dg.materialize(
        [fct_orders, publication, checks],
        resources={
            "warehouse": WarehouseResource(database=str(warehouse)),
            "quality": QualityResource(data_dir=str(tmp_path)),
        },
        raise_on_error=False,
    )

    assert ("publication" in _materialized(result)) is publication_runs
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.check_name == CHECK_NAME
    assert evaluation.passed is False  # the negative revenue is a warning in both cases
    expected_severity = dg.AssetCheckSeverity.ERROR if duplicate else dg.AssetCheckSeverity.WARN
    assert evaluation.severity == expected_severity
    failed = evaluation.metadata["failed_expectations"].value
    assert ("one_row_per_order_key" in failed) is duplicate
    assert "no_negative_revenue" in failed
    assert Path(evaluation.metadata["data_docs"].value).is_file()


def test_a_suite_that_cannot_run_fails_its_check_with_error_naming_the_suite_and_relation(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    orders_key = dg.AssetKey(["bi", "fct_orders"])

    @dg.asset(key=orders_key)
    def fct_orders() -> None:
        duckdb.connect(str(warehouse)).close()  # the model "built" nothing: no bi.fct_orders

    result = dg.materialize(
        [fct_orders, mart_expectation_checks({orders_key: "bi.fct_orders"})],
        resources={
            "warehouse": WarehouseResource(database=str(warehouse)),
            "quality": QualityResource(data_dir=str(tmp_path)),
        },
        raise_on_error=False,
    )

    [evaluation] = result.get_asset_check_evaluations()
    assert (evaluation.passed, evaluation.severity) == (False, dg.AssetCheckSeverity.ERROR)
    assert evaluation.description.startswith(
        "expectations/suites/bi/fct_orders.json could not run on bi.fct_orders: Catalog Error"
    )
