"""Benchmark of identity resolution: klantbeeld's identity models against plain Splink, on one world.

The world must be simulated, extracted and staged first (the truth comes from the simulator), e.g.:

    export KLANTBEELD_DATA_DIR=/tmp/kb-100k DBT_SEND_ANONYMOUS_USAGE_STATS=false
    .venv/bin/python -m simulator generate --people 100000 --seed 42 --data-dir $KLANTBEELD_DATA_DIR
    .venv/bin/python benchmarks/bench_extraction.py --data-dir $KLANTBEELD_DATA_DIR --no-repeat
    mv $KLANTBEELD_DATA_DIR/bench_warehouse.duckdb $KLANTBEELD_DATA_DIR/warehouse.duckdb
    .venv/bin/dbt run --project-dir dbt_project --profiles-dir dbt_project --select staging

(or `make demo DEMO_PEOPLE=100000 KLANTBEELD_DATA_DIR=/tmp/kb-100k`, which runs the whole nightly job).
Then:

    .venv/bin/python benchmarks/bench_identity.py --data-dir /tmp/kb-100k
    .venv/bin/python benchmarks/bench_identity.py --data-dir /tmp/kb-100k --only splink --threshold 0.99

Two phases, one after the other in this process:
- klantbeeld: runs --klantbeeld-cmd (default: dbt build of the identity models and their data tests)
  with KLANTBEELD_DATA_DIR set, after an untimed `dbt parse` (done once per environment, as
  `make manifest` does); wall time, and the peak RSS of that child process. `--profile-tables-only`
  runs it on a copy of the warehouse where only plain Splink's input tables have rows. Then evaluates
  identity.customer_identity_map on the profile records and on all records.
- plain Splink: orchestration.identity.baseline on the profile records (crm.customers, webshop.accounts,
  loyalty.members) read from the staging views, inside this process; wall time (reading the records
  included) and the process's peak RSS during the phase (the high-water mark is reset before it).
Prints one table side by side: precision, recall and F1 are pairwise, against the simulator's truth.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.identity.baseline import profile_records_sql, run_plain_splink
from orchestration.identity.evaluate import (
    PROFILE_TABLES,
    ClusterEvaluation,
    attach_read_only,
    evaluate_clusters,
    evaluate_warehouse,
    format_report,
    truth_path,
    truth_relation,
)
from orchestration.paths import REPO_ROOT

# The identity models and their data tests (staging views exist already; tests shared with dim_customer
# are left to it).
DEFAULT_KLANTBEELD_CMD = (
    ".venv/bin/dbt build --project-dir dbt_project --profiles-dir dbt_project "
    "--select +customer_identity_map --exclude staging --indirect-selection cautious "
    "--exclude-resource-type unit_test"
)


PARSE_CMD = ".venv/bin/dbt parse --project-dir dbt_project --profiles-dir dbt_project"


@dataclass(frozen=True)
class Measurement:
    method: str
    evaluation: ClusterEvaluation
    wall_seconds: float
    peak_mb: float


def reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark (Linux: /proc/self/clear_refs); False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def profile_tables_only_world(data_dir: Path) -> Path:
    """A copy of the world's warehouse in which only the profile tables (the records plain Splink
    gets) have rows, without identity state: klantbeeld on exactly plain Splink's input."""
    copy_dir = data_dir / "profile-tables-only"
    shutil.rmtree(copy_dir, ignore_errors=True)
    copy_dir.mkdir()
    (copy_dir / "sources").symlink_to(data_dir / "sources")
    shutil.copy2(data_dir / "warehouse.duckdb", copy_dir / "warehouse.duckdb")
    keep = {f"{system}__{table}" for system, table in PROFILE_TABLES}
    with duckdb.connect(str(copy_dir / "warehouse.duckdb")) as con:
        raw_tables = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
                " and table_name not like '\\_%' escape '\\'"
            ).fetchall()
        ]
        for name in raw_tables:
            if name not in keep:
                con.execute(f'delete from raw."{name}"')
        for schema in ("intermediate", "identity"):
            con.execute(f"drop schema if exists {schema} cascade")
        con.execute("checkpoint")
    return copy_dir


