"""A BI user in another process: reads the serving file in a loop while the pipeline runs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Open the bi file read-only, check that every expected table is listed in `_publication` with the row
# count it really has, close; again until the stop file appears. Prints a JSON summary at the end.
READER = """
import json, os, sys, time
import duckdb
path, stop, expected = sys.argv[1], sys.argv[2], sorted(json.loads(sys.argv[3]))
reads, errors, seen = 0, [], {}
print("started", flush=True)
while not os.path.exists(stop):
    try:
        with duckdb.connect(path, read_only=True) as conn:
            published = conn.execute("select table_name, row_count, run_id from bi._publication").fetchall()
            if sorted(table for table, _, _ in published) != expected:
                raise AssertionError(f"_publication lists {sorted(t for t, _, _ in published)}")
            for table, rows, _ in published:
                (count,) = conn.execute(f'select count(*) from bi."{table}"').fetchone()
                if count != rows:
                    raise AssertionError(f"bi.{table} has {count} rows, _publication says {rows}")
            (run_id,) = {run_id for _, _, run_id in published}
        reads += 1
        first, last = seen.get(run_id, (time.time(), None))
        seen[run_id] = (first, time.time())
    except Exception as error:
        errors.append(f"{type(error).__name__}: {error}")
    time.sleep(0.05)
print(json.dumps({"reads": reads, "errors": errors[:20], "error_count": len(errors), "seen": seen}))
"""


@contextmanager
def reader_looping(bi_database: Path, expected_tables: list[str], stop_file: Path) -> Iterator[dict]:
    """Start the reader on `bi_database`; on exit stop it and fill the yielded dict with its summary
    (`reads`, `errors`, `error_count`, `seen`: run id -> first and last time it was read)."""
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(bi_database), str(stop_file), json.dumps(expected_tables)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    summary: dict = {}
    try:
        assert reader.stdout.readline().strip() == "started"
        yield summary
        stop_file.touch()
        out, err = reader.communicate(timeout=60)
        assert reader.returncode == 0, err
        summary.update(json.loads(out.strip().splitlines()[-1]))
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
