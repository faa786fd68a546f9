"""Render the landing contract as `docs/landing-contract.md` (`python -m orchestration.ingest.contract_docs`).

A test compares the committed page with this rendering, so the documentation cannot drift.
"""

from __future__ import annotations

from orchestration.ingest.contract import LOAD_METADATA_COLUMNS, TableContract, load_contract
from orchestration.paths import REPO_ROOT

CONTRACT_DOC = REPO_ROOT / "docs" / "landing-contract.md"

_INTRO = """# Landing contract

<!-- Generated from orchestration/ingest/landing_contract.yaml by
     `python -m orchestration.ingest.contract_docs`; edit the YAML, not this page. -->

What each source table must contain for klantbeeld to load it. Point `sources.yaml` at your own
systems: a database table (any SQLAlchemy URL) or a folder of file drops (CSV, JSON lines, Parquet)
per contract table. Source columns with other names are mapped with `columns:` in `sources.yaml`.

- **required**: the column must be present. Optional columns that are missing land as empty (NULL).
- **key**: the table's own primary key; staging keeps one row per key (the latest version).
- Every value lands as text in `raw.<system>__<table>`, exactly as sent; staging casts and normalizes.
  Types below are what staging expects the text to hold. Timestamps are ISO 8601; with an offset
  or `Z` they are taken as given, otherwise as Europe/Amsterdam local time for store receipts and
  UTC for the rest (configurable per source in dbt).
- **Databases** are read incrementally on their cursor column (`updated_at`): each run reads rows
  with a cursor at or after the last watermark and never lands the same version of a row twice.
- **File drops** are loaded once each (by path, size and modification time): a re-run loads
  nothing twice; a re-delivered, changed file loads again and the latest version of each key wins.
- A table that is not configured is empty, not an error: the pipeline runs with only
  `crm.customers` and the webshop orders configured.

Every raw table also carries the load metadata: {metadata}.
"""


def render_table(contract: TableContract) -> str:
    facts = [f"key: `{', '.join(contract.primary_key)}`"]
    if contract.cursor:
        facts.append(f"incremental on `{contract.cursor}`")
    if contract.event_time:
        facts.append(f"event time `{contract.event_time}`")
    if contract.customer_bearing:
        facts.append("carries customer identifiers")
    lines = [
        f"### `{contract.system}.{contract.name}` → `raw.{contract.raw_table}`",
        "",
        *([contract.description, ""] if contract.description else []),
        "; ".join(facts) + ".",
        "",
        "| column | type | required | notes |",
        "|---|---|---|---|",
    ]
    for column in contract.columns:
        required = "key" if column.name in contract.primary_key else ("yes" if column.required else "")
        lines.append(f"| `{column.name}` | {column.type} | {required} | {column.description} |")
    return "\n".join(lines)


def render_contract_doc() -> str:
    contracts = load_contract()
    metadata = ", ".join(f"`{name}`" for name in LOAD_METADATA_COLUMNS)
    sections = [_INTRO.format(metadata=metadata)]
    current_system = None
    for (system, _), contract in contracts.items():
        if system != current_system:
            sections.append(f"## {system} ({contract.kind})")
            current_system = system
        sections.append(render_table(contract))
    return "\n\n".join(sections) + "\n"


if __name__ == "__main__":
    CONTRACT_DOC.write_text(render_contract_doc(), encoding="utf-8")
    print(f"wrote {CONTRACT_DOC}")
