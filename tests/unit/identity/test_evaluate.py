"""evaluate_clusters on a hand-written world; every expected count is worked out in the comments."""

from __future__ import annotations

import json

import duckdb
import pytest

from orchestration.identity.evaluate import (
    ClusterEvaluation,
    evaluate_clusters,
    format_report,
    main,
    threshold_failures,
)

# Person A: 4 records (3 profile + 1 web event) -> 6 true pairs; B: 3 records (2 profile) -> 3; C: 1 -> 0.
# All records: 9 true pairs. Profile records (crm, webshop, loyalty): A 3 -> 3, B 2 -> 1, C 0: 4 true pairs.
TRUTH = [
    ("crm", "customers", "c1", "A"),
    ("webshop", "accounts", "w1", "A"),
    ("loyalty", "members", "m1", "A"),
    ("web", "events", "e1", "A"),
    ("crm", "customers", "c2", "B"),
    ("webshop", "accounts", "w2", "B"),
    ("web", "events", "e2", "B"),
    ("crm", "customers", "c3", "C"),
]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "create table truth (source_system varchar, source_table varchar, source_record_id varchar, person_id varchar)"
    )
    con.executemany("insert into truth values (?, ?, ?, ?)", TRUTH)
    con.execute(
        "create table predicted (source_system varchar, source_table varchar, source_record_id varchar, cluster_id bigint)"
    )
    yield con
    con.close()


def predict(con: duckdb.DuckDBPyConnection, clusters: dict[str, int | None]) -> None:
    """Fill `predicted` from record id -> cluster; ids not given are left out of the prediction."""
    rows = [(s, t, r, clusters[r]) for s, t, r, _ in TRUTH if r in clusters]
    con.executemany("insert into predicted values (?, ?, ?, ?)", rows)


def by_table(evaluation: ClusterEvaluation) -> dict[str, tuple[int, int, float]]:
    return {
        f"{t.source_system}.{t.source_table}": (t.true_pairs, t.true_positive_pairs, t.recall)
        for t in evaluation.per_table
    }


def test_perfect_clustering(con):
    predict(con, {"c1": 1, "w1": 1, "m1": 1, "e1": 1, "c2": 2, "w2": 2, "e2": 2, "c3": 3})
    e = evaluate_clusters(con, "predicted", "truth", "all")
    assert (e.records, e.persons, e.predicted_clusters) == (8, 3, 3)
    assert (e.true_pairs, e.predicted_pairs, e.true_positive_pairs) == (9, 9, 9)
    assert (e.precision, e.recall, e.f1) == (1.0, 1.0, 1.0)
    assert (e.over_merged_persons, e.split_persons, e.unattributed_records) == (0, 0, 0)
    # pairs touching a table: crm c1 (A: 1*3) + c2 (B: 1*2) + c3 = 5; web e1 3 + e2 2 = 5; loyalty m1 3
    assert by_table(e) == {
        "crm.customers": (5, 5, 1.0),
        "loyalty.members": (3, 3, 1.0),
        "web.events": (5, 5, 1.0),
        "webshop.accounts": (5, 5, 1.0),
    }


def test_one_over_merge(con):
    # B and C share cluster 2: {c2, w2, e2, c3} -> 6 predicted pairs, 3 of them true; A's cluster 6 true.
    predict(con, {"c1": 1, "w1": 1, "m1": 1, "e1": 1, "c2": 2, "w2": 2, "e2": 2, "c3": 2})
    e = evaluate_clusters(con, "predicted", "truth", "all")
    assert (e.true_pairs, e.predicted_pairs, e.true_positive_pairs) == (9, 12, 9)
    assert e.precision == pytest.approx(0.75)
    assert e.recall == 1.0
    assert e.f1 == pytest.approx(2 * 0.75 / 1.75)
    assert (e.predicted_clusters, e.over_merged_persons, e.split_persons) == (2, 2, 0)
    # profile scope: A {c1, w1, m1} 3 pairs; {c2, w2, c3} 3 predicted pairs, 1 true -> 4 / 6
    p = evaluate_clusters(con, "predicted", "truth", "profile")
    assert (p.scope, p.records, p.persons) == ("profile", 6, 3)
    assert (p.true_pairs, p.predicted_pairs, p.true_positive_pairs) == (4, 6, 4)
    assert p.precision == pytest.approx(4 / 6)


def test_one_split(con):
    # A's web event in a cluster of its own: A keeps 3 pairs of 6, B 3 of 3.
    predict(con, {"c1": 1, "w1": 1, "m1": 1, "e1": 9, "c2": 2, "w2": 2, "e2": 2, "c3": 3})
    e = evaluate_clusters(con, "predicted", "truth", "all")
    assert (e.true_pairs, e.predicted_pairs, e.true_positive_pairs) == (9, 6, 6)
    assert (e.precision, e.recall) == (1.0, pytest.approx(6 / 9))
    assert (e.predicted_clusters, e.over_merged_persons, e.split_persons) == (4, 0, 1)
    # web: e1 found 0 of 3, e2 2 of 2; crm: c1 inside {c1, w1, m1} 2 of 3, c2 2 of 2
    tables = by_table(e)
    assert tables["web.events"] == (5, 2, pytest.approx(0.4))
    assert tables["crm.customers"] == (5, 4, pytest.approx(0.8))
    # the split is invisible among profile records
    p = evaluate_clusters(con, "predicted", "truth", "profile")
    assert (p.precision, p.recall, p.split_persons) == (1.0, 1.0, 0)


