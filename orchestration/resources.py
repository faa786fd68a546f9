"""Resources for everything external: the warehouse, its published copies, the source systems'
configuration, dbt, the MLflow store."""

from __future__ import annotations

import datetime
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource

from ml.registry import MlflowStore
from orchestration.dbt_project import dbt_project
from orchestration.ingest.contract import TableContract, load_contract
from orchestration.ingest.sources_config import TableSource, load_sources_config
from orchestration.paths import data_dir, serving_dir, sources_config_path, warehouse_path


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file (`<data dir>/warehouse.duckdb`).

    DuckDB allows one writing process per file: a connection waits (with backoff) while another
    process holds the lock, and is always closed, also when the step fails.
    """

    database: str
    lock_wait_seconds: float = 60.0

    @property
    def path(self) -> Path:
        return Path(self.database)

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        conn = connect_waiting_for_lock(self.database, self.lock_wait_seconds)
        try:
            yield conn
        finally:
            conn.close()


def connect_waiting_for_lock(database: str, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait_seconds
    delay = 0.1
    while True:
        try:
            return duckdb.connect(database)
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


class ServingResource(dg.ConfigurableResource):
    """The directory of the read-only copies BI tools query (`<data dir>/serving`, docs/serving.md)."""

    directory: str

    @property
    def path(self) -> Path:
        return Path(self.directory)


class QualityResource(dg.ConfigurableResource):
    """Where validation results and Data Docs go (`<data dir>/quality`), and the clock of freshness.

    `reference_time` (ISO, `KLANTBEELD_AS_OF`): the time "now" for freshness; empty: the run's clock.
    Set it when the pipeline runs on data of a past date (a backtest, a test world).
    """

    data_dir: str
    reference_time: str | None = None

    @property
    def path(self) -> Path:
        return Path(self.data_dir)

    def now(self) -> datetime.datetime:
        if self.reference_time:
            value = datetime.datetime.fromisoformat(self.reference_time)
            return value.astimezone(datetime.UTC).replace(tzinfo=None) if value.tzinfo else value
        return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class MlflowResource(dg.ConfigurableResource):
    """The MLflow tracking store and model registry: `tracking_uri` (`MLFLOW_TRACKING_URI`), else a
    local SQLite store with its artifacts in `<data dir>/mlflow` (STACK.md: never MLflow's default,
    which depends on the current directory)."""

    data_dir: str
    tracking_uri: str | None = None

    def store(self) -> MlflowStore:
        return MlflowStore.under(Path(self.data_dir), self.tracking_uri)


class AsOfResource(dg.ConfigurableResource):
    """The day the whole pipeline describes (`KLANTBEELD_AS_OF`: a date, or a time whose date counts).

    Empty: the last day with data. Set, dbt leaves out every order and touchpoint after it (the
    `as_of_date` var), the ML features and labels stop there and the scores predict the days after
    it: how a backtest runs, and how a dataset that ends in the past is scored.
    """

    value: str | None = None

    def date(self) -> datetime.date | None:
        if not self.value:
            return None
        try:
            return datetime.date.fromisoformat(self.value[:10])
        except ValueError as error:
            raise ValueError(f"KLANTBEELD_AS_OF={self.value!r} is not a date (YYYY-MM-DD): {error}") from None


class SourceSystemsResource(dg.ConfigurableResource):
    """Which source systems exist and where they are: `sources.yaml` (path overridable)."""

    config_path: str

    def contracts(self) -> dict[tuple[str, str], TableContract]:
        return load_contract()

    def configured_tables(self) -> dict[tuple[str, str], TableSource]:
        return load_sources_config(Path(self.config_path), self.contracts())


def default_resources(
    warehouse: Path | None = None, sources_config: Path | None = None, serving: Path | None = None
) -> dict[str, dg.ConfigurableResource]:
    """The embedded default: the DuckDB file and the serving directory under the data directory, and
    `sources.yaml`."""
    return {
        "warehouse": WarehouseResource(database=str(warehouse or warehouse_path())),
        "serving": ServingResource(directory=str(serving or serving_dir())),
        "quality": QualityResource(
            data_dir=str(warehouse.parent if warehouse else data_dir()),
            reference_time=os.environ.get("KLANTBEELD_AS_OF") or None,
        ),
        "as_of": AsOfResource(value=os.environ.get("KLANTBEELD_AS_OF") or None),
        "mlflow": MlflowResource(
            data_dir=str(warehouse.parent if warehouse else data_dir()),
            tracking_uri=os.environ.get("MLFLOW_TRACKING_URI") or None,
        ),
        "source_systems": SourceSystemsResource(config_path=str(sources_config or sources_config_path())),
        "dbt": DbtCliResource(
            project_dir=dbt_project,
            # the venv's own dbt, so the pipeline works without an activated venv
            dbt_executable=str(Path(sys.executable).parent / "dbt"),
        ),
    }
