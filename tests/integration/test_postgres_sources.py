"""Database extraction against a real PostgreSQL server, started by the test in a temporary directory.

The server comes from the session fixture `postgres_server` (tests/conftest.py; Debian package `postgresql`).
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
import sqlalchemy as sa

from orchestration.ingest.contract import load_contract
from orchestration.ingest.extract import SourceError, ensure_raw_schema, extract_table
from orchestration.ingest.sources_config import TableSource

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

LOADED_AT = dt.datetime(2024, 3, 1, 2, 0, 0)


SCHEMA = """
create schema shop;
create table customers (
    customer_id text primary key, first_name text not null, infix text, last_name text not null,
    birth_date date, email text, consent_email boolean, consent_sms boolean,
    created_at timestamp not null, updated_at timestamp not null, internal_score integer);
create table shop.accounts (
    account_id text primary key, email text not null, newsletter_opt_in boolean,
    created_at timestamp not null, updated_at timestamp not null);
create table shop.products (
    product_id text primary key, product_name text, product_line text, unit_price numeric(10, 2),
    unit_cost numeric(10, 4), is_active boolean, updated_at timestamptz not null);
create table shop.orders (
    order_id text primary key, account_id text, ordered_at timestamp not null, status text not null,
    total_amount numeric(12, 2) not null, updated_at timestamp not null);
create table shop.order_lines (
    order_line_id text primary key, order_id text not null, product_id text not null, quantity integer not null,
    unit_price numeric(10, 2) not null, line_amount numeric(12, 2) not null, updated_at timestamp not null);

insert into customers values
    ('C1', 'Anna', 'van der', 'Berg', '1980-05-01', 'anna@example.nl', true, false,
     '2024-01-01 09:00:00', '2024-01-01 10:00:00.123456', 7),
    ('C2', 'Bram', null, 'Jansen', null, null, null, null, '2024-01-02 09:00:00', '2024-01-02 10:00:00', 3);
insert into shop.accounts values ('A1', 'anna@example.nl', true, '2024-01-01 09:00:00', '2024-01-01 09:30:00');
insert into shop.products values
    ('P1', 'Fiets', 'bikes', 499.00, 310.1234, true, '2024-01-01 08:00:00+00'),
    ('P2', 'Bel', 'parts', 9.95, 2.5, false, '2024-01-01 08:00:00+00');
insert into shop.orders values
    ('O1', 'A1', '2024-01-05 12:00:00', 'paid', 508.95, '2024-01-05 12:00:00'),
    ('O2', null, '2024-01-06 12:00:00', 'placed', 9.95, '2024-01-06 12:00:00.5');
insert into shop.order_lines values
    ('L1', 'O1', 'P1', 1, 499.00, 499.00, '2024-01-05 12:00:00'),
    ('L2', 'O1', 'P2', 1, 9.95, 9.95, '2024-01-05 12:00:00'),
    ('L3', 'O2', 'P2', 1, 9.95, 9.95, '2024-01-06 12:00:00.5');
