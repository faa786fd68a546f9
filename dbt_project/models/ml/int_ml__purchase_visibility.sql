-- One row per cutoff date (grain: cutoff_date): how many of the business's purchases in the 365 days
-- ending on the cutoff reached a customer, for loyalty members and for everyone else. A store receipt
-- without a loyalty card reaches nobody, yet somebody bought. The models learn from the purchases that
-- reach a customer; scoring turns their probability into one of any purchase with these shares
-- (docs/ml.md#anonymous-purchases).
-- Members: the card capture rate is measured on the member receipts that identify their buyer another
-- way, a personal coupon (int_offers__customer_coupons): the share of them that also carried a card.
-- Their receipts without a card are then card receipts x (1 - rate) / rate. The other anonymous store
-- receipts are the non-members' (times `ml.anonymous_purchases_by_known_customers`, the share a business
-- attributes to the customers it knows; 1 assumes all).

{%- set ml = var('ml') %}

with

cutoffs as (
    select cutoff_date from {{ ref('int_ml__cutoffs') }}
),

members as (
    select
        member_customers.customer_key,
        min(cast(members.enrolled_at as date)) as enrolled_date
    from {{ ref('int_loyalty__member_customers') }} as member_customers
    inner join {{ ref('stg_loyalty__members') }} as members
        on member_customers.member_id = members.member_id
    group by member_customers.customer_key
),

orders as (
    select
        cutoffs.cutoff_date,
        orders.customer_key,
        orders.coupon_code,
        orders.sales_channel = 'store' as is_store,
        members.customer_key is not null as is_member
    from cutoffs
    inner join {{ ref('fct_orders') }} as orders
        on
            orders.is_revenue
            and cutoffs.cutoff_date >= orders.order_date
            and {{ dbt.dateadd('day', -365, 'cutoffs.cutoff_date') }} < orders.order_date
    left join members
        on
            orders.customer_key = members.customer_key
            and cutoffs.cutoff_date >= members.enrolled_date
),

counts as (
    select
        cutoff_date,
        sum(case when is_store and customer_key is null then 1 else 0 end) as anonymous_store_orders_365d,
        sum(case when is_member then 1 else 0 end) as member_orders_365d,
        sum(case when is_member and is_store then 1 else 0 end) as member_store_orders_365d,
        sum(case when customer_key is not null and not is_member then 1 else 0 end) as non_member_orders_365d
    from orders
    group by cutoff_date
),

-- store receipts whose personal coupon names a member by the cutoff: did they carry a card?
coupon_receipts as (
    select
        orders.cutoff_date,
        count(*) as coupon_member_receipts_365d,
        sum(case when orders.customer_key is not null then 1 else 0 end) as coupon_member_receipts_with_card_365d
    from orders
    inner join {{ ref('int_offers__customer_coupons') }} as coupons
        on orders.coupon_code = coupons.coupon_code
    inner join members
        on
            coupons.customer_key = members.customer_key
            and orders.cutoff_date >= members.enrolled_date
    where orders.is_store
    group by orders.cutoff_date
),

rates as (
    select
        cutoffs.cutoff_date,
        coalesce(counts.anonymous_store_orders_365d, 0) as anonymous_store_orders_365d,
        coalesce(counts.member_orders_365d, 0) as member_orders_365d,
        coalesce(counts.member_store_orders_365d, 0) as member_store_orders_365d,
        coalesce(counts.non_member_orders_365d, 0) as non_member_orders_365d,
        coalesce(coupon_receipts.coupon_member_receipts_365d, 0) as coupon_member_receipts_365d,
        coalesce(coupon_receipts.coupon_member_receipts_with_card_365d, 0) as coupon_member_receipts_with_card_365d,
        case
            when
                coupon_receipts.coupon_member_receipts_365d >= {{ ml['min_card_capture_sample'] }}
                and coupon_receipts.coupon_member_receipts_with_card_365d > 0
                then
                    1.0 * coupon_receipts.coupon_member_receipts_with_card_365d
                    / coupon_receipts.coupon_member_receipts_365d
        end as card_capture_rate
    from cutoffs
    left join counts on cutoffs.cutoff_date = counts.cutoff_date
    left join coupon_receipts on cutoffs.cutoff_date = coupon_receipts.cutoff_date
),

hidden as (
    select
        *,
        -- without a measured capture rate, members count as fully seen: no guess enters
        least(
            coalesce(member_store_orders_365d * (1 - card_capture_rate) / card_capture_rate, 0),
            anonymous_store_orders_365d
        ) as member_anonymous_orders_365d
    from rates
)

select
    cutoff_date,
    anonymous_store_orders_365d,
    coupon_member_receipts_365d,
    coupon_member_receipts_with_card_365d,
    card_capture_rate,
    member_orders_365d,
    member_store_orders_365d,
    member_anonymous_orders_365d,
    non_member_orders_365d,
    (anonymous_store_orders_365d - member_anonymous_orders_365d)
    * {{ ml['anonymous_purchases_by_known_customers'] }} as non_member_anonymous_orders_365d,
    -- a class without a purchase that reached it has nothing to scale: 1
    case
        when member_orders_365d > 0
            then 1.0 * member_orders_365d / (member_orders_365d + member_anonymous_orders_365d)
        else 1.0
    end as member_visibility,
    case
        when non_member_orders_365d > 0
            then
                1.0 * non_member_orders_365d
                / (
                    non_member_orders_365d
                    + (anonymous_store_orders_365d - member_anonymous_orders_365d)
                    * {{ ml['anonymous_purchases_by_known_customers'] }}
                )
        else 1.0
    end as non_member_visibility
from hidden
