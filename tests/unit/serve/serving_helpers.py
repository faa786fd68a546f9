"""A small warehouse with a restricted mart and bi views over it, and a fingerprint of a serving dir."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from orchestration.serve.declarations import PublishedRelation

RELATIONS = [
    PublishedRelation("bi", "bi", "customers"),
    PublishedRelation("bi", "bi", "identity_resolution_stats"),
    PublishedRelation("restricted", "identity", "dim_customer"),
]


def build_warehouse(path: Path, customers: int = 10) -> Path:
    """`identity.dim_customer` with names and emails, `bi.customers` a view without them (as dbt builds)."""
    with duckdb.connect(str(path)) as conn:
        conn.execute("create schema if not exists identity")
        conn.execute("create schema if not exists bi")
        conn.execute(
            "create or replace table identity.dim_customer as select "
            "printf('KB%010d', range) as customer_key, 'Jan' as first_name, 'Jansen' as last_name, "
            "printf('jan%d@example.nl', range) as email, date '1980-01-01' + range::int as birth_date "
            f"from range({customers})"
        )
        conn.execute(
            "create or replace view bi.customers as "
            "select customer_key, year(birth_date) as birth_year from identity.dim_customer"
        )
        conn.execute(
            "create or replace table identity.identity_resolution_stats as "
            "select 'customers' as metric, 'all' as dimension, count(*) as value from identity.dim_customer"
        )
        conn.execute(
            "create or replace view bi.identity_resolution_stats as select * from identity.identity_resolution_stats"
        )
    return path


def serving_state(serving: Path) -> dict[str, tuple]:
    """Every path under the serving directory: links with their target, files with mtime and hash."""
    state: dict[str, tuple] = {}
    for path in sorted(serving.rglob("*")):
        name = str(path.relative_to(serving))
        if path.is_symlink():
            state[name] = ("link", str(path.readlink()))
        elif path.is_file():
            state[name] = ("file", path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
        else:
            state[name] = ("dir", path.stat().st_mode)
    return state
