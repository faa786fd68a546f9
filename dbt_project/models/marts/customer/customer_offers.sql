-- One row per customer (grain: customer_key of dim_customer): the one offer the customer gets,
-- whatever the channel. Candidates are the customer's open coupons (issued online or in a store, not
-- redeemed, still valid on the as-of date; int_offers__customer_coupons) and, when
-- `loyalty_tier_discount_pct` gives their tier one, the loyalty tier discount. Every offer is valid
-- in the webshop and in the stores alike (`valid_in_channels`). The best offer is the one worth most
-- in euros on the customer's reference basket (a percentage x their average order revenue, else the
-- average order revenue of all customers; a fixed amount as is), then the one that expires first.
-- Contact flags say whether the customer may be told about it; the offer is valid either way.

{%- set tier_discounts = var('marts')['loyalty_tier_discount_pct'] or {} %}

with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

customers as (
    select
        customer_key,
        email,
        phone,
        postcode,
        house_number,
        has_email_consent,
        has_sms_consent,
        has_phone_consent,
        has_post_consent
    from {{ ref('dim_customer') }}
),

orders as (
    select
        orders.customer_key,
        orders.revenue
    from {{ ref('fct_orders') }} as orders
    cross join as_of
    where
        orders.customer_key is not null
        and orders.is_revenue
        and orders.order_date <= as_of.as_of_date
),

baskets as (
    select
        customer_key,
        avg(revenue) as basket
    from orders
    group by customer_key
),

overall_basket as (
    select avg(revenue) as basket from orders
),

coupons as (
    select
        coupons.customer_key,
        coupons.coupon_code,
        coupons.campaign_id,
        coupons.issued_channel,
        coupons.discount_pct,
        coupons.discount_amount,
        coupons.valid_until
    from {{ ref('int_offers__customer_coupons') }} as coupons
    cross join as_of
    where
        coupons.customer_key is not null
        and (coupons.issued_at is null or cast(coupons.issued_at as date) <= as_of.as_of_date)
        and (coupons.redeemed_at is null or cast(coupons.redeemed_at as date) > as_of.as_of_date)
        and (coupons.valid_until is null or coupons.valid_until >= as_of.as_of_date)
),

coupon_counts as (
    select
        customer_key,
        count(*) as open_coupons,
        sum(case when issued_channel = 'online' then 1 else 0 end) as open_coupons_issued_online,
        sum(case when issued_channel = 'offline' then 1 else 0 end) as open_coupons_issued_offline
    from coupons
    group by customer_key
),

-- the customer's best loyalty tier (customer_loyalty) and the discount `loyalty_tier_discount_pct` gives it
membership as (
    select
        customer_key,
        loyalty_tier as tier,
        {%- if tier_discounts %}
            case loyalty_tier
            {% for tier, pct in tier_discounts.items() -%}
                when '{{ tier }}' then {{ pct }}
            {% endfor -%}
            end as tier_discount_pct
        {%- else %}
            cast(null as {{ dbt.type_numeric() }}) as tier_discount_pct
        {%- endif %}
    from {{ ref('customer_loyalty') }}
),

candidates as (
    select
        customer_key,
        'coupon' as offer_type,
        coupon_code,
        campaign_id,
        issued_channel,
        discount_pct,
        discount_amount,
        valid_until
    from coupons
    union all
    select
        customer_key,
        'loyalty_tier' as offer_type,
        cast(null as {{ dbt.type_string() }}) as coupon_code,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        cast(null as {{ dbt.type_string() }}) as issued_channel,
        tier_discount_pct as discount_pct,
        cast(null as {{ dbt.type_numeric() }}) as discount_amount,
        cast(null as date) as valid_until
    from membership
    where tier_discount_pct > 0
),

valued as (
    select
        candidates.*,
        coalesce(baskets.basket, overall_basket.basket, 0) as reference_basket,
        case
            when
                coalesce(candidates.discount_pct, 0) / 100.0 * coalesce(baskets.basket, overall_basket.basket, 0)
                >= coalesce(candidates.discount_amount, 0)
                then coalesce(candidates.discount_pct, 0) / 100.0 * coalesce(baskets.basket, overall_basket.basket, 0)
            else coalesce(candidates.discount_amount, 0)
        end as offer_value
    from candidates
    cross join overall_basket
    left join baskets
        on candidates.customer_key = baskets.customer_key
),

best_offer as (
    {{ deduplicate(
        'valued',
        partition_by='customer_key',
        order_by="offer_value desc, valid_until asc nulls last, offer_type, coupon_code"
    ) }}
)

select
    customers.customer_key,
    best_offer.customer_key is not null as has_offer,
    best_offer.offer_type,
    best_offer.coupon_code,
    best_offer.campaign_id,
    cast(best_offer.discount_pct as {{ dbt.type_numeric() }}) as discount_pct,
    cast(best_offer.discount_amount as {{ dbt.type_numeric() }}) as discount_amount,
    cast(round(best_offer.offer_value, 2) as {{ dbt.type_numeric() }}) as offer_value_eur,
    cast(round(best_offer.reference_basket, 2) as {{ dbt.type_numeric() }}) as reference_basket_eur,
    best_offer.valid_until,
    best_offer.issued_channel,
    case when best_offer.customer_key is not null then 'online,store' end as valid_in_channels,
    cast(coalesce(coupon_counts.open_coupons, 0) as {{ dbt.type_bigint() }}) as open_coupons,
    cast(coalesce(coupon_counts.open_coupons_issued_online, 0) as {{ dbt.type_bigint() }})
        as open_coupons_issued_online,
    cast(coalesce(coupon_counts.open_coupons_issued_offline, 0) as {{ dbt.type_bigint() }})
        as open_coupons_issued_offline,
    membership.tier as loyalty_tier,
    cast(membership.tier_discount_pct as {{ dbt.type_numeric() }}) as loyalty_tier_discount_pct,
    coalesce(customers.has_email_consent and customers.email is not null, false) as can_contact_email,
    coalesce(customers.has_sms_consent and customers.phone is not null, false) as can_contact_sms,
    coalesce(customers.has_phone_consent and customers.phone is not null, false) as can_contact_phone,
    coalesce(
        customers.has_post_consent and customers.postcode is not null and customers.house_number is not null,
        false
    ) as can_contact_post,
    case
        when customers.has_email_consent and customers.email is not null then 'email'
        when customers.has_sms_consent and customers.phone is not null then 'sms'
        when customers.has_post_consent and customers.postcode is not null and customers.house_number is not null
            then 'post'
        when customers.has_phone_consent and customers.phone is not null then 'phone'
    end as contact_channel,
    as_of.as_of_date
from customers
cross join as_of
left join best_offer
    on customers.customer_key = best_offer.customer_key
left join coupon_counts
    on customers.customer_key = coupon_counts.customer_key
left join membership
    on customers.customer_key = membership.customer_key
