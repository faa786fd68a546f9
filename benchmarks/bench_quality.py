"""Benchmark of data-quality validation: a nightly batch, the initial load, and the mart suites.

It changes the warehouse it runs on (re-lands a day, quarantines rows, builds marts): run it on a copy
of an extracted, staged world whose sources stay where the warehouse loaded them from, e.g.

    mkdir /tmp/kbq-1m && cp /work/bench/kb-1m/warehouse.duckdb /tmp/kbq-1m/
    ln -s /work/bench/kb-1m/sources /tmp/kbq-1m/sources
    nice -n 10 .venv/bin/python benchmarks/bench_quality.py --data-dir /tmp/kbq-1m

(a world is prepared as in benchmarks/bench_identity.py: simulate, bench_extraction.py --no-repeat,
`dbt run --select staging`; the mart phase needs `identity.customer_identity_map` built too).

Three phases, in this process, each printing rows, seconds and peak RSS per table:
1. nightly batch: the drops of the world's last published day (`<table>_<day>.csv|jsonl`) are taken
   out of raw and `raw._loaded_files`, and for database tables the rows whose cursor is on or after
   that day (the watermark moves back to the day); every earlier load counts as validated. Then per
   table what the extraction asset does: `extract_table` lands the day again as a new batch,
   `validate_loads` runs the row suite and quarantines, `validate_deliveries` runs the loads suite.
2. initial load (`--skip-initial`): every load marked unvalidated, `validate_loads` per table: all
   history validated once, the worst case.
3. mart suites (`--skip-marts`): builds the marts and bi models with `--marts-build-cmd` (a child
   process: wall time and its peak RSS; `--skip-marts-build` when they are built), then times
   `validate_mart` for every suite under expectations/suites/ other than raw.* and loads.*.

The clock of freshness is the morning after the world's last day (as the integration tests run).
Drop paths are recorded in the warehouse as they were loaded: the sources are read from that data
directory (`--sources-from`, default: the one recorded in `raw._loaded_files`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shlex
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
from measure import peak_rss_mb, reset_peak_rss

from orchestration.ingest.contract import RAW_SCHEMA, TableContract, load_contract
from orchestration.ingest.extract import SourceError, extract_table
from orchestration.ingest.sources_config import TableSource, load_sources_config
from orchestration.paths import DEFAULT_SOURCES_CONFIG, REPO_ROOT
from orchestration.quality.checks import missing_drop_error
from orchestration.quality.gx_context import quality_context, suite_names
from orchestration.quality.loads import validate_deliveries
from orchestration.quality.marts import validate_mart
from orchestration.quality.quarantine import ensure_quarantine, quarantine_table, validate_loads
from orchestration.quality.raw_batch import q

BATCH_PREFIX = "bench-quality-"
ROW_LEVEL_SUITES = ("raw.", "loads.")  # every other suite checks a mart
DEFAULT_MARTS_BUILD_CMD = (
    ".venv/bin/dbt build --project-dir dbt_project --profiles-dir dbt_project "
    "--select +path:models/marts +path:models/bi --exclude +customer_identity_map path:models/staging "
    "--exclude-resource-type unit_test"
)
PARSE_CMD = ".venv/bin/dbt parse --project-dir dbt_project --profiles-dir dbt_project"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def last_published_day(data_dir: Path) -> dt.date:
    manifest = data_dir / "sources" / "_truth" / "manifest.json"
    if not manifest.exists():
        raise SystemExit(f"{manifest} is missing: the benchmark needs a simulated world (see --help)")
    return dt.date.fromisoformat(json.loads(manifest.read_text(encoding="utf-8"))["published_through"])


def recorded_sources_dir(conn: duckdb.DuckDBPyConnection) -> Path | None:
    """The data directory whose `sources/` the warehouse's drops were loaded from."""
    row = conn.execute(
        f"""select regexp_extract(file_path, '^(.*)/sources/', 1) from {RAW_SCHEMA}."_loaded_files"
            where file_path like '%/sources/%' limit 1"""
    ).fetchone()
    return Path(row[0]) if row and row[0] else None


def day_drops(source: TableSource, contract: TableContract, day: dt.date) -> list[str]:
    """The drops of one day: `<table>_<day>.<csv|jsonl|parquet>` in the table's folder."""
    extension = source.format or ""
    wanted = f"{contract.name}_{day.isoformat()}.{extension}"
    return sorted(str(path) for path in Path(source.path or "").parent.glob(wanted))


