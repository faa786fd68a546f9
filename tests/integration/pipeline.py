"""Run the real pipeline (extraction assets + dbt build) in-process against a given data directory."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.definitions import defs
from orchestration.resources import default_resources


@contextmanager
def data_dir_env(data_dir: Path):
    """The dbt profile and `${KLANTBEELD_DATA_DIR}` in sources.yaml read the data directory from the environment."""
    previous = os.environ.get("KLANTBEELD_DATA_DIR")
    os.environ["KLANTBEELD_DATA_DIR"] = str(data_dir)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("KLANTBEELD_DATA_DIR", None)
        else:
            os.environ["KLANTBEELD_DATA_DIR"] = previous


def run_nightly(
    data_dir: Path, sources_config: Path | None = None, raise_on_error: bool = True
) -> dg.ExecuteInProcessResult:
    """Materialize everything the nightly job materializes, with the resources pointed at `data_dir`."""
    with data_dir_env(data_dir):
        resources = default_resources(warehouse=data_dir / "warehouse.duckdb", sources_config=sources_config)
        job = defs.resolve_job_def("nightly")
        return job.execute_in_process(
            resources=resources, instance=dg.DagsterInstance.ephemeral(), raise_on_error=raise_on_error
        )


def row_counts(data_dir: Path, schema: str) -> dict[str, int]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        tables = conn.execute(
            "select table_name from information_schema.tables where table_schema = ? and table_name not like '\\_%' escape '\\'",
            [schema],
        ).fetchall()
        return {
            name: conn.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0]
            for (name,) in tables
        }
