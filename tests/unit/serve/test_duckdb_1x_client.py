"""The serving files open in DuckDB 1.x, the driver many BI tools ship (the warehouse is DuckDB 2.0).

The oldest (1.0) and the newest (1.4) 1.x release are installed from PyPI into temporary directories
with the venv's uv and run in a subprocess that cannot import the venv's duckdb. When an install fails
the test fails: the claim in docs/serving.md is only as good as this check.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestration.serve.publish import parquet_current_dir, publish, serving_database_path
from tests.unit.serve.serving_helpers import RELATIONS, build_warehouse

OLD_CLIENTS = ["1.0.*", "1.4.*"]
UV = Path(sys.executable).with_name("uv")

# Run with `python -I` (no site-packages, no PYTHON* variables): only the 1.4 wheel can be imported.
OPEN_READ_ONLY = """
import json, sys
sys.path.insert(0, sys.argv[1])
import duckdb
counts = {}
for database in sys.argv[2:4]:
    with duckdb.connect(database, read_only=True) as conn:
        for schema, table in conn.execute(
            "select schema_name, table_name from duckdb_tables() order by 1, 2"
        ).fetchall():
            counts[f"{schema}.{table}"] = conn.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
with duckdb.connect() as conn:
    parquet = conn.execute("select count(*) from read_parquet(?)", [sys.argv[4]]).fetchone()[0]
print(json.dumps({"version": duckdb.__version__, "path": duckdb.__file__, "counts": counts, "parquet": parquet}))
"""


@pytest.fixture(scope="session", params=OLD_CLIENTS)
def duckdb_1x(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """(version pattern, directory) of a DuckDB 1.x wheel installed apart from the venv."""
    target = tmp_path_factory.mktemp("duckdb-1x")
    requirement = f"duckdb=={request.param}"
    install = subprocess.run(
        [
            str(UV),
            "pip",
            "install",
            "--quiet",
            "--python",
            sys.executable,
            "--target",
            str(target),
            requirement,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert install.returncode == 0, f"could not install {requirement} with uv:\n{install.stderr}"
    return request.param, target


def test_duckdb_1x_opens_both_serving_files_read_only_and_reads_the_parquet(duckdb_1x, tmp_path):
    version_pattern, client_dir = duckdb_1x
    warehouse = build_warehouse(tmp_path / "warehouse.duckdb")
    serving = tmp_path / "serving"
    publish(warehouse, serving, RELATIONS, run_id="run-1", published_at=datetime(2026, 7, 1, tzinfo=UTC))

    opened = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            OPEN_READ_ONLY,
            str(client_dir),
            str(serving_database_path(serving, "bi")),
            str(serving_database_path(serving, "restricted")),
            str(parquet_current_dir(serving, "bi") / "customers.parquet"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert opened.returncode == 0, opened.stderr
    result = json.loads(opened.stdout)
    assert result["version"].startswith(version_pattern.rstrip("*")), result
    assert result["path"].startswith(str(client_dir)), "the venv's duckdb 2.0 was imported"
    assert result["counts"] == {
        "bi._publication": 2,
        "bi.customers": 10,
        "bi.identity_resolution_stats": 1,
        "restricted._publication": 1,
        "restricted.dim_customer": 10,
    }
    assert result["parquet"] == 10
