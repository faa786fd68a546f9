"""Segments and campaign uplift through the real nightly job: the uplift the marts measure against the
random control group agrees with the effect the simulator planted, the interval arithmetic agrees
with an independent count from staging, segments at exposure never see the campaign's own purchases,
and today's RFM scores and value tiers have the shares their rules promise.

The planted truth (tests only): a treated person alive at the exposure makes an extra purchase in the
campaign's window with probability `uplift_purchase_prob` (campaign_uplift.parquet, by campaign type x
channel x the simulator's value tier) x offer_responsiveness / (2/7) (simulator/behaviour.py
`campaign_exposures`). The source records one purchase response per exposure: the first purchase after
it within the window (simulator/world.py, responses), so an extra purchase only shows when the person
would not have bought in the window anyway: the expected measured uplift of a treated exposure is its
planted probability x (1 - its campaign's control purchase rate).
"""

from __future__ import annotations

import itertools
import math
from datetime import date
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.integration

# The simulator scales each person's planted probability by offer_responsiveness / its mean, 2/7.
MEAN_OFFER_RESPONSIVENESS = 2 / 7

# Per campaign and exposure channel (the mart's strata), over the campaigns the mart measures: treated
# and control exposures and purchase responders counted straight from staging (a response belongs to
# the latest exposure of its campaign and recipient at or before it), and the treated exposures' mean
# planted probability from the simulator's truth.
STRATA_SQL = """
with

as_of as (
    select as_of_date from intermediate.int_as_of_date
),

measured as (
    select campaign_id from marts.campaign_performance where is_measurement_complete
),

exposures as (
    select
        exposures.exposure_id,
        exposures.campaign_id,
        campaigns.campaign_type,
        coalesce(exposures.channel, campaigns.channel) as channel,
        coalesce(exposures.is_control, false) as is_control,
        exposures.exposed_at,
        exposures.recipient_type,
        exposures.recipient_id
    from staging.stg_campaigns__exposures as exposures
    inner join staging.stg_campaigns__campaigns as campaigns on exposures.campaign_id = campaigns.campaign_id
    cross join as_of
    where
        exposures.campaign_id in (select campaign_id from measured)
        and cast(exposures.exposed_at as date) <= as_of.as_of_date
),

purchase_exposures as (
    select distinct exposure_id
    from (
        select
            exposures.exposure_id,
            row_number() over (
                partition by responses.response_id order by exposures.exposed_at desc, exposures.exposure_id
            ) as latest
        from staging.stg_campaigns__responses as responses
        inner join exposures
            on
                responses.campaign_id = exposures.campaign_id
                and responses.recipient_type = exposures.recipient_type
                and responses.recipient_id = exposures.recipient_id
                and responses.responded_at >= exposures.exposed_at
        where responses.response_type = 'purchase'
    )
    where latest = 1
),

people as (
    select
        identity.source_record_id as exposure_id,
        persons.value_tier,
        persons.offer_responsiveness,
        persons.churn_date
    from '{truth}/identity.parquet' as identity
    inner join '{truth}/persons.parquet' as persons on identity.person_id = persons.person_id
    where identity.source_system = 'campaigns' and identity.source_table = 'exposures'
),

planted as (
    select
        exposures.*,
        exposures.exposure_id in (select exposure_id from purchase_exposures) as bought,
        case
            when people.churn_date is not null and cast(people.churn_date as date) <= cast(exposures.exposed_at as date)
                then 0.0
            else least(1.0, uplift.uplift_purchase_prob * people.offer_responsiveness / {mean_responsiveness})
        end as planted_probability
    from exposures
    inner join people on exposures.exposure_id = people.exposure_id
    inner join '{truth}/campaign_uplift.parquet' as uplift
        on
            exposures.campaign_type = uplift.campaign_type
            and exposures.channel = uplift.channel
            and people.value_tier = uplift.value_tier
)

select
    campaign_id,
    channel,
    campaign_type,
    count(*) filter (where not is_control) as exposures_treated,
    count(*) filter (where is_control) as exposures_control,
    count(*) filter (where not is_control and bought) as responders_treated,
    count(*) filter (where is_control and bought) as responders_control,
    avg(planted_probability) filter (where not is_control) as planted_probability
from planted
group by campaign_id, channel, campaign_type
"""


