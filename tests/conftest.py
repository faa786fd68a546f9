"""Shared test fixtures: small simulated worlds and a way to run the pipeline against them."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from orchestration.paths import DBT_PROJECT_DIR

# A fixed last published day keeps every simulated world, and so every assertion, reproducible.
WORLD_END_DATE = date(2026, 6, 30)
SMALL_WORLD_PEOPLE = 400


def pytest_sessionstart(session: pytest.Session) -> None:
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.exists():
        raise pytest.UsageError(
            f"{manifest} is missing: run the tests through `make test` (or `make manifest`)."
        )


@pytest.fixture(scope="session")
def small_world_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with ~400 simulated people and a year of history; copy it before changing it."""
    import simulator

    data_dir = tmp_path_factory.mktemp("world-template")
    simulator.generate(
        data_dir, n_people=SMALL_WORLD_PEOPLE, seed=7, end_date=WORLD_END_DATE, history_days=365
    )
    return data_dir


@pytest.fixture
def small_world(small_world_template: Path, tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    shutil.copytree(small_world_template, data_dir)
    return data_dir