def number_legacy_database_rows(
    conn: duckdb.DuckDBPyConnection, contracts: Mapping[tuple[str, str], TableContract]
) -> dict[str, int]:
    """Give database rows landed before rows were numbered per batch (NULL `_source_row`) their number.

    Without it the row key (`_batch_id`, `_source`, `_source_row`) is the same for every row of such a
    load, and one failing row would move the whole load to quarantine. Numbered as the extraction
    numbers them now: 1, 2, ... per batch, in stored order. Returns the rows numbered per table.
    """
    numbered: dict[str, int] = {}
    for contract in contracts.values():
        raw = f"{RAW_SCHEMA}.{q(contract.raw_table)}"
        rows = conn.execute(
            f"""update {raw} as r set _source_row = n.row_number
                from (select rowid as row_id, row_number() over (partition by _batch_id order by rowid) as row_number
                      from {raw} where _source_row is null) as n
                where r.rowid = n.row_id"""
        ).fetchone()[0]
        if rows:
            numbered[contract.raw_table] = rows
    return numbered


@dataclass
class Removed:
    """What was taken out of raw so that the nightly extraction lands it again."""

    rows: int
    files: int


def _subtract_from_batches(conn: duckdb.DuckDBPyConnection, contract: TableContract, per_batch: list) -> None:
    for batch_id, rows, files in per_batch:
        conn.execute(
            f"""update {RAW_SCHEMA}."_load_batches" set rows_loaded = rows_loaded - ?, files_loaded = files_loaded - ?
                where batch_id = ? and system = ? and source_table = ?""",
            [rows, files, batch_id, contract.system, contract.name],
        )


def take_out_day(
    conn: duckdb.DuckDBPyConnection, contract: TableContract, source: TableSource, day: dt.date
) -> Removed:
    """Remove the day's rows (raw and quarantine) and their bookkeeping, in one transaction."""
    raw = f"{RAW_SCHEMA}.{q(contract.raw_table)}"
    held = quarantine_table(contract)
    conn.execute("begin transaction")
    try:
        if source.kind == "files":
            paths = day_drops(source, contract, day)
            if not paths:
                conn.execute("commit")
                return Removed(0, 0)
            per_batch = conn.execute(
                f"""select batch_id, sum(rows_loaded), count(*) from {RAW_SCHEMA}."_loaded_files"
                    where system = ? and source_table = ? and list_contains(?, file_path) group by all""",
                [contract.system, contract.name, paths],
            ).fetchall()
            rows = conn.execute(f"delete from {raw} where list_contains(?, _source)", [paths]).fetchone()[0]
            rows += conn.execute(f"delete from {held} where list_contains(?, _source)", [paths]).fetchone()[0]
            conn.execute(
                f"""delete from {RAW_SCHEMA}."_loaded_files"
                    where system = ? and source_table = ? and list_contains(?, file_path)""",
                [contract.system, contract.name, paths],
            )
            removed = Removed(rows, sum(files for _, _, files in per_batch))
        else:
            if not contract.cursor:
                conn.execute("commit")
                return Removed(0, 0)
            # Text comparison, as the source compares the stored watermark with its cursor column.
            start = day.isoformat()
            cursor = q(contract.cursor)
            per_batch = conn.execute(
                f"""select _batch_id, count(*), 0 from (
                        select _batch_id from {raw} where {cursor} >= ?
                        union all select _batch_id from {held} where {cursor} >= ?) group by all""",
                [start, start],
            ).fetchall()
            rows = conn.execute(f"delete from {raw} where {cursor} >= ?", [start]).fetchone()[0]
            rows += conn.execute(f"delete from {held} where {cursor} >= ?", [start]).fetchone()[0]
            conn.execute(
                f"""update {RAW_SCHEMA}."_watermarks" set watermark = ?
                    where system = ? and source_table = ? and watermark >= ?""",
                [start, contract.system, contract.name, start],
            )
            removed = Removed(rows, 0)
        _subtract_from_batches(conn, contract, per_batch)
        # batches of earlier runs of this benchmark that are now empty
        conn.execute(
            f"""delete from {RAW_SCHEMA}."_load_batches" where system = ? and source_table = ?
                and batch_id like '{BATCH_PREFIX}%' and rows_loaded = 0 and files_loaded = 0""",
            [contract.system, contract.name],
        )
        conn.execute("commit")
    except BaseException:
        conn.execute("rollback")
        raise
    return removed


