-- One row per customer_key with a loyalty membership (grain: customer_key): memberships, the best tier,
-- the points balance and activity from the points ledger, and the cards in use. A person with two
-- memberships (re-enrolled, or merged by identity resolution) has them summed.

with

member_keys as (
    select * from {{ ref('int_loyalty__member_customers') }}
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

members as (
    select
        member_keys.customer_key,
        members.member_id,
        members.tier,
        case members.tier
            {%- for tier in var('marts')['loyalty_tiers'] %}
                when '{{ tier }}' then {{ loop.index }}
            {%- endfor %}
            else 0
        end as tier_rank,
        members.enrolled_at
    from {{ ref('stg_loyalty__members') }} as members
    inner join member_keys
        on members.member_id = member_keys.member_id
),

ledger as (
    select
        member_keys.customer_key,
        sum(ledger.points) as points_balance,
        sum(case when ledger.points > 0 then ledger.points else 0 end) as points_earned,
        sum(case when ledger.reason = 'redemption' then -ledger.points else 0 end) as points_redeemed,
        sum(case when ledger.reason = 'promotion' then ledger.points else 0 end) as points_from_promotions,
        sum(case
            when ledger.points > 0 and ledger.entry_at >= {{ dbt.dateadd('day', -365, 'as_of.as_of_date') }}
                then ledger.points
            else 0
        end) as points_earned_365d,
        max(ledger.entry_at) as last_ledger_entry_at
    from {{ ref('stg_loyalty__points_ledger') }} as ledger
    inner join member_keys
        on ledger.member_id = member_keys.member_id
    cross join as_of
    where cast(ledger.entry_at as date) <= as_of.as_of_date
    group by member_keys.customer_key
),

cards as (
    select
        member_keys.customer_key,
        count(*) as cards,
        sum(case when cards.status = 'active' then 1 else 0 end) as active_cards
    from {{ ref('stg_loyalty__cards') }} as cards
    inner join member_keys
        on cards.member_id = member_keys.member_id
    group by member_keys.customer_key
),

best_tier as (
    {{ deduplicate('members', partition_by='customer_key', order_by='tier_rank desc, enrolled_at') }}
),

membership as (
    select
        customer_key,
        count(*) as memberships,
        min(enrolled_at) as first_enrolled_at
    from members
    group by customer_key
)

select
    membership.customer_key,
    membership.memberships,
    best_tier.tier as loyalty_tier,
    membership.first_enrolled_at,
    coalesce(cards.cards, 0) as cards,
    cast(coalesce(cards.active_cards, 0) as {{ dbt.type_bigint() }}) as active_cards,
    cast(coalesce(ledger.points_balance, 0) as {{ dbt.type_bigint() }}) as points_balance,
    cast(coalesce(ledger.points_earned, 0) as {{ dbt.type_bigint() }}) as points_earned,
    cast(coalesce(ledger.points_earned_365d, 0) as {{ dbt.type_bigint() }}) as points_earned_365d,
    cast(coalesce(ledger.points_redeemed, 0) as {{ dbt.type_bigint() }}) as points_redeemed,
    cast(coalesce(ledger.points_from_promotions, 0) as {{ dbt.type_bigint() }}) as points_from_promotions,
    ledger.last_ledger_entry_at
from membership
inner join best_tier
    on membership.customer_key = best_tier.customer_key
left join cards
    on membership.customer_key = cards.customer_key
left join ledger
    on membership.customer_key = ledger.customer_key