def campaign_strata(data_dir: Path) -> list[dict]:
    """The strata of STRATA_SQL for the world in `data_dir`, as dicts."""
    sql = STRATA_SQL.format(
        truth=data_dir / "sources" / "_truth", mean_responsiveness=MEAN_OFFER_RESPONSIVENESS
    )
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        cursor = conn.execute(sql)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def expected_and_measured(strata: list[dict]) -> dict[str, float]:
    """Over the strata with both groups: the uplift the planted effect implies (treated-weighted mean
    of planted probability x (1 - control purchase rate)), and the measured uplift and its standard
    error counted independently of the marts (a difference of two proportions per stratum, each
    variance with one response and one non-response added: Agresti-Caffo)."""

    def variance(responders: int, exposures: int) -> float:
        return (responders + 1) * (exposures - responders + 1) / (exposures + 2) ** 3

    both = [s for s in strata if s["exposures_treated"] > 0 and s["exposures_control"] > 0]
    treated = sum(s["exposures_treated"] for s in both)
    expected = incremental = total_variance = 0.0
    for s in both:
        n_t, n_c = s["exposures_treated"], s["exposures_control"]
        r_t, r_c = s["responders_treated"], s["responders_control"]
        expected += n_t * s["planted_probability"] * (1 - r_c / n_c)
        incremental += n_t * (r_t / n_t - r_c / n_c)
        total_variance += n_t**2 * (variance(r_t, n_t) + variance(r_c, n_c))
    return {
        "treated": treated,
        "expected": expected / treated,
        "uplift": incremental / treated,
        "standard_error": math.sqrt(total_variance) / treated,
    }


def mart_row(data_dir: Path, segment_type: str, segment: str, campaign_type: str, channel: str) -> dict:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as conn:
        cursor = conn.execute(
            """
            select * from marts.campaign_response_by_segment
            where segment_type = ? and segment = ? and campaign_type = ? and channel = ?
            """,
            [segment_type, segment, campaign_type, channel],
        )
        names = [column[0] for column in cursor.description]
        rows = cursor.fetchall()
    assert len(rows) == 1, (segment_type, segment, campaign_type, channel, rows)
    return dict(zip(names, rows[0], strict=True))


@pytest.mark.parametrize("campaign_type", ["all", "offer"])
def test_control_group_uplift_matches_the_planted_effect(marts_world: Path, campaign_type: str) -> None:
    strata = [s for s in campaign_strata(marts_world) if campaign_type in ("all", s["campaign_type"])]
    truth = expected_and_measured(strata)
    row = mart_row(marts_world, "all", "all", campaign_type, "all")

    # the mart counts what staging holds, and its interval is the normal approximation
    assert row["measured_exposures_treated"] == truth["treated"]
    assert row["uplift"] == pytest.approx(truth["uplift"], abs=1e-12)
    assert row["uplift_standard_error"] == pytest.approx(truth["standard_error"], rel=1e-9)
    z = (row["uplift_ci_high"] - row["uplift_ci_low"]) / (2 * row["uplift_standard_error"])
    assert z == pytest.approx(1.959964, abs=1e-6)  # marts.uplift_confidence_level 0.95

    # the planted effect lies within the interval, and is positive
    assert truth["expected"] > 0
    assert row["uplift_ci_low"] <= truth["expected"] <= row["uplift_ci_high"], (truth, row)


