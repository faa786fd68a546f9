"""Score a clustering of source records (who is who) against the simulator's truth.

    .venv/bin/python -m orchestration.identity.evaluate                       # the demo world in ./data
    .venv/bin/python -m orchestration.identity.evaluate --data-dir /tmp/kb --json
    .venv/bin/python -m orchestration.identity.evaluate --min-precision 0.995 --min-recall 0.98 --scope profile

The pipeline never reads the truth (`<data dir>/sources/_truth/identity.parquet`); only this evaluation
does. Metrics are pairwise: a pair of records is a true pair when both belong to the same person, a
predicted pair when both sit in the same predicted cluster. All counts come from group-by sums of
n*(n-1)/2 in DuckDB, so no pair is ever materialized and 60 M records evaluate in one pass.

Conventions:
- A truth record missing from the prediction, or predicted with a NULL cluster, is a singleton cluster.
- Precision with no predicted pairs is 1.0 (nothing claimed, nothing wrong); recall with no true pairs
  is 1.0 (nothing to find). F1 is 0.0 only when both precision and recall are 0.
- Predicted records that the truth does not know are counted (`predicted_records_not_in_truth`), not
  scored.
- A scope restricts both sides to the records of some source tables: pairs are counted among those
  records only. The per-table recall counts the true pairs that touch a table (one record in the table,
  the other anywhere in the scope) and how many of them share a predicted cluster.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.paths import data_dir as default_data_dir

KEY_COLUMNS = ("source_system", "source_table", "source_record_id")

# Records where a person states who they are (name, birth date, address): the classic dedupe problem.
PROFILE_TABLES: tuple[tuple[str, str], ...] = (
    ("crm", "customers"),
    ("webshop", "accounts"),
    ("loyalty", "members"),
)
# Named scopes; None means every record of the truth.
SCOPES: dict[str, tuple[tuple[str, str], ...] | None] = {"profile": PROFILE_TABLES, "all": None}

IDENTITY_MAP = "identity.customer_identity_map"


@dataclass(frozen=True)
class TableRecall:
    """Recall of the true pairs that touch one source table."""

    source_system: str
    source_table: str
    records: int
    unattributed_records: int  # missing from the prediction or with a NULL cluster: singletons
    true_pairs: int
    true_positive_pairs: int
    recall: float


@dataclass(frozen=True)
class ClusterEvaluation:
    scope: str
    records: int
    persons: int
    predicted_clusters: int  # singletons included
    unattributed_records: int
    true_pairs: int
    predicted_pairs: int
    true_positive_pairs: int
    precision: float
    recall: float
    f1: float
    over_merged_persons: int  # persons sharing a predicted cluster with another person's record
    split_persons: int  # persons whose records lie in more than one predicted cluster
    predicted_records_not_in_truth: int
    per_table: tuple[TableRecall, ...]

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def _scope_tables(
    scope: str | Sequence[tuple[str, str]] | None,
) -> tuple[str, tuple[tuple[str, str], ...] | None]:
    if scope is None:
        return "all", None
    if isinstance(scope, str):
        if scope not in SCOPES:
            raise ValueError(f"unknown scope {scope!r}: choose one of {', '.join(SCOPES)}")
        return scope, SCOPES[scope]
    tables = tuple((system, table) for system, table in scope)
    return ",".join(f"{system}.{table}" for system, table in tables), tables


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _scope_filter(tables: tuple[tuple[str, str], ...] | None) -> str:
    if tables is None:
        return "true"
    if not tables:
        return "false"
    return " or ".join(
        f"(source_system = {_literal(system)} and source_table = {_literal(table)})"
        for system, table in tables
    )


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 1.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def evaluate_clusters(
    con: duckdb.DuckDBPyConnection,
    predicted: str,
    truth: str,
    scope: str | Sequence[tuple[str, str]] | None = "all",
) -> ClusterEvaluation:
    """Pairwise precision/recall/F1 and cluster errors of `predicted` against `truth`.

    `predicted` and `truth` are SQL relations (a table name or `(select ...)`) with the columns
    (source_system, source_table, source_record_id, cluster_id) and (source_system, source_table,
    source_record_id, person_id). `scope` is a name of `SCOPES` ("profile", "all"), a sequence of
    (source_system, source_table), or None for every record. Uses one temporary table in `con`.
    """
    scope_name, tables = _scope_tables(scope)
    where = _scope_filter(tables)
    groups = f"__kb_eval_groups_{uuid.uuid4().hex[:12]}"
    truth_sql = (
        f"(select source_system, source_table, source_record_id, person_id from {truth} where {where})"
    )
    predicted_sql = (
        f"(select source_system, source_table, source_record_id, cluster_id from {predicted} where {where})"
    )
    truth_records, null_persons = con.execute(
        f"select count(*), count(*) filter (where person_id is null) from {truth_sql}"
    ).fetchall()[0]
    if null_persons:
        raise ValueError(f"the truth has {null_persons:,} records without a person_id")
    # One row per (person, predicted cluster, source table); the NULL cluster holds the singletons.
    con.execute(
        f"""
        create temp table {groups} as
        select t.person_id, p.cluster_id, t.source_system, t.source_table, count(*) as n
        from {truth_sql} as t
        left join {predicted_sql} as p
            on t.source_system = p.source_system
            and t.source_table = p.source_table
            and t.source_record_id = p.source_record_id
        group by all
        """
    )
    try:
        row = con.execute(
            f"""
            with persons as (
                select
                    person_id,
                    sum(n) as n,
                    count(distinct cluster_id) + coalesce(sum(n) filter (where cluster_id is null), 0)
                        as clusters
                from {groups}
                group by person_id
            ),
            clusters as (
                select cluster_id, sum(n) as n, count(distinct person_id) as persons
                from {groups}
                where cluster_id is not null
                group by cluster_id
            ),
            person_clusters as (
                select person_id, cluster_id, sum(n) as n
                from {groups}
                where cluster_id is not null
                group by person_id, cluster_id
            )
            select
                (select coalesce(sum(n), 0) from persons),
                (select count(*) from persons),
                (select count(*) from clusters),
                (select coalesce(sum(n), 0) from {groups} where cluster_id is null),
                (select coalesce(sum(n * (n - 1) // 2), 0) from persons),
                (select coalesce(sum(n * (n - 1) // 2), 0) from clusters),
                (select coalesce(sum(n * (n - 1) // 2), 0) from person_clusters),
                (
                    select count(distinct g.person_id)
                    from {groups} as g
                    inner join clusters as c on g.cluster_id = c.cluster_id
                    where c.persons > 1
                ),
                (select count(*) from persons where clusters > 1)
            """
        ).fetchall()[0]
        (records, persons, clusters, unattributed, true_pairs, predicted_pairs, tp_pairs, over, split) = (
            int(value) for value in row
        )
        if records != truth_records:
            raise ValueError(
                f"{predicted} holds some records more than once ({records - truth_records:,} extra rows "
                "after joining on source_system, source_table, source_record_id)"
            )
        per_table_rows = con.execute(
            f"""
            with person_tables as (
                select person_id, source_system, source_table, sum(n) as n_t
                from {groups}
                group by all
            ),
            persons as (
                select person_id, sum(n) as n from {groups} group by person_id
            ),
            person_cluster_tables as (
                select person_id, cluster_id, source_system, source_table, sum(n) as m_t
                from {groups}
                where cluster_id is not null
                group by all
            ),
            person_clusters as (
                select person_id, cluster_id, sum(n) as m
                from {groups}
                where cluster_id is not null
                group by all
            ),
            true_pairs as (
                select
                    pt.source_system,
                    pt.source_table,
                    sum(pt.n_t) as records,
                    sum(pt.n_t * (p.n - pt.n_t) + pt.n_t * (pt.n_t - 1) // 2) as pairs
                from person_tables as pt
                inner join persons as p on pt.person_id = p.person_id
                group by all
            ),
            found_pairs as (
                select
                    pct.source_system,
                    pct.source_table,
                    sum(pct.m_t * (pc.m - pct.m_t) + pct.m_t * (pct.m_t - 1) // 2) as pairs
                from person_cluster_tables as pct
                inner join person_clusters as pc
                    on pct.person_id = pc.person_id and pct.cluster_id = pc.cluster_id
                group by all
            ),
            unattributed as (
                select source_system, source_table, sum(n) as n
                from {groups}
                where cluster_id is null
                group by all
            )
            select
                t.source_system,
                t.source_table,
                t.records,
                coalesce(u.n, 0),
                t.pairs,
                coalesce(f.pairs, 0)
            from true_pairs as t
            left join found_pairs as f
                on t.source_system = f.source_system and t.source_table = f.source_table
            left join unattributed as u
                on t.source_system = u.source_system and t.source_table = u.source_table
            order by t.source_system, t.source_table
            """
        ).fetchall()
    finally:
        con.execute(f"drop table if exists {groups}")
    not_in_truth = con.execute(
        f"""
        select count(*)
        from {predicted_sql} as p
        where not exists (
            select 1 from {truth_sql} as t
            where t.source_system = p.source_system
                and t.source_table = p.source_table
                and t.source_record_id = p.source_record_id
        )
        """
    ).fetchall()[0][0]
    precision = _ratio(tp_pairs, predicted_pairs)
    recall = _ratio(tp_pairs, true_pairs)
    per_table = tuple(
        TableRecall(
            source_system=system,
            source_table=table,
            records=int(n_records),
            unattributed_records=int(n_unattributed),
            true_pairs=int(pairs),
            true_positive_pairs=int(found),
            recall=_ratio(int(found), int(pairs)),
        )
        for system, table, n_records, n_unattributed, pairs, found in per_table_rows
    )
    return ClusterEvaluation(
        scope=scope_name,
        records=records,
        persons=persons,
        predicted_clusters=clusters + unattributed,
        unattributed_records=unattributed,
        true_pairs=true_pairs,
        predicted_pairs=predicted_pairs,
        true_positive_pairs=tp_pairs,
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        over_merged_persons=over,
        split_persons=split,
        predicted_records_not_in_truth=int(not_in_truth),
        per_table=per_table,
    )


def truth_path(data_dir: Path) -> Path:
    return data_dir / "sources" / "_truth" / "identity.parquet"


def truth_relation(path: Path) -> str:
    return f"read_parquet({_literal(str(path))})"


def identity_map_relation(alias: str = "w") -> str:
    """The warehouse's identity map as a `predicted` relation (customer_key is the cluster)."""
    return (
        "(select source_system, source_table, source_record_id, customer_key as cluster_id "
        f"from {alias}.{IDENTITY_MAP})"
    )


def relation_exists(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, name: str) -> bool:
    """True when the table or view exists (information_schema lists both)."""
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_catalog = ? and table_schema = ? and table_name = ?",
            [catalog, schema, name],
        ).fetchall()[0][0]
    )


def attach_read_only(
    con: duckdb.DuckDBPyConnection, path: Path, alias: str = "w", wait_seconds: float = 30.0
) -> None:
    """ATTACH the warehouse read-only, waiting up to `wait_seconds` while a writer holds its lock."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            con.execute(f"attach {_literal(str(path))} as {alias} (read_only)")
            return
        except duckdb.IOException as error:
            if "lock" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def evaluate_warehouse(data_dir: Path, scopes: Sequence[str] = ("profile", "all")) -> list[ClusterEvaluation]:
    """Evaluate `identity.customer_identity_map` of the data directory's warehouse against the truth.

    Opens the warehouse read-only for the duration of the evaluation only (a reader blocks writers).
    Raises FileNotFoundError when the truth, the warehouse or the identity map is missing.
    """
    truth = truth_path(data_dir)
    if not truth.exists():
        raise FileNotFoundError(
            f"no identity truth at {truth}: only simulated worlds have one "
            "(python -m simulator generate --data-dir ...)"
        )
    warehouse = data_dir / "warehouse.duckdb"
    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}: run the nightly pipeline first")
    con = duckdb.connect()
    try:
        attach_read_only(con, warehouse, "w")
        schema, name = IDENTITY_MAP.split(".")
        if not relation_exists(con, "w", schema, name):
            raise FileNotFoundError(
                f"{IDENTITY_MAP} is not in {warehouse}: build it first "
                "(dbt build --select +customer_identity_map, or the nightly job)"
            )
        return [
            evaluate_clusters(con, identity_map_relation("w"), truth_relation(truth), scope)
            for scope in scopes
        ]
    finally:
        con.close()


SUMMARY_HEADER = (
    f"{'scope':<10}{'records':>12}{'persons':>11}{'clusters':>11}{'precision':>11}{'recall':>9}{'F1':>9}"
    f"{'over-merged':>13}{'split':>9}"
)


def summary_line(evaluation: ClusterEvaluation, label: str | None = None) -> str:
    e = evaluation
    return (
        f"{label or e.scope:<10}{e.records:>12,}{e.persons:>11,}{e.predicted_clusters:>11,}"
        f"{e.precision:>11.4f}{e.recall:>9.4f}{e.f1:>9.4f}{e.over_merged_persons:>13,}{e.split_persons:>9,}"
    )


def format_report(evaluations: Sequence[ClusterEvaluation]) -> str:
    lines = [SUMMARY_HEADER, *(summary_line(e) for e in evaluations)]
    for e in evaluations:
        lines.append(
            f"\nrecall per source table, scope {e.scope} (true pairs with one record in the table)\n"
            f"  {'table':<26}{'records':>12}{'unattributed':>14}{'true pairs':>16}{'recall':>9}"
        )
        lines.extend(
            f"  {t.source_system + '.' + t.source_table:<26}{t.records:>12,}{t.unattributed_records:>14,}"
            f"{t.true_pairs:>16,}{t.recall:>9.4f}"
            for t in e.per_table
        )
        if e.predicted_records_not_in_truth:
            lines.append(f"  ({e.predicted_records_not_in_truth:,} predicted records unknown to the truth)")
    return "\n".join(lines)


def threshold_failures(
    evaluation: ClusterEvaluation, min_precision: float | None, min_recall: float | None
) -> list[str]:
    failures = []
    if min_precision is not None and evaluation.precision < min_precision:
        failures.append(
            f"precision {evaluation.precision:.4f} < target {min_precision} (scope {evaluation.scope})"
        )
    if min_recall is not None and evaluation.recall < min_recall:
        failures.append(f"recall {evaluation.recall:.4f} < target {min_recall} (scope {evaluation.scope})")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.identity.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data-dir", type=Path, help="default: KLANTBEELD_DATA_DIR or ./data")
    parser.add_argument("--json", action="store_true", help="print the evaluations as JSON")
    parser.add_argument("--min-precision", type=float, help="exit 1 when the scope's precision is lower")
    parser.add_argument("--min-recall", type=float, help="exit 1 when the scope's recall is lower")
    parser.add_argument("--scope", choices=list(SCOPES), default="profile", help="scope the targets apply to")
    args = parser.parse_args(argv)
    data_dir = (args.data_dir or default_data_dir()).resolve()
    try:
        evaluations = evaluate_warehouse(data_dir)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([e.to_dict() for e in evaluations], indent=2))
    else:
        print(format_report(evaluations))
    chosen = next(e for e in evaluations if e.scope == args.scope)
    failures = threshold_failures(chosen, args.min_precision, args.min_recall)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