def print_header(title: str, columns: Mapping[str, int]) -> None:
    print(f"\n{title}" if title else "")
    print(
        "".join(
            f"{name:<{width}}" if i == 0 else f"{name:>{width}}"
            for i, (name, width) in enumerate(columns.items())
        ),
        flush=True,
    )


NIGHTLY_COLUMNS = {
    "table": 28,
    "removed": 10,
    "landed": 10,
    "validated": 11,
    "quarant.": 9,
    "extract s": 10,
    "rows s": 8,
    "loads s": 8,
    "total s": 9,
    "peak MB": 9,
    "loads suite": 14,
}


def run_nightly(
    conn: duckdb.DuckDBPyConnection,
    data_dir: Path,
    contracts: Mapping[tuple[str, str], TableContract],
    sources: Mapping[tuple[str, str], TableSource],
    day: dt.date,
    reference_time: dt.datetime,
) -> None:
    print(f"\n== 1. nightly batch: the drops and database rows of {day} landed again and validated")
    numbered = number_legacy_database_rows(conn, contracts)
    if numbered:
        print(f"rows without a row number (landed before rows were numbered per batch), numbered: {numbered}")
    for contract in contracts.values():
        ensure_quarantine(conn, contract)
    # every load before this night was validated in its own night
    conn.execute(
        f'update {RAW_SCHEMA}."_load_batches" set validated_at = ? where validated_at is null', [utc_now()]
    )
    removed = {
        key: take_out_day(conn, contract, sources[key], day)
        for key, contract in contracts.items()
        if key in sources
    }
    conn.execute("checkpoint")

    batch_id = f"{BATCH_PREFIX}{utc_now():%Y%m%dT%H%M%S}"
    print_header(f"batch {batch_id}", NIGHTLY_COLUMNS)
    totals = dict.fromkeys(("removed", "landed", "validated", "quarantined"), 0)
    phase_started, phase_peak = time.perf_counter(), 0.0
    for key, contract in contracts.items():
        source = sources.get(key)
        reset_peak_rss()
        loaded_at = utc_now()
        t0 = time.perf_counter()
        try:
            result = extract_table(conn, contract, source, batch_id=batch_id, loaded_at=loaded_at)
        except SourceError as error:
            raise SystemExit(f"nightly batch: {error}") from error
        t1 = time.perf_counter()
        missing = missing_drop_error(conn, contract, source, result)
        validation = validate_loads(conn, data_dir, contract, loaded_at, run_name=batch_id)
        t2 = time.perf_counter()
        deliveries, _ = validate_deliveries(
            conn, data_dir, contract, result, validation, reference_time, run_name=batch_id
        )
        t3 = time.perf_counter()
        peak = peak_rss_mb()
        phase_peak = max(phase_peak, peak)
        failed = deliveries.failed("critical")
        verdict = "missing drop" if missing else ("ok" if not failed else f"{len(failed)} critical")
        gone = removed.get(key, Removed(0, 0)).rows
        totals["removed"] += gone
        totals["landed"] += result.rows_loaded
        totals["validated"] += validation.rows_checked
        totals["quarantined"] += validation.rows_quarantined
        print(
            f"{contract.raw_table:<28}{gone:>10,}{result.rows_loaded:>10,}{validation.rows_checked:>11,}"
            f"{validation.rows_quarantined:>9,}{t1 - t0:>10.2f}{t2 - t1:>8.2f}{t3 - t2:>8.2f}{t3 - t0:>9.2f}"
            f"{peak:>9,.0f}{verdict:>14}",
            flush=True,
        )
        for error in validation.errors:
            print(
                f"  {contract.raw_table}: expectation {error.rule} could not run: {error.exception}",
                flush=True,
            )
    seconds = time.perf_counter() - phase_started
    print(
        f"{'TOTAL':<28}{totals['removed']:>10,}{totals['landed']:>10,}{totals['validated']:>11,}"
        f"{totals['quarantined']:>9,}{'':>10}{'':>8}{'':>8}{seconds:>9.2f}{phase_peak:>9,.0f}",
        flush=True,
    )
    if totals["removed"] != totals["landed"]:
        print("(rows landed differ from rows taken out: a source changed since the world was extracted)")


