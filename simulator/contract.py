"""The landing contract (orchestration/ingest/landing_contract.yaml) as the simulator needs it."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
CONTRACT_PATH = Path(
    os.environ.get(
        "KLANTBEELD_LANDING_CONTRACT", REPO_ROOT / "orchestration" / "ingest" / "landing_contract.yaml"
    )
)


@cache
def contract() -> dict[str, Any]:
    with CONTRACT_PATH.open(encoding="utf-8") as f:
        return yaml.safe_load(f)["systems"]


def columns(system: str, table: str) -> list[str]:
    return list(contract()[system]["tables"][table]["columns"])


def column_types(system: str, table: str) -> dict[str, str]:
    return {c: spec["type"] for c, spec in contract()[system]["tables"][table]["columns"].items()}


def primary_key(system: str, table: str) -> list[str]:
    return list(contract()[system]["tables"][table]["primary_key"])


def customer_bearing() -> list[tuple[str, str]]:
    return [
        (s, t)
        for s, sysdef in contract().items()
        for t, tdef in sysdef["tables"].items()
        if tdef.get("customer_bearing")
    ]
