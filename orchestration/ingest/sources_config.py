"""`sources.yaml`: which source systems exist and where they are."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from orchestration.ingest.contract import TableContract
from orchestration.paths import data_dir

FILE_FORMATS = ("csv", "jsonl", "parquet")
_ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class SourcesConfigError(ValueError):
    """sources.yaml names something the landing contract does not know, or lacks a setting."""


@dataclass(frozen=True)
class TableSource:
    """Where one contract table comes from."""

    system: str
    table: str
    kind: str  # "database" or "files"
    url: str | None = None  # database: SQLAlchemy URL
    source_table: str | None = None  # database: table name in the source database
    source_schema: str | None = None  # database: schema in the source database
    path: str | None = None  # files: glob of the drops
    format: str | None = None  # files: csv | jsonl | parquet
    column_map: Mapping[str, str] = field(default_factory=dict)  # contract column -> source column
    delimiter: str = ","
    encoding: str = "utf-8"

    def source_column(self, contract_column: str) -> str:
        return self.column_map.get(contract_column, contract_column)


def expand_env(value: str, env: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "KLANTBEELD_DATA_DIR" and not env.get(name):
            return str(data_dir())
        if name not in env:
            raise SourcesConfigError(
                f"sources.yaml uses ${{{name}}} but that environment variable is not set"
            )
        return env[name]

    return _ENV_PATTERN.sub(replace, value)


def parse_sources_config(
    document: Mapping,
    contracts: Mapping[tuple[str, str], TableContract],
    env: Mapping[str, str] | None = None,
) -> dict[tuple[str, str], TableSource]:
    """The configured tables. A contract table that is not configured is simply absent."""
    env = os.environ if env is None else env
    known_systems = {system for system, _ in contracts}
    configured: dict[tuple[str, str], TableSource] = {}
    for system, system_doc in (document.get("systems") or {}).items():
        if system not in known_systems:
            raise SourcesConfigError(
                f"sources.yaml: unknown system {system!r}; the landing contract has {sorted(known_systems)}"
            )
        system_doc = system_doc or {}
        kind = system_doc.get("kind")
        if kind not in ("database", "files"):
            raise SourcesConfigError(f"sources.yaml: system {system!r} needs kind: database or kind: files")
        for table, table_doc in (system_doc.get("tables") or {}).items():
            if (system, table) not in contracts:
                known = sorted(t for s, t in contracts if s == system)
                raise SourcesConfigError(
                    f"sources.yaml: unknown table {system}.{table}; the landing contract has {known}"
                )
            table_doc = table_doc or {}
            column_map = dict(table_doc.get("columns") or {})
            unknown_columns = set(column_map) - set(contracts[(system, table)].column_names)
            if unknown_columns:
                raise SourcesConfigError(
                    f"sources.yaml: {system}.{table} maps unknown contract columns {sorted(unknown_columns)}"
                )
            if kind == "database":
                url = table_doc.get("url") or system_doc.get("url")
                if not url:
                    raise SourcesConfigError(f"sources.yaml: database system {system!r} needs a url")
                source = TableSource(
                    system=system,
                    table=table,
                    kind=kind,
                    url=expand_env(url, env),
                    source_table=table_doc.get("table", table),
                    source_schema=table_doc.get("schema"),
                    column_map=column_map,
                )
            else:
                path = table_doc.get("path")
                file_format = table_doc.get("format") or (Path(path).suffix.lstrip(".") if path else None)
                if not path or file_format not in FILE_FORMATS:
                    raise SourcesConfigError(
                        f"sources.yaml: {system}.{table} needs a path and a format out of {FILE_FORMATS}"
                    )
                source = TableSource(
                    system=system,
                    table=table,
                    kind=kind,
                    path=expand_env(path, env),
                    format=file_format,
                    column_map=column_map,
                    delimiter=table_doc.get("delimiter", ","),
                    encoding=table_doc.get("encoding", "utf-8"),
                )
            configured[(system, table)] = source
    return configured


def load_sources_config(
    path: Path,
    contracts: Mapping[tuple[str, str], TableContract],
    env: Mapping[str, str] | None = None,
) -> dict[tuple[str, str], TableSource]:
    with Path(path).open(encoding="utf-8") as handle:
        return parse_sources_config(yaml.safe_load(handle) or {}, contracts, env)
