"""Make a bigger ML world from a built one: every customer repeated `--times` times, for bench_ml.py.

usage: python benchmarks/scale_ml_world.py --from DIR --to DIR [--times 10]

Writes `<to>/warehouse.duckdb` holding only what the ML stage reads: the `ml` feature and label tables
and the customer tables the next best action and the contribution CLV join (identity.dim_customer,
intermediate.int_customers__channel_summary, marts.customer_economics), copy k of key `KB123` being
`KB123~k`; and, copied once as they are not per customer, the cutoffs, the purchase visibility per
cutoff and marts.fct_order_lines (line margins). It measures time and memory of training and scoring
at a size whose dbt build would take hours here; the copies are identical customers, so their model
quality says nothing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

PER_CUSTOMER = [
    "ml.int_ml__customer_cutoffs",
    "ml.customer_features",
    "ml.customer_line_features",
    "ml.customer_labels",
    "ml.customer_line_labels",
    "identity.dim_customer",
    "intermediate.int_customers__channel_summary",
    "marts.customer_economics",
]
AS_THEY_ARE = ["ml.int_ml__cutoffs", "ml.int_ml__purchase_visibility", "marts.fct_order_lines"]


def scale(source: Path, target: Path, times: int) -> dict[str, int]:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    rows = {}
    with duckdb.connect(str(target)) as conn:
        conn.execute(f"attach '{source}' as world (read_only)")
        for table in [*AS_THEY_ARE, *PER_CUSTOMER]:
            schema = table.split(".")[0]
            conn.execute(f"create schema if not exists {schema}")
            if table in AS_THEY_ARE:
                select = f"select * from world.{table}"
            else:
                select = (
                    f"select rows.* replace (rows.customer_key || '~' || copies.number as customer_key) "
                    f"from world.{table} as rows, range({times}) as copies(number)"
                )
            conn.execute(f"create table {table} as {select}")
            (rows[table],) = conn.execute(f"select count(*) from {table}").fetchone()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", type=Path, required=True)
    parser.add_argument("--to", dest="target", type=Path, required=True)
    parser.add_argument("--times", type=int, default=10)
    args = parser.parse_args()
    started = time.perf_counter()
    rows = scale(args.source / "warehouse.duckdb", args.target / "warehouse.duckdb", args.times)
    for table, count in rows.items():
        print(f"  {table}: {count:,} rows")
    print(f"{args.target}: {args.times} copies in {time.perf_counter() - started:,.1f} s")


if __name__ == "__main__":
    main()