def test_segment_at_exposure_counts_only_orders_before_it(marts_world: Path) -> None:
    """Recounted from fct_orders for every exposure of a buyer: the window orders of the segment the
    exposure carries all precede it, so the purchases a campaign caused never lift its responders."""
    with duckdb.connect(str(marts_world / "warehouse.duckdb"), read_only=True) as conn:
        window_days = conn.execute(
            "select datediff('day', window_start_date, as_of_date) + 1 from marts.customer_segments limit 1"
        ).fetchall()[0][0]
        rows = conn.execute(
            f"""
            select
                exposures.exposure_id,
                exposures.has_purchase_response,
                scores.orders_in_window,
                scores.last_order_date < exposures.exposure_date as before_exposure,
                (
                    select count(*) from marts.fct_orders as orders
                    where
                        orders.customer_key = exposures.customer_key
                        and orders.is_revenue
                        and orders.order_date < exposures.segment_snapshot_date
                        and orders.order_date >= exposures.segment_snapshot_date - interval {window_days} day
                ) as recounted
            from intermediate.int_campaigns__exposures as exposures
            inner join intermediate.int_segments__rfm_scores as scores
                on
                    exposures.customer_key = scores.customer_key
                    and exposures.segment_snapshot_date = scores.snapshot_date
            """
        ).fetchall()
        statuses = dict(
            conn.execute(
                "select buyer_status_at_exposure, count(*) from intermediate.int_campaigns__exposures group by 1"
            ).fetchall()
        )
    assert window_days == 365
    assert len(rows) == statuses["in_window"] > 0
    assert any(has_purchase for _, has_purchase, *_ in rows)
    assert all(before for *_, before, _ in rows)
    assert all(orders == recounted for _, _, orders, _, recounted in rows)
    assert set(statuses) <= {"in_window", "lapsed", "never_bought", "unknown"}


def test_rfm_scores_and_value_tiers_follow_their_rules(marts_world: Path) -> None:
    """Today's scores never split a tie and grow with the measure; each value tier is the smallest
    top group of buyers by margin that reaches its cumulative share (5 %, 20 %, 50 %)."""
    with duckdb.connect(str(marts_world / "warehouse.duckdb"), read_only=True) as conn:
        buyers = conn.execute(
            """
            select last_order_date, orders_in_window, revenue_in_window, margin_in_window,
                   r_score, f_score, m_score, value_tier
            from marts.customer_segments where buyer_status = 'in_window'
            """
        ).fetchall()
        non_buyer_tiers = conn.execute(
            "select distinct value_tier from marts.customer_segments where buyer_status <> 'in_window'"
        ).fetchall()
    n = len(buyers)
    assert n > 100
    assert non_buyer_tiers == [("none",)]
    for measure, score in ((0, 4), (1, 5), (2, 6)):
        by_score: dict[int, list] = {}
        for row in buyers:
            by_score.setdefault(row[score], []).append(row[measure])
        if measure != 1:  # recency and revenue have few ties: all five scores occur
            assert set(by_score) == {1, 2, 3, 4, 5}
        for low, high in itertools.pairwise(sorted(by_score)):
            assert max(by_score[low]) < min(by_score[high]), (measure, low, high)
    margins = [row[3] for row in buyers if row[3] is not None]
    tiers = ["platinum", "gold", "silver"]
    cumulative = 0.0
    for index, share in enumerate((0.05, 0.15, 0.30)):
        cumulative += share
        top = [row[3] for row in buyers if row[7] in tiers[: index + 1]]
        assert len(top) >= cumulative * n  # the tiers so far reach their share ...
        assert (
            sum(1 for margin in margins if margin > min(top)) < cumulative * n
        )  # ... by their last tie group
    assert {row[7] for row in buyers} == {"platinum", "gold", "silver", "bronze"}


def test_planted_customers_segments(marts_world: Path) -> None:
    """Robotest bought once, in a store, the sports line he had viewed online four days before;
    Engagementtest never bought."""
    with duckdb.connect(str(marts_world / "warehouse.duckdb"), read_only=True) as conn:
        rows = conn.execute(
            """
            select customers.last_name, segments.buyer_status, segments.rfm_segment, segments.value_tier,
                   segments.orders_in_window, segments.f_score, segments.recency_days,
                   segments.top_purchase_product_line, segments.top_research_product_line
            from marts.customer_segments as segments
            inner join identity.dim_customer as customers on segments.customer_key = customers.customer_key
            where customers.last_name in ('Robotest', 'Engagementtest')
            """
        ).fetchall()
        as_of = conn.execute("select as_of_date from intermediate.int_as_of_date").fetchall()[0][0]
    by_name = {row[0]: row[1:] for row in rows}
    assert len(rows) == 2
    assert by_name["Engagementtest"] == ("never_bought", "prospect", "none", 0, None, None, None, None)
    status, _, tier, orders, f_score, recency, bought, researched = by_name["Robotest"]
    assert (status, orders, f_score, bought, researched) == ("in_window", 1, 1, "sports", "sports")
    assert tier in ("platinum", "gold", "silver", "bronze")
    assert recency == (as_of - date(2026, 6, 14)).days
