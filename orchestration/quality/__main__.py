"""Quarantine and Data Docs from the command line.

    python -m orchestration.quality status                  # rows held in quarantine, per table and rule
    python -m orchestration.quality reprocess [pos.receipts ...]   # validate them again, release what passes
    python -m orchestration.quality docs                    # (re)build the Data Docs site

Reprocess after a fix: of a suite (a rule that was too strict), or of the rows themselves
(`update quarantine."pos__receipts" set total_amount = '12.50' where ...`). Released rows reach
staging and the marts on the next nightly run (or materialize the dbt assets in the UI).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from orchestration.ingest.contract import load_contract
from orchestration.paths import data_dir, warehouse_path
from orchestration.quality.gx_context import build_data_docs
from orchestration.quality.quarantine import quarantine_counts, reprocess
from orchestration.resources import connect_waiting_for_lock


def _contracts(names: list[str]):
    contracts = load_contract()
    if not names:
        return list(contracts.values())
    chosen = []
    for name in names:
        key = tuple(name.split(".", 1))
        if key not in contracts:
            raise SystemExit(f"unknown table {name!r}: use <system>.<table>, e.g. pos.receipts")
        chosen.append(contracts[key])
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.quality", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="rows held in quarantine, per table and rule")
    again = commands.add_parser(
        "reprocess", help="validate quarantined rows again and release those that pass"
    )
    again.add_argument("tables", nargs="*", help="<system>.<table> (default: every table)")
    commands.add_parser("docs", help="build the Data Docs site and print its path")
    args = parser.parse_args(argv)

    if args.command == "docs":
        print(build_data_docs(data_dir()))
        return 0
    conn = connect_waiting_for_lock(str(warehouse_path()), 60.0)
    try:
        if args.command == "status":
            for contract in _contracts([]):
                counts = quarantine_counts(conn, contract)
                if counts:
                    rules = ", ".join(f"{rule} {count}" for rule, count in counts.items())
                    print(f"quarantine.{contract.raw_table}: {rules}")
            return 0
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        released_by = f"reprocess {now:%Y-%m-%dT%H:%M:%S}"
        for contract in _contracts(args.tables):
            result = reprocess(conn, data_dir(), contract, now, released_by)
            if result.rows_checked:
                held = ", ".join(f"{rule} {n}" for rule, n in result.still_quarantined.most_common())
                print(
                    f"{contract.system}.{contract.name}: {result.rows_checked} checked, "
                    f"{result.rows_released} released to raw" + (f"; still held: {held}" if held else "")
                )
        return 0
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
