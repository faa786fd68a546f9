"""Where things live: the repository and the one data directory that holds all runtime state."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DEFAULT_SOURCES_CONFIG = REPO_ROOT / "sources.yaml"
LANDING_CONTRACT = Path(__file__).resolve().parent / "ingest" / "landing_contract.yaml"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"  # the Great Expectations project (suites in git)


def data_dir() -> Path:
    """The data directory: `KLANTBEELD_DATA_DIR`, or `./data` in the repository."""
    return Path(os.environ.get("KLANTBEELD_DATA_DIR") or REPO_ROOT / "data").resolve()


def warehouse_path() -> Path:
    return data_dir() / "warehouse.duckdb"


def serving_dir() -> Path:
    """The published copies of the marts that BI tools read (`<data dir>/serving`, docs/serving.md)."""
    return data_dir() / "serving"


def sources_config_path() -> Path:
    """`KLANTBEELD_SOURCES_CONFIG`, or the repository's `sources.yaml` (the simulated systems)."""
    return Path(os.environ.get("KLANTBEELD_SOURCES_CONFIG") or DEFAULT_SOURCES_CONFIG).resolve()


# Inside a data directory: the Data Docs page listing every validation (orchestration/quality/gx_context.py).
DATA_DOCS_PAGE = Path("quality", "data_docs", "klantbeeld.html")


def quality_dir() -> Path:
    """What data-quality runs produce: GX validation results and the Data Docs site."""
    return data_dir() / "quality"
