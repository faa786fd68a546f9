"""What is published is declared in dbt (`meta.publish`); the manifest is read, checked, never guessed."""

from __future__ import annotations

import json
import re

import pytest

from orchestration.dbt_project import dbt_project
from orchestration.serve.declarations import (
    PublicationDeclarationError,
    PublishedRelation,
    published_relations,
)

# Columns that name, locate or contact a person, or point back at a source record.
DIRECT_IDENTIFIER = re.compile(
    r"^(first_name|last_name|surname|surname_infix|full_name|name|email|phone|street|house_number"
    r"|house_number_suffix|postcode|address|birth_date|ip_address)$|_source$|record_id$"
)


def node(name: str, schema: str, *, alias: str | None = None, publish: str | None = None, in_config=True):
    meta = {"publish": publish} if publish else {}
    return {
        f"model.klantbeeld.{name}": {
            "resource_type": "model",
            "name": name,
            "schema": schema,
            "alias": alias or name,
            "config": {"meta": meta if in_config else {}},
            "meta": {} if in_config else meta,
        }
    }


def manifest(*nodes: dict) -> dict:
    return {"nodes": {k: v for n in nodes for k, v in n.items()}}


def test_marked_models_are_published_under_their_alias_and_the_rest_is_not():
    relations = published_relations(
        manifest(
            node("bi__customers", "bi", alias="customers", publish="bi"),
            node("dim_customer", "identity", publish="restricted"),
            node("customer_identity_map", "identity"),
        )
    )
    assert relations == [
        PublishedRelation("bi", "bi", "customers", "model.klantbeeld.bi__customers"),
        PublishedRelation("restricted", "identity", "dim_customer", "model.klantbeeld.dim_customer"),
    ]
    assert relations[0].asset_key_path == ["bi", "customers"]


def test_meta_set_outside_config_counts_too():
    relations = published_relations(
        manifest(node("dim_customer", "identity", publish="restricted", in_config=False))
    )
    assert [r.source for r in relations] == ["identity.dim_customer"]


def test_an_unknown_audience_is_an_error():
    with pytest.raises(PublicationDeclarationError, match="'public'"):
        published_relations(manifest(node("bi__customers", "bi", publish="public")))


def test_a_mart_outside_the_bi_schema_cannot_be_published_to_bi():
    with pytest.raises(PublicationDeclarationError, match="only gets the pseudonymized models"):
        published_relations(manifest(node("dim_customer", "identity", publish="bi")))


def test_two_models_published_under_one_name_are_an_error():
    with pytest.raises(PublicationDeclarationError, match=r"both be published as restricted\.customers"):
        published_relations(
            manifest(
                node("customers", "identity", publish="restricted"),
                node("other_customers", "marts", alias="customers", publish="restricted"),
            )
        )


@pytest.fixture(scope="module")
def project_manifest() -> dict:
    return json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))


def test_the_project_publishes_pseudonymized_customers_to_bi_and_the_golden_record_restricted(
    project_manifest,
):
    relations = {(r.audience, r.source) for r in published_relations(project_manifest)}
    assert {
        ("bi", "bi.customers"),
        ("bi", "bi.identity_resolution_stats"),
        ("restricted", "identity.dim_customer"),
    } <= relations


def test_every_bi_model_has_a_contract_and_no_direct_identifier_column(project_manifest):
    """The contract makes the declared columns the real ones, so the YAML is what BI users get."""
    bi_nodes = [
        n
        for n in project_manifest["nodes"].values()
        if (n.get("config") or {}).get("meta", {}).get("publish") == "bi"
    ]
    assert bi_nodes
    for bi_node in bi_nodes:
        assert bi_node["config"]["contract"]["enforced"], f"{bi_node['name']}: enforce a contract"
        identifying = [c for c in bi_node["columns"] if DIRECT_IDENTIFIER.search(c) and c != "customer_key"]
        assert not identifying, f"{bi_node['name']} passes direct identifiers to BI: {identifying}"
