"""`dbt docs generate` works on a built warehouse, and the docs describe the marts and who uses them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from orchestration.paths import DBT_PROJECT_DIR

DBT = Path(sys.executable).with_name("dbt")


def test_dbt_docs_generate_describes_marts_and_their_consumers(marts_world: Path, tmp_path: Path) -> None:
    env = {**os.environ, "KLANTBEELD_DATA_DIR": str(marts_world), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    target = tmp_path / "target"
    result = subprocess.run(
        [str(DBT), "docs", "generate", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
         str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path", str(tmp_path / "logs")],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
    assert (target / "index.html").exists()

    catalog = json.loads((target / "catalog.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    tables = {node["metadata"]["name"]: node for node in catalog["nodes"].values()}
    # the catalog read the real warehouse: the customer 360 with the columns its contract names
    customer_360 = tables["customer_360"]
    contract = next(node for node in json.loads((target / "manifest.json").read_text())["nodes"].values()
                    if node["name"] == "customer_360")  # fmt: skip
    assert {name.lower() for name in customer_360["columns"]} == set(contract["columns"])

    # every public mart is documented: a description and a description per column
    marts = [
        node for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] in ("marts", "identity", "bi")
        and node["config"].get("contract", {}).get("enforced")
    ]  # fmt: skip
    assert len(marts) >= 10
    assert all(node["description"] for node in marts), [n["name"] for n in marts if not n["description"]]
    columns = [(node["name"], column, spec) for node in marts for column, spec in node["columns"].items()]
    undocumented = [f"{model}.{column}" for model, column, spec in columns if not spec.get("description")]
    assert len(undocumented) <= 0.1 * len(columns), undocumented

    # exposures name the BI dashboards and the ML consumers, and what they read
    exposures = manifest["exposures"].values()
    assert {exposure["type"] for exposure in exposures} >= {"dashboard", "ml"}
    assert all(exposure["depends_on"]["nodes"] for exposure in exposures)
