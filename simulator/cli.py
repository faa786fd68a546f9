"""python -m simulator generate | advance"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

from simulator.api import advance, default_data_dir, generate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m simulator", description="Simulated source systems for klantbeeld"
    )
    sub = ap.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="recreate <data dir>/sources from scratch")
    g.add_argument("--people", type=int, default=5000)
    g.add_argument("--seed", type=int, default=42)
    g.add_argument(
        "--end-date", type=date.fromisoformat, default=None, help="last published day (default yesterday)"
    )
    g.add_argument("--history-days", type=int, default=730)
    g.add_argument("--future-days", type=int, default=730)
    g.add_argument("--data-dir", type=Path, default=None)
    g.add_argument("--force", action="store_true", help="overwrite a different world")
    a = sub.add_parser("advance", help="publish the next day(s)")
    a.add_argument("--days", type=int, default=1)
    a.add_argument("--data-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    data_dir = args.data_dir or default_data_dir()
    t0 = time.time()
    if args.command == "generate":
        m = generate(
            data_dir,
            args.people,
            args.seed,
            args.end_date,
            args.history_days,
            args.future_days,
            force=args.force,
            verbose=True,
        )
    else:
        m = advance(data_dir, args.days, verbose=True)
    print(
        f"world seed={m['seed']} people={m['n_people']} start={m['start_date']} "
        f"published_through={m['published_through']} in {data_dir / 'sources'}"
    )
    for name, n in sorted(m["rows_written"].items()):
        print(f"  {name:<26} {n:>10,} rows")
    print(f"{sum(m['rows_written'].values()):,} rows in {time.time() - t0:.1f}s")
    return 0
