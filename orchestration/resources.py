"""Resources for everything external: the warehouse, the source systems' configuration, dbt."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from orchestration.dbt_project import dbt_project
from orchestration.ingest.contract import TableContract, load_contract
from orchestration.ingest.sources_config import TableSource, load_sources_config
from orchestration.paths import sources_config_path, warehouse_path


class WarehouseResource(DuckDBResource):
    """The DuckDB warehouse file (`<data dir>/warehouse.duckdb`); connections retry while it is locked."""

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with super().get_connection() as conn:
            yield conn


class SourceSystemsResource(dg.ConfigurableResource):
    """Which source systems exist and where they are: `sources.yaml` (path overridable)."""

    config_path: str

    def contracts(self) -> dict[tuple[str, str], TableContract]:
        return load_contract()

    def configured_tables(self) -> dict[tuple[str, str], TableSource]:
        return load_sources_config(Path(self.config_path), self.contracts())


def default_resources(
    warehouse: Path | None = None, sources_config: Path | None = None
) -> dict[str, dg.ConfigurableResource]:
    """The embedded default: the DuckDB file under the data directory and `sources.yaml`."""
    return {
        "warehouse": WarehouseResource(database=str(warehouse or warehouse_path())),
        "source_systems": SourceSystemsResource(config_path=str(sources_config or sources_config_path())),
        "dbt": DbtCliResource(
            project_dir=dbt_project,
            # the venv's own dbt, so the pipeline works without an activated venv
            dbt_executable=str(Path(sys.executable).parent / "dbt"),
        ),
    }
