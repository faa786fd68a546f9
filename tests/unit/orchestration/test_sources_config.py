import pytest

from orchestration.ingest.contract import load_contract, parse_contract
from orchestration.ingest.contract_docs import CONTRACT_DOC, render_contract_doc
from orchestration.ingest.sources_config import SourcesConfigError, load_sources_config, parse_sources_config
from orchestration.paths import DEFAULT_SOURCES_CONFIG


def test_default_sources_config_configures_every_contract_table(tmp_path):
    contracts = load_contract()
    configured = load_sources_config(DEFAULT_SOURCES_CONFIG, contracts, env={"KLANTBEELD_DATA_DIR": "/d"})
    assert set(configured) == set(contracts)
    assert configured[("crm", "customers")].url == "sqlite:////d/sources/crm.sqlite"
    assert configured[("pos", "receipts")].path == "/d/sources/pos/receipts/*.csv"
    assert configured[("web", "events")].format == "jsonl"


def test_unconfigured_tables_are_absent_not_errors():
    document = {
        "systems": {
            "crm": {"kind": "database", "url": "sqlite:///crm.db", "tables": {"customers": None}},
            "webshop": {"kind": "files", "tables": {"orders": {"path": "/x/orders*.csv", "format": "csv"}}},
        }
    }
    configured = parse_sources_config(document, load_contract(), env={})
    assert set(configured) == {("crm", "customers"), ("webshop", "orders")}
    assert configured[("crm", "customers")].source_table == "customers"


def test_column_mapping_and_renamed_source_table():
    document = {
        "systems": {
            "crm": {
                "kind": "database",
                "url": "postgresql+psycopg://u:${PGPASS}@localhost/crm",
                "tables": {"customers": {"table": "klanten", "columns": {"customer_id": "klantnummer"}}},
            }
        }
    }
    source = parse_sources_config(document, load_contract(), env={"PGPASS": "s3cret"})[("crm", "customers")]
    assert source.url == "postgresql+psycopg://u:s3cret@localhost/crm"
    assert source.source_table == "klanten"
    assert source.source_column("customer_id") == "klantnummer"
    assert source.source_column("email") == "email"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"systems": {"erp": {"kind": "database", "url": "x", "tables": {}}}}, "unknown system 'erp'"),
        (
            {"systems": {"crm": {"kind": "database", "url": "x", "tables": {"orders": {}}}}},
            "unknown table crm.orders",
        ),
        ({"systems": {"crm": {"kind": "database", "tables": {"customers": {}}}}}, "needs a url"),
        ({"systems": {"crm": {"kind": "ftp", "tables": {}}}}, "kind: database or kind: files"),
        (
            {"systems": {"pos": {"kind": "files", "tables": {"receipts": {"path": "/x/*.xlsx"}}}}},
            "needs a path and a format",
        ),
        (
            {
                "systems": {
                    "crm": {
                        "kind": "database",
                        "url": "x",
                        "tables": {"customers": {"columns": {"nope": "a"}}},
                    }
                }
            },
            "unknown contract columns ['nope']",
        ),
        (
            {"systems": {"crm": {"kind": "database", "url": "${MISSING_VAR}", "tables": {"customers": {}}}}},
            "MISSING_VAR",
        ),
    ],
)
def test_config_mistakes_are_named(document, message):
    with pytest.raises(SourcesConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_sources_config(document, load_contract(), env={})


def test_contract_rejects_unknown_types_and_undefined_keys():
    bad_type = {
        "systems": {
            "s": {
                "kind": "files",
                "tables": {"t": {"primary_key": ["a"], "columns": {"a": {"type": "money"}}}},
            }
        }
    }
    with pytest.raises(ValueError, match="unknown column types"):
        parse_contract(bad_type)
    bad_key = {
        "systems": {
            "s": {
                "kind": "files",
                "tables": {"t": {"primary_key": ["b"], "columns": {"a": {"type": "string"}}}},
            }
        }
    }
    with pytest.raises(ValueError, match="key columns"):
        parse_contract(bad_key)


def test_landing_contract_doc_is_up_to_date():
    assert CONTRACT_DOC.read_text(encoding="utf-8") == render_contract_doc(), (
        "docs/landing-contract.md is stale: run `python -m orchestration.ingest.contract_docs`"
    )
