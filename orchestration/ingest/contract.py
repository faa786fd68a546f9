"""The landing contract (`landing_contract.yaml`): what each source table looks like in `raw`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from orchestration.paths import LANDING_CONTRACT

RAW_SCHEMA = "raw"
LOGICAL_TYPES = ("string", "integer", "decimal", "boolean", "date", "timestamp")

# Load metadata added to every raw table, after the contract's columns.
LOAD_METADATA_COLUMNS: dict[str, str] = {
    "_batch_id": "varchar",  # the load (one Dagster run step) that brought the row
    "_loaded_at": "timestamp",  # UTC time of that load
    "_source": "varchar",  # the file path, or `<database url without password>#<table>`
    "_source_row": "bigint",  # 1-based data row in the file (header excluded), or position in the database read
}


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class TableContract:
    system: str
    name: str
    kind: str  # "database" or "files": the form the simulated system has; user data may differ
    description: str
    primary_key: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    cursor: str | None = None
    event_time: str | None = None
    customer_bearing: bool = False

    @property
    def raw_table(self) -> str:
        """Table name inside the `raw` schema, e.g. `crm__customers`."""
        return f"{self.system}__{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.required)


def parse_contract(document: dict) -> dict[tuple[str, str], TableContract]:
    contracts: dict[tuple[str, str], TableContract] = {}
    for system, system_doc in document["systems"].items():
        for table, table_doc in system_doc["tables"].items():
            columns = tuple(
                ColumnSpec(
                    name=name,
                    type=spec["type"],
                    required=bool(spec.get("required", False)),
                    description=spec.get("description", ""),
                )
                for name, spec in table_doc["columns"].items()
            )
            unknown = {column.type for column in columns} - set(LOGICAL_TYPES)
            if unknown:
                raise ValueError(f"landing contract {system}.{table}: unknown column types {sorted(unknown)}")
            contract = TableContract(
                system=system,
                name=table,
                kind=system_doc["kind"],
                description=table_doc.get("description", ""),
                primary_key=tuple(table_doc["primary_key"]),
                columns=columns,
                cursor=table_doc.get("cursor"),
                event_time=table_doc.get("event_time"),
                customer_bearing=bool(table_doc.get("customer_bearing", False)),
            )
            missing_keys = set(contract.primary_key) - set(contract.column_names)
            if missing_keys:
                raise ValueError(f"landing contract {system}.{table}: key columns {missing_keys} not defined")
            contracts[(system, table)] = contract
    return contracts


@cache
def load_contract(path: Path = LANDING_CONTRACT) -> dict[tuple[str, str], TableContract]:
    """All source tables of the landing contract, keyed by (system, table), in contract order."""
    with Path(path).open(encoding="utf-8") as handle:
        return parse_contract(yaml.safe_load(handle))


def raw_table_ddl(contract: TableContract) -> str:
    """`create table if not exists` for the raw table: contract columns as text, then load metadata.

    Raw keeps every value exactly as the source sent it (text), so a malformed value is never lost
    on landing; staging casts and normalizes.
    """
    columns = [f'"{name}" varchar' for name in contract.column_names]
    columns += [f'"{name}" {sql_type}' for name, sql_type in LOAD_METADATA_COLUMNS.items()]
    body = ",\n    ".join(columns)
    return f'create table if not exists {RAW_SCHEMA}."{contract.raw_table}" (\n    {body}\n)'
