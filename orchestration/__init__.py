"""klantbeeld's Dagster code location (`dagster job execute -m orchestration -j nightly`).

`defs` is loaded on first access, so that plain modules such as `orchestration.ingest` can be
imported (by tests, by the benchmark) without loading Dagster and the dbt manifest.
"""

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "defs":
        from orchestration.definitions import defs

        return defs
    raise AttributeError(f"module 'orchestration' has no attribute {name!r}")


def __dir__() -> list[str]:
    return ["defs"]
