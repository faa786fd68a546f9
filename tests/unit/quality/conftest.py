"""Fixtures for the data-quality tests: a temporary warehouse, the real contract and one GX data dir.

Great Expectations' context is cached per data directory (`quality_context`), so the whole folder
shares one session directory for validation results: the suites are read from `expectations/`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.contract import TableContract, load_contract
from orchestration.ingest.extract import ensure_raw_schema

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def contracts() -> dict[tuple[str, str], TableContract]:
    return load_contract()


@pytest.fixture(scope="session")
def receipts_contract(contracts) -> TableContract:
    return contracts[("pos", "receipts")]


@pytest.fixture(scope="session")
def quality_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where GX writes validation results in these tests (never the repository's data dir)."""
    return tmp_path_factory.mktemp("quality_data")


@pytest.fixture
def warehouse(tmp_path: Path, contracts) -> Iterator[duckdb.DuckDBPyConnection]:
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_raw_schema(conn, contracts)
    yield conn
    conn.close()