INITIAL_COLUMNS = {
    "table": 28,
    "batches": 8,
    "validated": 12,
    "quarantined": 12,
    "seconds": 9,
    "rows/s": 10,
    "peak MB": 9,
}


def run_initial(
    conn: duckdb.DuckDBPyConnection,
    data_dir: Path,
    contracts: Mapping[tuple[str, str], TableContract],
    only: set[str] | None,
) -> None:
    print("\n== 2. initial load: every load of every table validated once")
    selected = [c for c in contracts.values() if not only or c.raw_table in only]
    for contract in selected:
        ensure_quarantine(conn, contract)
        conn.execute(
            f'update {RAW_SCHEMA}."_load_batches" set validated_at = null where system = ? and source_table = ?',
            [contract.system, contract.name],
        )
    print_header("", INITIAL_COLUMNS)
    validated = quarantined = 0
    phase_started, phase_peak = time.perf_counter(), 0.0
    for contract in selected:
        reset_peak_rss()
        t0 = time.perf_counter()
        validation = validate_loads(conn, data_dir, contract, utc_now(), run_name=f"{BATCH_PREFIX}initial")
        seconds = time.perf_counter() - t0
        peak = peak_rss_mb()
        phase_peak = max(phase_peak, peak)
        validated += validation.rows_checked
        quarantined += validation.rows_quarantined
        rate = validation.rows_checked / seconds if seconds else 0
        print(
            f"{contract.raw_table:<28}{len(validation.batches):>8}{validation.rows_checked:>12,}"
            f"{validation.rows_quarantined:>12,}{seconds:>9.1f}{rate:>10,.0f}{peak:>9,.0f}",
            flush=True,
        )
        for error in validation.errors:
            print(
                f"  {contract.raw_table}: expectation {error.rule} could not run: {error.exception}",
                flush=True,
            )
    seconds = time.perf_counter() - phase_started
    rate = validated / seconds if seconds else 0
    print(
        f"{'TOTAL':<28}{'':>8}{validated:>12,}{quarantined:>12,}{seconds:>9.1f}{rate:>10,.0f}{phase_peak:>9,.0f}"
    )


