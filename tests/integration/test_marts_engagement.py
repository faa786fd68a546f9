"""Engagement, content value and channel preference marts on the `marts_world` fixture: the planted
customers of tests/integration/planted.py checked by hand, and sanity checks against the simulator's
truth."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.paths import DBT_PROJECT_DIR
from tests.integration.planted import (
    ENGAGEMENT_CUSTOMER,
    ENGAGEMENT_POINTS,
    ROBO_CUSTOMER,
    ROBO_PRODUCT_LINE,
)

pytestmark = pytest.mark.integration

# The planted engagement customer's touchpoints (planted.py, UTC): a newsletter sign-up on the web form
# and in the email platform (one sign-up: daily cap), a webinar registration, an appointment booking.
ENGAGEMENT_TOUCHPOINTS = [
    (date(2026, 6, 20), 5),  # newsletter_signup
    (date(2026, 6, 20), 10),  # webinar
    (date(2026, 6, 22), 100),  # appointment
]


def connect(marts_world: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(marts_world / "warehouse.duckdb"), read_only=True)


def customer_key_of(conn: duckdb.DuckDBPyConnection, last_name: str) -> str:
    keys = conn.execute(
        "select customer_key from identity.dim_customer where last_name = ?", [last_name]
    ).fetchall()
    assert len(keys) == 1, f"expected one customer named {last_name}, found {keys}"
    return keys[0][0]


def marts_vars() -> dict:
    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]["marts"]


def stage_for(decayed_points: float) -> str:
    """The highest stage of the seed whose threshold is reached (the seed a marketer edits)."""
    with (DBT_PROJECT_DIR / "seeds" / "relationship_stages.csv").open() as handle:
        stages = sorted(csv.DictReader(handle), key=lambda row: int(row["stage_order"]))
    reached = [row["stage"] for row in stages if decayed_points >= float(row["min_decayed_points"])]
    return reached[-1] if reached else stages[0]["stage"]


def test_engagement_customer_has_115_points_and_the_stage_of_its_decayed_points(marts_world: Path) -> None:
    with connect(marts_world) as conn:
        key = customer_key_of(conn, ENGAGEMENT_CUSTOMER.last_name)
        (as_of,) = conn.execute("select as_of_date from intermediate.int_as_of_date").fetchone()
        touchpoints = conn.execute(
            "select interaction_type, engagement_points from marts.fct_interactions"
            " where customer_key = ? order by interaction_at, interaction_key",
            [key],
        ).fetchall()
        points, points_365d, decayed, stage, stage_order, interactions = conn.execute(
            "select engagement_points, engagement_points_365d, decayed_engagement_points, relationship_stage,"
            " stage_order, interactions from marts.customer_engagement where customer_key = ?",
            [key],
        ).fetchone()

    # the sign-up arrives twice (web form, email platform) and counts once
    assert sorted(touchpoints) == sorted(
        [("newsletter_signup", 5), ("newsletter_signup", 0), ("webinar", 10), ("appointment", 100)]
    )
    assert points == ENGAGEMENT_POINTS == 115
    assert points_365d == 115
    assert interactions == 4

    half_life = marts_vars()["engagement_half_life_days"]
    expected_decayed = sum(p * 0.5 ** ((as_of - day).days / half_life) for day, p in ENGAGEMENT_TOUCHPOINTS)
    assert decayed == pytest.approx(expected_decayed, rel=1e-9)
    assert decayed < 115
    assert stage == stage_for(expected_decayed)
    # with the shipped seed (trust from 50, commit from 125) and the world's as-of date of 2026-06-30
    if as_of == date(2026, 6, 30) and half_life == 90:
        assert round(decayed, 2) == 107.91
        assert (stage, stage_order) == ("trust", 3)


def test_customers_without_touchpoints_get_zero_points_and_the_first_stage(marts_world: Path) -> None:
    with connect(marts_world) as conn:
        customers, engaged = conn.execute(
            "select (select count(*) from identity.dim_customer), count(*) from marts.customer_engagement"
        ).fetchone()
        idle_stages = conn.execute(
            "select distinct relationship_stage, engagement_points from marts.customer_engagement"
            " where interactions = 0"
        ).fetchall()
    assert customers == engaged
    assert idle_stages in ([], [(stage_for(0), 0)])


def test_robo_customer_researches_online_and_buys_in_the_store(marts_world: Path) -> None:
    with connect(marts_world) as conn:
        key = customer_key_of(conn, ROBO_CUSTOMER.last_name)
        rows = conn.execute(
            "select product_line, research_web, preferred_research_channel, purchases_store, purchases_online,"
            " preferred_buy_channel, store_purchases_after_web_research, robo_share,"
            " is_research_online_buy_offline"
            " from marts.customer_channel_preference where customer_key = ?",
            [key],
        ).fetchall()

    # two product views of the line, a store receipt with his loyalty card four days later
    assert rows == [(ROBO_PRODUCT_LINE, 2, "web", 1, 0, "store", 1, 1.0, True)]
    assert marts_vars()["research_window_days"] >= 4


def test_people_who_prefer_online_buy_online(marts_world: Path) -> None:
    """The simulator's online_preference (truth) orders the online share of the purchases we observe:
    the top quarter of people by preference buys online clearly more often than the bottom quarter."""
    truth = marts_world / "sources" / "_truth"
    with connect(marts_world) as conn:
        shares = conn.execute(
            f"""
            with people as (
                select map.customer_key, min(truth.person_id) as person_id
                from identity.customer_identity_map as map
                inner join read_parquet('{truth / "identity.parquet"}') as truth
                    using (source_system, source_table, source_record_id)
                where map.customer_key is not null
                group by map.customer_key
                having count(distinct truth.person_id) = 1
            ),
            buying as (
                select customer_key, sum(purchases_online) as online, sum(purchases) as purchases
                from marts.customer_channel_preference
                group by customer_key
                having sum(purchases) > 0
            ),
            ranked as (
                select
                    buying.online * 1.0 / buying.purchases as online_share,
                    ntile(4) over (order by persons.online_preference) as quartile
                from buying
                inner join people using (customer_key)
                inner join read_parquet('{truth / "persons.parquet"}') as persons using (person_id)
            )
            select quartile, count(*), avg(online_share) from ranked group by quartile order by quartile
            """
        ).fetchall()
    by_quartile = {quartile: share for quartile, _, share in shares}
    assert min(count for _, count, _ in shares) >= 50
    assert by_quartile[4] - by_quartile[1] > 0.2, shares
    assert by_quartile[1] < by_quartile[2] < by_quartile[3] < by_quartile[4], shares


def test_content_value_ranks_only_items_with_enough_reach(marts_world: Path) -> None:
    min_people = marts_vars()["content_min_people"]
    with connect(marts_world) as conn:
        ranked, too_small_ranked, top = conn.execute(
            f"""
            select
                count(*) filter (where purchase_lift_rank is not null),
                count(*) filter (where purchase_lift_rank is not null and people_measured < {min_people}),
                min(purchase_lift_rank)
            from marts.content_performance
            """
        ).fetchone()
        pages = dict(
            conn.execute(
                "select content_id, purchase_lift from marts.content_performance"
                " where content_type = 'page' and is_purchase_lift_ranked"
            ).fetchall()
        )
    assert ranked > 0 and too_small_ranked == 0 and top == 1
    # people browse a product line's page while they prepare a purchase (the simulator's research
    # sessions); the home page is where everyone lands: the line pages precede purchases more often
    line_pages = [lift for content_id, lift in pages.items() if content_id != "page:/"]
    assert line_pages and "page:/" in pages
    assert min(line_pages) > pages["page:/"]
