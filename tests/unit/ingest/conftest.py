"""Fixtures for the extraction tests: a temporary warehouse and the real landing contract."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.contract import TableContract, load_contract
from orchestration.ingest.extract import ensure_raw_schema


@pytest.fixture
def contracts() -> dict[tuple[str, str], TableContract]:
    return load_contract()


@pytest.fixture
def warehouse(tmp_path: Path, contracts) -> Iterator[duckdb.DuckDBPyConnection]:
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_raw_schema(conn, contracts)
    yield conn
    conn.close()
