"""Which warehouse relations are published, and to whom: declared in dbt, read from the manifest.

A model (seed, snapshot) is published when its YAML sets `config: {meta: {publish: <audience>}}`:

- `bi`: the pseudonymized views of `dbt_project/models/bi/` (schema `bi`), for every BI user;
- `restricted`: the full profile (names, email, phone, address), for the few who may see it.

Only models of the `bi` schema may go to `bi`: a mart marked `bi` by mistake would hand every BI user
its direct identifiers, so that is an error when the definitions load, not a silent leak.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AUDIENCES = ("bi", "restricted")
BI_SCHEMA = "bi"
PUBLISHABLE_RESOURCE_TYPES = ("model", "seed", "snapshot")


class PublicationDeclarationError(ValueError):
    """A `meta.publish` in the dbt project that cannot be honoured."""


@dataclass(frozen=True, order=True)
class PublishedRelation:
    """A warehouse relation `<schema>.<table>` published to `<audience>.<table>` in the serving files."""

    audience: str
    schema: str
    table: str
    dbt_unique_id: str = ""

    @property
    def source(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def asset_key_path(self) -> list[str]:
        """The dbt asset's key, `[schema, alias or name]` (see KlantbeeldDbtTranslator)."""
        return [self.schema, self.table]


def published_relations(manifest: Mapping[str, Any]) -> list[PublishedRelation]:
    """Every node of a dbt manifest marked `meta.publish`, sorted by audience and table."""
    relations: list[PublishedRelation] = []
    for unique_id, node in manifest.get("nodes", {}).items():
        if node.get("resource_type") not in PUBLISHABLE_RESOURCE_TYPES:
            continue
        meta = {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}
        audience = meta.get("publish")
        if audience is None:
            continue
        relation = PublishedRelation(
            audience=audience,
            schema=node["schema"],
            table=node.get("alias") or node["name"],
            dbt_unique_id=unique_id,
        )
        check_declaration(relation)
        relations.append(relation)
    check_unique_names(relations)
    return sorted(relations)


def check_declaration(relation: PublishedRelation) -> None:
    if relation.audience not in AUDIENCES:
        raise PublicationDeclarationError(
            f"{relation.dbt_unique_id}: meta.publish is {relation.audience!r}; "
            f"expected one of {', '.join(AUDIENCES)}"
        )
    if relation.audience == "bi" and relation.schema != BI_SCHEMA:
        raise PublicationDeclarationError(
            f"{relation.dbt_unique_id} ({relation.source}) is marked `publish: bi`, but the bi audience "
            f"only gets the pseudonymized models of schema `{BI_SCHEMA}` (dbt_project/models/bi/): mark "
            "it `publish: restricted`, or publish a bi__ view over it"
        )


def check_unique_names(relations: list[PublishedRelation]) -> None:
    seen: dict[tuple[str, str], PublishedRelation] = {}
    for relation in relations:
        other = seen.setdefault((relation.audience, relation.table), relation)
        if other is not relation:
            raise PublicationDeclarationError(
                f"{other.dbt_unique_id} and {relation.dbt_unique_id} would both be published as "
                f"{relation.audience}.{relation.table}"
            )


def load_published_relations(manifest_path: Path) -> list[PublishedRelation]:
    return published_relations(json.loads(manifest_path.read_text(encoding="utf-8")))
