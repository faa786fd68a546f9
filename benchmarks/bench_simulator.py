"""Benchmark the simulator: wall time, rows per second and peak RSS.

.venv/bin/python benchmarks/bench_simulator.py --people 100000 [--data-dir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import simulator


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--end-date", type=date.fromisoformat, default=date(2026, 11, 21))
    ap.add_argument("--history-days", type=int, default=730)
    ap.add_argument("--data-dir", type=Path, default=None, help="default: a temporary directory")
    ap.add_argument("--keep", action="store_true", help="keep the generated data")
    ap.add_argument("--advance-days", type=int, default=1)
    args = ap.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-simulator-"))
    t0 = time.perf_counter()
    m = simulator.generate(
        data_dir,
        n_people=args.people,
        seed=args.seed,
        end_date=args.end_date,
        history_days=args.history_days,
        force=True,
        verbose=True,
    )
    gen_s = time.perf_counter() - t0
    rows = sum(m["rows_written"].values())
    t1 = time.perf_counter()
    a = simulator.advance(data_dir, days=args.advance_days) if args.advance_days else None
    adv_s = time.perf_counter() - t1
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size_mb = sum(p.stat().st_size for p in (data_dir / "sources").rglob("*") if p.is_file()) / 2**20
    print(f"people={args.people:,} history_days={args.history_days} python={sys.version.split()[0]}")
    print(
        f"generate: {gen_s:,.1f} s wall, {rows:,} rows, {rows / gen_s:,.0f} rows/s, {size_mb:,.0f} MB on disk"
    )
    if a is not None:
        print(
            f"advance {args.advance_days} day(s): {adv_s:,.1f} s wall, {sum(a['rows_written'].values()):,} rows"
        )
    print(f"peak RSS: {peak_mb:,.0f} MB")
    if not args.keep and args.data_dir is None:
        shutil.rmtree(data_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