def test_null_and_missing_clusters_are_singletons(con):
    # w1 has a NULL cluster and e2 is missing: A {c1, m1, e1} 3 pairs + w1 alone; B {c2, w2} 1 pair + e2.
    predict(con, {"c1": 1, "w1": None, "m1": 1, "e1": 1, "c2": 2, "w2": 2, "c3": 3})
    e = evaluate_clusters(con, "predicted", "truth", "all")
    assert (e.true_pairs, e.predicted_pairs, e.true_positive_pairs) == (9, 4, 4)
    assert (e.precision, e.recall) == (1.0, pytest.approx(4 / 9))
    # clusters: 1, 2, 3 and the two singletons
    assert (e.predicted_clusters, e.unattributed_records, e.split_persons) == (5, 2, 2)
    assert e.over_merged_persons == 0
    unattributed = {f"{t.source_system}.{t.source_table}": t.unattributed_records for t in e.per_table}
    assert unattributed == {"crm.customers": 0, "loyalty.members": 0, "web.events": 1, "webshop.accounts": 1}


def test_nothing_predicted_has_precision_one_by_convention(con):
    e = evaluate_clusters(con, "predicted", "truth", "all")
    assert (e.predicted_pairs, e.precision, e.recall, e.f1) == (0, 1.0, 0.0, 0.0)
    assert (e.predicted_clusters, e.split_persons) == (8, 2)


def test_records_unknown_to_the_truth_are_counted_not_scored(con):
    predict(con, {"c1": 1, "w1": 1, "m1": 1, "e1": 1, "c2": 2, "w2": 2, "e2": 2, "c3": 3})
    con.execute("insert into predicted values ('crm', 'customers', 'c999', 1), ('web', 'events', 'e999', 2)")
    e = evaluate_clusters(con, "predicted", "truth", "all")
    assert (e.predicted_records_not_in_truth, e.precision, e.recall, e.predicted_pairs) == (2, 1.0, 1.0, 9)
    assert evaluate_clusters(con, "predicted", "truth", "profile").predicted_records_not_in_truth == 1


def test_subquery_relations_and_explicit_scope(con):
    predict(con, {"c1": 1, "w1": 1, "m1": 1, "e1": 1, "c2": 2, "w2": 2, "e2": 2, "c3": 3})
    e = evaluate_clusters(
        con,
        "(select source_system, source_table, source_record_id, cluster_id::varchar as cluster_id from predicted)",
        "(select * from truth)",
        [("web", "events")],
    )
    assert (e.scope, e.records, e.persons, e.true_pairs) == ("web.events", 2, 2, 0)
    assert (e.precision, e.recall) == (1.0, 1.0)


def test_a_record_predicted_twice_is_an_error(con):
    predict(con, {"c1": 1, "w1": 1, "m1": 1, "e1": 1, "c2": 2, "w2": 2, "e2": 2, "c3": 3})
    con.execute("insert into predicted values ('crm', 'customers', 'c1', 2)")
    with pytest.raises(ValueError, match="more than once"):
        evaluate_clusters(con, "predicted", "truth", "all")
    # the temporary table is dropped even then
    assert not con.execute("select * from duckdb_tables() where table_name like '__kb_eval%'").fetchall()


def test_unknown_scope(con):
    with pytest.raises(ValueError, match="unknown scope"):
        evaluate_clusters(con, "predicted", "truth", "everything")


def test_threshold_failures_name_metric_value_and_target(con):
    predict(con, {"c1": 1, "w1": 1, "m1": 1, "e1": 1, "c2": 2, "w2": 2, "e2": 2, "c3": 2})
    e = evaluate_clusters(con, "predicted", "truth", "all")
    assert threshold_failures(e, 0.995, 0.98) == ["precision 0.7500 < target 0.995 (scope all)"]
    assert threshold_failures(e, None, None) == []
    assert "web.events" in format_report([e])


@pytest.fixture
def data_dir(tmp_path, con):
    """A data directory with a truth file and a warehouse holding identity.customer_identity_map."""
    truth = tmp_path / "sources" / "_truth"
    truth.mkdir(parents=True)
    con.execute(f"copy truth to '{truth / 'identity.parquet'}'")
    warehouse = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    warehouse.execute("create schema identity")
    warehouse.execute(
        "create table identity.customer_identity_map (source_system varchar, source_table varchar, "
        "source_record_id varchar, customer_key varchar, match_rule varchar, match_score double)"
    )
    rows = [(s, t, r, {"A": "k1", "B": "k2", "C": "k2"}[p], "rule", 1.0) for s, t, r, p in TRUTH]
    warehouse.executemany("insert into identity.customer_identity_map values (?, ?, ?, ?, ?, ?)", rows)
    warehouse.close()
    return tmp_path


def test_cli_reports_and_checks_targets(data_dir, capsys):
    assert main(["--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "profile" in out and "over-merged" in out and "webshop.accounts" in out
    # over-merge of B and C: profile precision 4/6
    assert main(["--data-dir", str(data_dir), "--min-precision", "0.995", "--scope", "profile"]) == 1
    assert "precision 0.6667 < target 0.995 (scope profile)" in capsys.readouterr().err
    assert main(["--data-dir", str(data_dir), "--json", "--min-recall", "0.98"]) == 0
    evaluations = json.loads(capsys.readouterr().out)
    assert [e["scope"] for e in evaluations] == ["profile", "all"]
    assert evaluations[1]["predicted_pairs"] == 12


def test_cli_missing_inputs(tmp_path, data_dir, capsys):
    assert main(["--data-dir", str(tmp_path / "nowhere")]) == 2
    assert "no identity truth" in capsys.readouterr().err
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as warehouse:
        warehouse.execute("drop table identity.customer_identity_map")
    assert main(["--data-dir", str(data_dir)]) == 2
    assert "identity.customer_identity_map is not in" in capsys.readouterr().err
