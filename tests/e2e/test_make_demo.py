"""What a user does first: `make demo` on the repository, with its own data directory."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import duckdb
import pytest

from orchestration.paths import REPO_ROOT

pytestmark = pytest.mark.integration


def test_make_demo_generates_sources_runs_the_nightly_job_and_says_where_to_look(tmp_path):
    data_dir = tmp_path / "data"
    env = {
        k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "DAGSTER_HOME"}
    }
    env["KLANTBEELD_DATA_DIR"] = str(data_dir)
    completed = subprocess.run(
        ["make", "demo", "DEMO_PEOPLE=300"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    assert "RUN_SUCCESS" in output
    assert f"warehouse:      {data_dir / 'warehouse.duckdb'}" in completed.stdout
    assert "make ui" in completed.stdout
    # the run history is kept under the data directory, with telemetry off
    assert (data_dir / "dagster" / "dagster.yaml").read_text().count("enabled: false") == 1
    assert any((data_dir / "dagster").glob("history/runs*")) or any((data_dir / "dagster").glob("storage*"))
    with sqlite3.connect(data_dir / "sources" / "crm.sqlite") as crm:
        (crm_customers,) = crm.execute("select count(distinct customer_id) from customers").fetchone()
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        (customers,) = conn.execute("select count(*) from staging.stg_crm__customers").fetchone()
        (orders,) = conn.execute("select count(*) from staging.stg_webshop__orders").fetchone()
        (mapped_crm,) = conn.execute(
            "select count(customer_key) from identity.customer_identity_map where source_table = 'customers'"
        ).fetchone()
        (known_customers,) = conn.execute(
            "select count(*) from identity.dim_customer where is_known"
        ).fetchone()
        (profile_records,) = conn.execute(
            "select (select count(*) from staging.stg_crm__customers)"
            " + (select count(*) from staging.stg_webshop__accounts)"
            " + (select count(*) from staging.stg_loyalty__members)"
        ).fetchone()
    assert customers == crm_customers > 0
    assert orders > 0
    # every CRM record has a customer, duplicates share one, and the demo ends with the evaluation
    assert mapped_crm == customers
    assert 0 < known_customers < profile_records
    assert "precision" in completed.stdout and "profile" in completed.stdout
    assert (data_dir / "identity" / "splink_model.json").exists()

    # the marts: one customer_360 row per customer, and a BI user's query of the serving file from
    # another process (the warehouse itself is never opened by BI tools)
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        (customers_360, dim_customers) = conn.execute(
            "select (select count(*) from marts.customer_360), (select count(*) from identity.dim_customer)"
        ).fetchone()
    assert customers_360 == dim_customers > 0
    bi_query = (
        "import duckdb, sys; conn = duckdb.connect(sys.argv[1], read_only=True); "
        "print(conn.execute('select count(*), count(distinct rfm_segment) from bi.customer_360').fetchone())"
    )
    served = subprocess.run(
        [sys.executable, "-c", bi_query, str(data_dir / "serving" / "klantbeeld_bi.duckdb")],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert served.stdout.strip().startswith(f"({customers_360}, ")
