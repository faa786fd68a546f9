-- One row per customer (grain: customer_key of dim_customer): the engagement points of their touchpoints
-- up to the as-of date (fct_interactions, points from seeds/engagement_points.csv with daily caps), all
-- time, in the last 365 days and time-decayed (half-life `marts.engagement_half_life_days`), and the
-- highest relationship stage (seeds/relationship_stages.csv) whose threshold the decayed points reach.

{%- set marts = var('marts') %}
{%- set half_life = marts['engagement_half_life_days'] | float %}
{%- set families = ['web', 'email', 'social', 'service', 'loyalty'] %}

with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

customers as (
    select customer_key from {{ ref('dim_customer') }}
),

touchpoints as (
    select
        interactions.customer_key,
        interactions.engagement_points,
        interactions.interaction_at,
        {{ dbt.datediff('interactions.interaction_date', 'as_of.as_of_date', 'day') }} as age_days,
        -- the family a touchpoint's points count toward: purchases and campaign responses wherever
        -- they happen, else the channel
        case
            when interactions.interaction_type = 'purchase' then 'purchase'
            when interactions.interaction_type in (
                {{ "'" ~ marts["response_interaction_types"] | join("', '") ~ "'" }}
            ) then 'campaign'
            when interactions.channel in ({{ "'" ~ families | join("', '") ~ "'" }}) then interactions.channel
            else 'other'
        end as family
    from {{ ref('fct_interactions') }} as interactions
    cross join as_of
    where
        interactions.customer_key is not null
        -- touchpoints after the day the marts describe do not count yet
        and interactions.interaction_date <= as_of.as_of_date
),

scores as (
    select
        customer_key,
        count(*) as interactions,
        sum(case when engagement_points > 0 then 1 else 0 end) as engaged_interactions,
        sum(engagement_points) as engagement_points,
        sum(case when age_days < 365 then engagement_points else 0 end) as engagement_points_365d,
        sum(engagement_points * power(0.5, age_days / {{ half_life }})) as decayed_engagement_points,
        {%- for family in families + ['campaign', 'purchase', 'other'] %}
            sum(case when family = '{{ family }}' then engagement_points else 0 end) as {{ family }}_points,
        {%- endfor %}
        min(interaction_at) as first_interaction_at,
        max(interaction_at) as last_interaction_at,
        max(case when engagement_points > 0 then interaction_at end) as last_engaged_at
    from touchpoints
    group by customer_key
),

stages as (
    select
        stage,
        stage_order,
        min_decayed_points
    from {{ ref('relationship_stages') }}
),

customer_scores as (
    select
        customers.customer_key,
        coalesce(scores.interactions, 0) as interactions,
        coalesce(scores.engaged_interactions, 0) as engaged_interactions,
        coalesce(scores.engagement_points, 0) as engagement_points,
        coalesce(scores.engagement_points_365d, 0) as engagement_points_365d,
        coalesce(scores.decayed_engagement_points, 0) as decayed_engagement_points,
        {%- for family in families + ['campaign', 'purchase', 'other'] %}
            coalesce(scores.{{ family }}_points, 0) as {{ family }}_points,
        {%- endfor %}
        scores.first_interaction_at,
        scores.last_interaction_at,
        scores.last_engaged_at
    from customers
    left join scores
        on customers.customer_key = scores.customer_key
),

-- the highest stage whose threshold the decayed points reach; below every threshold, the first stage
reached_stage as (
    select
        customer_scores.customer_key,
        coalesce(
            max(stages.stage_order),
            (select min(first_stage.stage_order) from stages as first_stage)
        ) as stage_order
    from customer_scores
    left join stages
        on customer_scores.decayed_engagement_points >= stages.min_decayed_points
    group by customer_scores.customer_key
)

select
    customer_scores.customer_key,
    cast(customer_scores.engagement_points as {{ dbt.type_bigint() }}) as engagement_points,
    cast(customer_scores.engagement_points_365d as {{ dbt.type_bigint() }}) as engagement_points_365d,
    customer_scores.decayed_engagement_points,
    stages.stage as relationship_stage,
    reached_stage.stage_order,
    {%- for family in families + ['campaign', 'purchase', 'other'] %}
        cast(customer_scores.{{ family }}_points as {{ dbt.type_bigint() }}) as {{ family }}_points,
    {%- endfor %}
    cast(customer_scores.interactions as {{ dbt.type_bigint() }}) as interactions,
    cast(customer_scores.engaged_interactions as {{ dbt.type_bigint() }}) as engaged_interactions,
    customer_scores.first_interaction_at,
    customer_scores.last_interaction_at,
    customer_scores.last_engaged_at
from customer_scores
inner join reached_stage
    on customer_scores.customer_key = reached_stage.customer_key
left join stages
    on reached_stage.stage_order = stages.stage_order