"""

TABLES = {
    ("crm", "customers"): (None, "customers"),
    ("webshop", "accounts"): ("shop", "accounts"),
    ("webshop", "products"): ("shop", "products"),
    ("webshop", "orders"): ("shop", "orders"),
    ("webshop", "order_lines"): ("shop", "order_lines"),
}


def test_postgres_tables_land_and_load_incrementally(postgres_database, tmp_path):
    engine = sa.create_engine(postgres_database)
    with engine.begin() as pg:
        pg.exec_driver_sql(SCHEMA)
    contracts = load_contract()
    sources = {
        key: TableSource(
            key[0], key[1], "database", url=postgres_database, source_table=table, source_schema=schema
        )
        for key, (schema, table) in TABLES.items()
    }
    warehouse = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    ensure_raw_schema(warehouse, contracts)

    def load_all(batch_id: str) -> dict[tuple[str, str], int]:
        return {
            key: extract_table(warehouse, contracts[key], source, batch_id, LOADED_AT).rows_loaded
            for key, source in sources.items()
        }

    first = load_all("b1")
    assert first == {
        ("crm", "customers"): 2,
        ("webshop", "accounts"): 1,
        ("webshop", "products"): 2,
        ("webshop", "orders"): 2,
        ("webshop", "order_lines"): 3,
    }
    assert warehouse.execute(
        "select customer_id, infix, birth_date, consent_email, consent_sms, updated_at, _source "
        "from raw.crm__customers order by 1"
    ).fetchall() == [
        (
            "C1",
            "van der",
            "1980-05-01",
            "true",
            "false",
            "2024-01-01 10:00:00.123456",
            f"{postgres_database}#customers",
        ),
        ("C2", None, None, None, None, "2024-01-02 10:00:00", f"{postgres_database}#customers"),
    ]
    assert warehouse.execute(
        "select product_id, unit_price, unit_cost, is_active, updated_at from raw.webshop__products order by 1"
    ).fetchall() == [
        ("P1", "499.00", "310.1234", "true", "2024-01-01 08:00:00+00:00"),
        ("P2", "9.95", "2.5000", "false", "2024-01-01 08:00:00+00:00"),
    ]
    watermarks = dict(warehouse.execute("select source_table, watermark from raw._watermarks").fetchall())
    assert watermarks["orders"] == "2024-01-06 12:00:00.500000"
    assert watermarks["products"] == "2024-01-01 08:00:00+00:00"

    assert set(load_all("b2").values()) == {0}  # nothing changed: nothing lands, nothing is duplicated

    with engine.begin() as pg:
        pg.exec_driver_sql(
            "update customers set last_name = 'Berg-Smit', updated_at = '2024-02-01 10:00:00' where customer_id = 'C1';"
            "update shop.products set unit_price = 10.95, updated_at = '2024-02-01 09:00:00+01' where product_id = 'P2';"
            "insert into shop.orders values ('O3', 'A1', '2024-02-02 12:00:00', 'placed', 20.00, '2024-02-02 12:00:00');"
            # committed late, with exactly the current watermark: must land once
            "insert into shop.order_lines values ('L4', 'O2', 'P1', 2, 1.00, 2.00, '2024-01-06 12:00:00.5');"
            # an older, not updated row: must not land
            "insert into shop.accounts values ('A0', 'x@example.nl', false, '2023-01-01', '2023-01-01');"
        )
    third = load_all("b3")
    assert third == {
        ("crm", "customers"): 1,
        ("webshop", "accounts"): 0,
        ("webshop", "products"): 1,
        ("webshop", "orders"): 1,
        ("webshop", "order_lines"): 1,
    }
    assert warehouse.execute(
        "select customer_id, last_name from raw.crm__customers where _batch_id = 'b3'"
    ).fetchall() == [("C1", "Berg-Smit")]
    assert warehouse.execute(
        "select product_id, unit_price, updated_at from raw.webshop__products where _batch_id = 'b3'"
    ).fetchall() == [("P2", "10.95", "2024-02-01 08:00:00+00:00")]
    assert warehouse.execute(
        "select order_line_id from raw.webshop__order_lines where _batch_id = 'b3'"
    ).fetchall() == [("L4",)]
    assert set(load_all("b4").values()) == {0}
    raw_total = sum(
        warehouse.execute(f'select count(*) from raw."{s}__{t}"').fetchone()[0] for s, t in TABLES
    )
    assert (
        raw_total == warehouse.execute("select sum(rows_loaded) from raw._load_batches").fetchone()[0] == 14
    )

    with pytest.raises(SourceError, match=r"webshop\.orders: database table .*#shop\.bestellingen"):
        extract_table(
            warehouse,
            contracts[("webshop", "orders")],
            TableSource(
                "webshop",
                "orders",
                "database",
                url=postgres_database,
                source_table="bestellingen",
                source_schema="shop",
            ),
            "b5",
        )
    warehouse.close()
    engine.dispose()
