-- One row per touchpoint of any channel (grain: interaction_key = `<system>:<table>:<record id>`),
-- with the customer it belongs to (anonymous web visits are stitched to the person once the cookie
-- logs in) and the engagement points it earns (seeds/engagement_points.csv: points per interaction,
-- at most `daily_cap` points per person, type and day).

with

interactions as (
    select * from {{ ref('int_interactions__unioned') }}
),

identity_map as (
    select
        source_system,
        source_table,
        source_record_id,
        customer_key
    from {{ ref('customer_identity_map') }}
    where customer_key is not null
),

-- loyalty ledger entries and coupons name the member, whose record the identity map places
member_keys as (
    select
        {{ dbt.concat(["'loyalty_member:'", 'member_id']) }} as anonymous_id,
        customer_key
    from {{ ref('int_loyalty__member_customers') }}
),

attributed as (
    select
        interactions.*,
        coalesce(identity_map.customer_key, member_keys.customer_key) as customer_key
    from interactions
    left join identity_map
        on
            interactions.source_system = identity_map.source_system
            and interactions.source_table = identity_map.source_table
            and interactions.source_record_id = identity_map.source_record_id
    left join member_keys
        on interactions.anonymous_id = member_keys.anonymous_id
),

pointed as (
    select
        attributed.*,
        cast(attributed.interaction_at as date) as interaction_date,
        coalesce(points.points, 0) as base_points,
        points.daily_cap
    from attributed
    left join {{ ref('engagement_points') }} as points
        on attributed.interaction_type = points.interaction_type
),

capped as (
    select
        *,
        coalesce(sum(base_points) over (
            partition by coalesce(customer_key, anonymous_id, interaction_key), interaction_type, interaction_date
            order by interaction_at, interaction_key
            rows between unbounded preceding and 1 preceding
        ), 0) as points_earlier_that_day
    from pointed
)

select
    interaction_key,
    customer_key,
    case when customer_key is null then anonymous_id end as anonymous_id,
    source_system,
    source_table,
    source_record_id,
    interaction_type,
    channel,
    channel_detail,
    content_id,
    product_line,
    campaign_id,
    session_id,
    cost,
    cast(case
        when daily_cap is null then base_points
        else greatest(least(base_points, daily_cap - points_earlier_that_day), 0)
    end as {{ dbt.type_int() }}) as engagement_points,
    interaction_at,
    interaction_date
from capped