def run_klantbeeld(data_dir: Path, command: str, method: str = "klantbeeld") -> list[Measurement]:
    env = {**os.environ, "KLANTBEELD_DATA_DIR": str(data_dir), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    # dbt parses the project once per environment (`make manifest`), not every night: parse first, untimed,
    # so the timed build reuses the parse as the nightly run does
    subprocess.run(shlex.split(PARSE_CMD), cwd=REPO_ROOT, env=env, check=False, stdout=subprocess.DEVNULL)
    print(f"\n== klantbeeld: {command}", flush=True)
    started = time.perf_counter()
    completed = subprocess.run(shlex.split(command), cwd=REPO_ROOT, env=env, check=False)
    wall = time.perf_counter() - started
    # the largest RSS of any waited-for child: this is the first child of the process
    peak = peak_rss_mb(resource.RUSAGE_CHILDREN)
    if completed.returncode:
        raise SystemExit(f"klantbeeld phase: `{command}` failed with exit code {completed.returncode}")
    print(f"built in {wall:.1f} s, peak RSS of the build {peak:,.0f} MB", flush=True)
    try:
        evaluations = evaluate_warehouse(data_dir, ("profile", "all"))
    except FileNotFoundError as error:
        raise SystemExit(
            f"klantbeeld phase: {error}\n(the command succeeded but built no identity map: are the identity "
            "models in dbt_project yet? `--only splink` runs the baseline alone)"
        ) from None
    print(format_report(evaluations), flush=True)
    return [Measurement(method, evaluation, wall, peak) for evaluation in evaluations]


def run_splink(data_dir: Path, threshold: float, max_pairs_u: float) -> Measurement:
    print(f"\n== plain Splink (threshold {threshold}, u from {max_pairs_u:,.0f} pairs)", flush=True)
    if not reset_peak_rss():
        print("(cannot reset the RSS high-water mark: the peak covers the whole process)", file=sys.stderr)
    started = time.perf_counter()
    con = duckdb.connect()
    try:
        # copy the profile records, then let go of the warehouse: a reader blocks writers
        attach_read_only(con, data_dir / "warehouse.duckdb", "w")
        con.execute(f"create temp table profile_records as {profile_records_sql('w')}")
        con.execute("detach w")
        clusters, timings = run_plain_splink(con, "profile_records", threshold, max_pairs_u=max_pairs_u)
        wall = time.perf_counter() - started
        peak = peak_rss_mb()
        steps = ", ".join(f"{step} {timings[step]:.1f} s" for step in ("load", "train", "predict", "cluster"))
        print(
            f"{int(timings['records']):,} records, {int(timings['predicted_pairs']):,} pairs above the threshold; "
            f"read {wall - timings['total']:.1f} s, {steps}; peak RSS {peak:,.0f} MB",
            flush=True,
        )
        evaluation = evaluate_clusters(con, clusters, truth_relation(truth_path(data_dir)), "profile")
    finally:
        con.close()
    print(format_report([evaluation]), flush=True)
    return Measurement("plain Splink", evaluation, wall, peak)


def print_table(measurements: list[Measurement]) -> None:
    print(
        f"\n{'method':<14}{'scope':<9}{'records':>11}{'wall s':>9}{'peak MB':>9}{'precision':>11}{'recall':>9}"
        f"{'F1':>9}{'over-merged':>13}{'split':>9}"
    )
    for m in measurements:
        e = m.evaluation
        print(
            f"{m.method:<14}{e.scope:<9}{e.records:>11,}{m.wall_seconds:>9.1f}{m.peak_mb:>9,.0f}"
            f"{e.precision:>11.4f}{e.recall:>9.4f}{e.f1:>9.4f}{e.over_merged_persons:>13,}{e.split_persons:>9,}"
        )
    if any(m.method == "klantbeeld" for m in measurements):
        print("(klantbeeld's wall time and peak are those of the whole build, which covers all records)")
    if any(m.method == "klantbeeld*" for m in measurements):
        print("(klantbeeld*: the same build on a copy where only the profile tables have rows)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir", type=Path, required=True, help="a simulated, extracted and staged world"
    )
    parser.add_argument("--only", choices=["klantbeeld", "splink"], help="run one phase only")
    parser.add_argument(
        "--profile-tables-only",
        action="store_true",
        help="run klantbeeld on a copy of the warehouse with only the profile tables (plain Splink's input)",
    )
    parser.add_argument(
        "--klantbeeld-cmd", default=DEFAULT_KLANTBEELD_CMD, help="builds identity.customer_identity_map"
    )
    parser.add_argument("--threshold", type=float, default=0.95, help="plain Splink's match probability")
    parser.add_argument("--max-pairs-u", type=float, default=1e7, help="plain Splink's u sample (pairs)")
    args = parser.parse_args(argv)
    data_dir = args.data_dir.resolve()
    for required in (data_dir / "warehouse.duckdb", truth_path(data_dir)):
        if not required.exists():
            raise SystemExit(f"{required} is missing: prepare the world first (see --help)")
    measurements: list[Measurement] = []
    if args.only in (None, "klantbeeld") and args.profile_tables_only:
        measurements += run_klantbeeld(
            profile_tables_only_world(data_dir), args.klantbeeld_cmd, method="klantbeeld*"
        )[:1]
    elif args.only in (None, "klantbeeld"):
        measurements += run_klantbeeld(data_dir, args.klantbeeld_cmd)
    if args.only in (None, "splink"):
        measurements.append(run_splink(data_dir, args.threshold, args.max_pairs_u))
    print_table(measurements)


if __name__ == "__main__":
    main()
