"""customer_360 on the marts world: one row per customer, every part joined, the planted customers as
computed by hand, and the bi view and serving file without direct identifiers."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestration.serve.publish import serving_database_path
from tests.integration.planted import (
    ENGAGEMENT_CUSTOMER,
    ENGAGEMENT_POINTS,
    ROBO_CUSTOMER,
    ROBO_PRODUCT_LINE,
)

DIRECT_IDENTIFIERS = {
    "first_name", "last_name", "surname_infix", "birth_date", "email", "phone", "street",
    "house_number", "house_number_suffix", "postcode", "offer_coupon_code", "anonymous_id",
}  # fmt: skip


@pytest.fixture(scope="module")
def warehouse(marts_world: Path):
    with duckdb.connect(str(marts_world / "warehouse.duckdb"), read_only=True) as conn:
        yield conn


def row_of(conn: duckdb.DuckDBPyConnection, last_name: str) -> dict:
    cursor = conn.execute("select * from marts.customer_360 where last_name = ?", [last_name])
    rows = cursor.fetchall()
    assert len(rows) == 1, rows
    return dict(zip([column[0] for column in cursor.description], rows[0], strict=True))


def test_one_row_per_customer_with_every_part_joined(warehouse) -> None:
    customers, rows, keys, segments, stages, tiers = warehouse.execute(
        "select (select count(*) from identity.dim_customer), count(*), count(distinct customer_key),"
        " count(rfm_segment), count(relationship_stage), count(service_tier) from marts.customer_360"
    ).fetchone()
    assert customers == rows == keys == segments == stages == tiers > 0
    # the parts agree with their marts
    (mismatches,) = warehouse.execute(
        "select count(*) from marts.customer_360 c"
        " join marts.customer_economics e using (customer_key)"
        " join marts.customer_engagement g using (customer_key)"
        " where c.margin is distinct from e.margin or c.engagement_points is distinct from g.engagement_points"
    ).fetchone()
    assert mismatches == 0
    # buyers have RFM scores and a tier; customers with a postcode in a known area have its demographics
    (buyers_without_scores,) = warehouse.execute(
        "select count(*) from marts.customer_360 where orders_in_window > 0 and (r_score is null or value_tier = 'none')"
    ).fetchone()
    assert buyers_without_scores == 0
    (with_area, with_demographics) = warehouse.execute(
        "select count(*), count(c.municipality) from marts.customer_360 c"
        " join staging.stg_thirdparty__demographics d on substring(c.postcode, 1, 4) = d.postcode4"
    ).fetchone()
    assert with_area == with_demographics > 0


def test_planted_customers_as_computed_by_hand(warehouse) -> None:
    eva = row_of(warehouse, ENGAGEMENT_CUSTOMER.last_name)
    assert eva["engagement_points"] == ENGAGEMENT_POINTS
    assert eva["relationship_stage"] == "trust"  # 115 points decayed over 8-10 days: between 50 and 125
    assert (eva["email"], eva["has_email_consent"], eva["contact_channel"]) == (
        ENGAGEMENT_CUSTOMER.email,
        True,
        "email",
    )
    assert (eva["buyer_status"], eva["rfm_segment"], eva["preferred_buy_channel"]) == (
        "never_bought",
        "prospect",
        None,
    )

    rob = row_of(warehouse, ROBO_CUSTOMER.last_name)
    assert rob["is_research_online_buy_offline"] is True
    assert rob["research_online_buy_offline_lines"] == ROBO_PRODUCT_LINE
    assert (rob["preferred_buy_channel"], rob["lifetime_orders"], rob["top_purchase_product_line"]) == (
        "store",
        1,
        ROBO_PRODUCT_LINE,
    )
    assert rob["loyalty_tier"] == "basic"


def test_bi_view_and_serving_file_hold_no_direct_identifiers(warehouse, marts_world: Path) -> None:
    bi_columns = {
        name for (name,) in warehouse.execute(
            "select column_name from information_schema.columns where table_schema = 'bi'"
        ).fetchall()
    }  # fmt: skip
    assert not bi_columns & DIRECT_IDENTIFIERS
    (rows,) = warehouse.execute("select count(*) from marts.customer_360").fetchone()

    # what a BI user does: open the serving file read-only and query the bi schema
    with duckdb.connect(str(serving_database_path(marts_world / "serving", "bi")), read_only=True) as bi:
        (published,) = bi.execute("select count(*) from bi.customer_360").fetchone()
        tiers = dict(bi.execute("select service_tier, count(*) from bi.customer_360 group by all").fetchall())
        served_columns = {row[0] for row in bi.execute("describe bi.customer_360").fetchall()}
    assert published == rows
    assert sum(tiers.values()) == rows and "platinum" in tiers
    assert not served_columns & DIRECT_IDENTIFIERS
