"""The dbt sources YAML must describe exactly the landing contract's tables and columns (no drift)."""

from __future__ import annotations

import pytest
import yaml

from orchestration.ingest.contract import RAW_SCHEMA, load_contract
from orchestration.paths import DBT_PROJECT_DIR

STAGING_DIR = DBT_PROJECT_DIR / "models" / "staging"


def dbt_sources() -> dict[tuple[str, str], dict]:
    tables: dict[tuple[str, str], dict] = {}
    for path in sorted(STAGING_DIR.glob("*/_*__sources.yml")):
        for source in yaml.safe_load(path.read_text(encoding="utf-8"))["sources"]:
            assert path.name == f"_{source['name']}__sources.yml", path
            for table in source["tables"]:
                tables[(source["name"], table["name"])] = {"schema": source["schema"], **table}
    return tables


SOURCES = dbt_sources()


def test_every_contract_table_is_a_source_and_nothing_else():
    assert set(SOURCES) == set(load_contract())


@pytest.mark.parametrize("key", list(load_contract()), ids=lambda key: f"{key[0]}.{key[1]}")
def test_source_matches_contract(key):
    contract, source = load_contract()[key], SOURCES[key]
    assert [column["name"] for column in source["columns"]] == list(contract.column_names)
    assert all(column.get("description") for column in source["columns"])
    assert (source["schema"], source["identifier"]) == (RAW_SCHEMA, contract.raw_table)
    config = source["config"]
    assert config["meta"]["dagster"]["asset_key"] == [RAW_SCHEMA, contract.raw_table]
    assert config["loaded_at_field"] == "_loaded_at"
    if contract.system == "thirdparty":
        assert config.get("freshness") is None
    else:
        assert config["freshness"]["warn_after"] == {"count": 36, "period": "hour"}


@pytest.mark.parametrize("key", list(load_contract()), ids=lambda key: f"{key[0]}.{key[1]}")
def test_source_is_staged_by_one_model(key):
    system, table = key
    uses = [
        path
        for path in STAGING_DIR.glob(f"{system}/stg_*.sql")
        if f"source('{system}', '{table}')" in path.read_text(encoding="utf-8")
    ]
    assert len(uses) == 1, uses