def build_marts(data_dir: Path, command: str) -> None:
    env = {**os.environ, "KLANTBEELD_DATA_DIR": str(data_dir), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    paths = ["--target-path", str(data_dir / "dbt-target"), "--log-path", str(data_dir / "dbt-logs")]
    # the nightly run reuses a prepared parse (`make manifest`): parse first, untimed
    subprocess.run(
        [*shlex.split(PARSE_CMD), *paths], cwd=REPO_ROOT, env=env, check=False, stdout=subprocess.DEVNULL
    )
    print(f"\n== 3a. marts: {command}", flush=True)
    started = time.perf_counter()
    completed = subprocess.run([*shlex.split(command), *paths], cwd=REPO_ROOT, env=env, check=False)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child: the build
    print(
        f"built in {wall:.1f} s (exit code {completed.returncode}), peak RSS of the build {peak:,.0f} MB",
        flush=True,
    )
    if completed.returncode:
        print("(some nodes failed: the mart suites run on what was built)", flush=True)
    print_slowest_nodes(data_dir / "dbt-target" / "run_results.json")


def print_slowest_nodes(run_results: Path, count: int = 8) -> None:
    """The nodes of the build that took longest (dbt's run_results.json)."""
    if not run_results.exists():
        return
    results = json.loads(run_results.read_text(encoding="utf-8"))["results"]
    slowest = sorted(results, key=lambda result: result.get("execution_time") or 0, reverse=True)[:count]
    print(
        "slowest nodes: "
        + ", ".join(f"{r['unique_id'].split('.')[-1]} {r['execution_time']:.1f} s" for r in slowest)
    )


MART_COLUMNS = {
    "suite": 38,
    "frame rows": 12,
    "expect.": 8,
    "critical": 9,
    "warning": 8,
    "seconds": 9,
    "peak MB": 9,
}


def run_mart_suites(conn: duckdb.DuckDBPyConnection, data_dir: Path) -> None:
    suites = [name for name in suite_names() if not name.startswith(ROW_LEVEL_SUITES)]
    print("\n== 3b. mart suites: validate_mart (frame built by DuckDB, then Great Expectations)")
    print_header("", MART_COLUMNS)
    phase_started, phase_peak = time.perf_counter(), 0.0
    for suite in suites:
        reset_peak_rss()
        t0 = time.perf_counter()
        try:
            outcome = validate_mart(conn, data_dir, suite, run_name=f"{BATCH_PREFIX}marts")
        except Exception as error:  # a mart not built, a suite in progress: report it, time the rest
            print(f"{suite:<38}  could not run: {str(error).splitlines()[0]}", flush=True)
            continue
        seconds = time.perf_counter() - t0
        peak = peak_rss_mb()
        phase_peak = max(phase_peak, peak)
        print(
            f"{suite:<38}{outcome.rows:>12,}{len(outcome.outcomes):>8}{len(outcome.failed('critical')):>9}"
            f"{len(outcome.failed('warning')):>8}{seconds:>9.2f}{peak:>9,.0f}",
            flush=True,
        )
    seconds = time.perf_counter() - phase_started
    print(f"{'TOTAL':<38}{'':>12}{'':>8}{'':>9}{'':>8}{seconds:>9.2f}{phase_peak:>9,.0f}")


def connect(warehouse: Path, memory_limit: str | None) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(warehouse), config={"memory_limit": memory_limit} if memory_limit else {})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True, help="a copy of an extracted, staged world")
    parser.add_argument("--sources", type=Path, default=DEFAULT_SOURCES_CONFIG)
    parser.add_argument(
        "--sources-from",
        type=Path,
        help="data directory of the drops (default: as recorded in the warehouse)",
    )
    parser.add_argument("--skip-initial", action="store_true", help="skip phase 2 (all history validated)")
    parser.add_argument("--initial-tables", help="phase 2 on these raw tables only (comma-separated)")
    parser.add_argument("--skip-marts", action="store_true", help="skip phase 3 (mart build and suites)")
    parser.add_argument("--skip-marts-build", action="store_true", help="phase 3 on marts built earlier")
    parser.add_argument("--marts-build-cmd", default=DEFAULT_MARTS_BUILD_CMD)
    parser.add_argument(
        "--memory-limit",
        help="DuckDB memory_limit of this process's connection, e.g. 6GB (default: DuckDB's, 80%% of RAM, "
        "as the pipeline's connection has)",
    )
    args = parser.parse_args(argv)
    data_dir = args.data_dir.resolve()
    warehouse = data_dir / "warehouse.duckdb"
    if data_dir == (REPO_ROOT / "data").resolve():
        raise SystemExit(f"{data_dir} is the repository's data directory: run the benchmark on a copy")
    if not warehouse.exists():
        raise SystemExit(f"{warehouse} is missing: prepare the world first (see --help)")
    day = last_published_day(data_dir)
    reference_time = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(6))
    contracts = load_contract()

    conn = connect(warehouse, args.memory_limit)
    sources_from = (args.sources_from or recorded_sources_dir(conn) or data_dir).resolve()
    sources = load_sources_config(
        args.sources, contracts, env={**os.environ, "KLANTBEELD_DATA_DIR": str(sources_from)}
    )
    print(
        f"world {data_dir} (sources read from {sources_from}), last published day {day}, "
        f"freshness as of {reference_time}"
    )
    t0 = time.perf_counter()
    quality_context(data_dir)  # Great Expectations' import and context, once per process
    print(f"Great Expectations context ready in {time.perf_counter() - t0:.1f} s (not in the figures)")
    started = time.perf_counter()
    run_nightly(conn, data_dir, contracts, sources, day, reference_time)
    if not args.skip_initial:
        only = set(args.initial_tables.split(",")) if args.initial_tables else None
        run_initial(conn, data_dir, contracts, only)
    conn.close()
    if not args.skip_marts:
        if not args.skip_marts_build:
            build_marts(data_dir, args.marts_build_cmd)
        with connect(warehouse, args.memory_limit) as conn:
            run_mart_suites(conn, data_dir)
    results = data_dir / "quality" / "validations"
    stored = sum(path.stat().st_size for path in results.rglob("*.json")) / 2**20 if results.exists() else 0
    print(
        f"\nall phases {time.perf_counter() - started:.1f} s; validation results stored {stored:,.0f} MB; "
        f"DuckDB memory_limit {args.memory_limit or 'default'}, threads default"
    )


if __name__ == "__main__":
    main()
