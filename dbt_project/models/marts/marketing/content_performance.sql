-- One row per content item (grain: content_id of fct_interactions): its reach and engagement points up
-- to the as-of date, and how often a purchase or a value step (first purchase, first repeat purchase)
-- followed a known person's first touch with it within `marts.conversion_window_days` days, against the
-- baseline of everyone who touched any content in the same month with the same buyer status (indirect
-- standardization: the expected rate is the average of the baseline rates of the item's own people).
-- Intervals are Wilson score intervals at `marts.content_confidence_level`; lift ranks only items with at
-- least `marts.content_min_people` measured people. Correlation, not causation: see docs.

{%- set marts = var('marts') %}
{%- set min_people = marts['content_min_people'] %}

{#- z of the two-sided interval (macros/statistics.sql); the Wilson score interval of x / n, with
    `{sign}` - for the lower and + for the upper bound. -#}
{%- set z = two_sided_z(marts['content_confidence_level']) | trim %}
{#- rounded to 12 decimals and clamped to [0, 1]: at x = 0 or x = n the exact bound (0 or 1) comes out a
    rounding error beside it (-1e-17, or 8.6e-19 above a rate of 0) -#}
{%- set wilson = (
    'case when {n} > 0 then greatest(0.0, least(1.0, round(({x} * 1.0 / {n} + ' ~ z ~ ' * ' ~ z ~ ' / (2.0 * {n}) {sign} ' ~ z
    ~ ' * sqrt(({x} * 1.0 / {n}) * (1 - {x} * 1.0 / {n}) / {n} + ' ~ z ~ ' * ' ~ z ~ ' / (4.0 * {n} * {n})))'
    ~ ' / (1 + ' ~ z ~ ' * ' ~ z ~ ' / {n}), 12))) end'
) %}

with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

touches as (
    select
        interactions.content_id,
        interactions.customer_key,
        interactions.anonymous_id,
        interactions.product_line,
        interactions.engagement_points,
        interactions.interaction_at
    from {{ ref('fct_interactions') }} as interactions
    cross join as_of
    where
        interactions.content_id is not null
        and interactions.interaction_date <= as_of.as_of_date
),

items as (
    select
        content_id,
        count(*) as interactions,
        count(distinct coalesce(customer_key, anonymous_id)) as people_reached,
        count(distinct customer_key) as known_customers_reached,
        sum(engagement_points) as engagement_points,
        min(interaction_at) as first_interaction_at,
        max(interaction_at) as last_interaction_at
    from touches
    group by content_id
),

-- an item's product line: the one most of its touchpoints name
line_counts as (
    select
        content_id,
        product_line,
        count(*) as touchpoints
    from touches
    where product_line is not null
    group by content_id, product_line
),

item_lines as (
    {{ deduplicate('line_counts', partition_by='content_id', order_by='touchpoints desc, product_line') }}
),

outcomes as (
    select
        anchor_type,
        anchor_id,
        touch_month,
        buyer_status,
        case when purchased_in_window then 1 else 0 end as purchased,
        case when value_step_in_window then 1 else 0 end as value_stepped,
        case when buyer_status <> 'repeat_buyer' then 1 else 0 end as can_step
    from {{ ref('int_journeys__touch_outcomes') }}
    where is_window_complete
),

-- the baseline: per month of first touch and buyer status at that touch, everyone who touched content
baseline_strata as (
    select
        touch_month,
        buyer_status,
        avg(purchased * 1.0) as purchase_rate,
        sum(value_stepped) * 1.0 / nullif(sum(can_step), 0) as value_step_rate
    from outcomes
    where anchor_type = 'baseline'
    group by touch_month, buyer_status
),

-- a stratum without baseline people (tiny data) falls back to the buyer status over all months
baseline_statuses as (
    select
        buyer_status,
        avg(purchased * 1.0) as purchase_rate,
        sum(value_stepped) * 1.0 / nullif(sum(can_step), 0) as value_step_rate
    from outcomes
    where anchor_type = 'baseline'
    group by buyer_status
),

item_outcomes as (
    select
        outcomes.anchor_id as content_id,
        count(*) as people_measured,
        sum(outcomes.purchased) as purchasers,
        sum(coalesce(baseline_strata.purchase_rate, baseline_statuses.purchase_rate)) as expected_purchasers,
        sum(outcomes.can_step) as people_step_eligible,
        sum(outcomes.value_stepped) as value_steppers,
        sum(
            case
                when outcomes.can_step = 1
                    then coalesce(baseline_strata.value_step_rate, baseline_statuses.value_step_rate)
            end
        ) as expected_value_steppers
    from outcomes
    left join baseline_strata
        on
            outcomes.touch_month = baseline_strata.touch_month
            and outcomes.buyer_status = baseline_strata.buyer_status
    left join baseline_statuses
        on outcomes.buyer_status = baseline_statuses.buyer_status
    where outcomes.anchor_type = 'content'
    group by outcomes.anchor_id
),

rates as (
    select
        items.content_id,
        items.interactions,
        items.people_reached,
        items.known_customers_reached,
        items.engagement_points,
        items.first_interaction_at,
        items.last_interaction_at,
        coalesce(item_outcomes.people_measured, 0) as people_measured,
        coalesce(item_outcomes.purchasers, 0) as purchasers,
        coalesce(item_outcomes.people_step_eligible, 0) as people_step_eligible,
        coalesce(item_outcomes.value_steppers, 0) as value_steppers,
        item_outcomes.purchasers * 1.0 / nullif(item_outcomes.people_measured, 0) as purchase_rate,
        item_outcomes.expected_purchasers / nullif(item_outcomes.people_measured, 0) as baseline_purchase_rate,
        item_outcomes.value_steppers * 1.0 / nullif(item_outcomes.people_step_eligible, 0) as value_step_rate,
        item_outcomes.expected_value_steppers / nullif(item_outcomes.people_step_eligible, 0)
            as baseline_value_step_rate
    from items
    left join item_outcomes
        on items.content_id = item_outcomes.content_id
),

{%- set purchase_interval = wilson | replace('{x}', 'purchasers') | replace('{n}', 'people_measured') %}
{%- set value_step_interval = wilson | replace('{x}', 'value_steppers') | replace('{n}', 'people_step_eligible') %}

intervals as (
    select
        rates.*,
        {{ purchase_interval | replace('{sign}', '-') }} as purchase_rate_lower,
        {{ purchase_interval | replace('{sign}', '+') }} as purchase_rate_upper,
        {{ value_step_interval | replace('{sign}', '-') }} as value_step_rate_lower,
        {{ value_step_interval | replace('{sign}', '+') }} as value_step_rate_upper
    from rates
),

lifts as (
    select
        intervals.*,
        intervals.purchase_rate / nullif(intervals.baseline_purchase_rate, 0) as purchase_lift,
        intervals.purchase_rate_lower / nullif(intervals.baseline_purchase_rate, 0) as purchase_lift_lower,
        intervals.purchase_rate_upper / nullif(intervals.baseline_purchase_rate, 0) as purchase_lift_upper,
        intervals.value_step_rate / nullif(intervals.baseline_value_step_rate, 0) as value_step_lift,
        intervals.value_step_rate_lower / nullif(intervals.baseline_value_step_rate, 0) as value_step_lift_lower,
        intervals.value_step_rate_upper / nullif(intervals.baseline_value_step_rate, 0) as value_step_lift_upper,
        coalesce(
            intervals.people_measured >= {{ min_people }} and intervals.baseline_purchase_rate > 0, false
        ) as is_purchase_lift_ranked,
        coalesce(
            intervals.people_step_eligible >= {{ min_people }} and intervals.baseline_value_step_rate > 0, false
        ) as is_value_step_lift_ranked,
        {{ dbt.split_part('content_id', "':'", 1) }} as content_type
    from intervals
),

ranked as (
    select
        lifts.*,
        case when lifts.is_purchase_lift_ranked then row_number() over (
            partition by lifts.is_purchase_lift_ranked
            order by lifts.purchase_lift desc, lifts.purchase_lift_lower desc, lifts.content_id asc
        ) end as purchase_lift_rank,
        case when lifts.is_purchase_lift_ranked then row_number() over (
            partition by lifts.is_purchase_lift_ranked, lifts.content_type
            order by lifts.purchase_lift desc, lifts.purchase_lift_lower desc, lifts.content_id asc
        ) end as purchase_lift_rank_in_type,
        case when lifts.is_value_step_lift_ranked then row_number() over (
            partition by lifts.is_value_step_lift_ranked
            order by lifts.value_step_lift desc, lifts.value_step_lift_lower desc, lifts.content_id asc
        ) end as value_step_lift_rank
    from lifts
)

select
    ranked.content_id,
    ranked.content_type,
    item_lines.product_line,
    cast(ranked.interactions as {{ dbt.type_bigint() }}) as interactions,
    cast(ranked.people_reached as {{ dbt.type_bigint() }}) as people_reached,
    cast(ranked.known_customers_reached as {{ dbt.type_bigint() }}) as known_customers_reached,
    cast(ranked.engagement_points as {{ dbt.type_bigint() }}) as engagement_points,
    cast(ranked.people_measured as {{ dbt.type_bigint() }}) as people_measured,
    cast(ranked.purchasers as {{ dbt.type_bigint() }}) as purchasers,
    ranked.purchase_rate,
    ranked.purchase_rate_lower,
    ranked.purchase_rate_upper,
    ranked.baseline_purchase_rate,
    ranked.purchase_lift,
    ranked.purchase_lift_lower,
    ranked.purchase_lift_upper,
    coalesce(ranked.purchase_lift_lower > 1, false) as is_purchase_lift_significant,
    cast(ranked.people_step_eligible as {{ dbt.type_bigint() }}) as people_step_eligible,
    cast(ranked.value_steppers as {{ dbt.type_bigint() }}) as value_steppers,
    ranked.value_step_rate,
    ranked.value_step_rate_lower,
    ranked.value_step_rate_upper,
    ranked.baseline_value_step_rate,
    ranked.value_step_lift,
    ranked.value_step_lift_lower,
    ranked.value_step_lift_upper,
    coalesce(ranked.value_step_lift_lower > 1, false) as is_value_step_lift_significant,
    ranked.is_purchase_lift_ranked,
    cast(ranked.purchase_lift_rank as {{ dbt.type_bigint() }}) as purchase_lift_rank,
    cast(ranked.purchase_lift_rank_in_type as {{ dbt.type_bigint() }}) as purchase_lift_rank_in_type,
    ranked.is_value_step_lift_ranked,
    cast(ranked.value_step_lift_rank as {{ dbt.type_bigint() }}) as value_step_lift_rank,
    ranked.first_interaction_at,
    ranked.last_interaction_at
from ranked
left join item_lines
    on ranked.content_id = item_lines.content_id
