"""Fixtures of the integration tests: a mid-sized simulated world on which the nightly job has run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import WORLD_END_DATE
from tests.integration.pipeline import run_nightly
from tests.integration.planted import plant_customers

# Enough people that per-segment campaign response rates have usable intervals; one year of history.
MARTS_WORLD_PEOPLE = 2000


@pytest.fixture(scope="session")
def marts_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ~2,000-person world (seed 7, last day 2026-06-30) with the customers of
    `tests/integration/planted.py` added, after one nightly run. Read-only for the tests: open the
    warehouse with `duckdb.connect(str(path / "warehouse.duckdb"), read_only=True)`."""
    import simulator

    data_dir = tmp_path_factory.mktemp("marts-world")
    simulator.generate(
        data_dir, n_people=MARTS_WORLD_PEOPLE, seed=7, end_date=WORLD_END_DATE, history_days=365
    )
    plant_customers(data_dir)
    result = run_nightly(data_dir)
    assert result.success
    return data_dir
