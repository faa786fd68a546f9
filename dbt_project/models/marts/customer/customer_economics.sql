-- One row per customer (grain: customer_key of dim_customer): what the customer earned the company
-- and what they cost, up to the as-of date. Revenue and margin come from revenue orders (after
-- every discount); the costs are acquisition (campaign spend of the acquiring channel and month),
-- service (handling cost of service contacts), and retention (coupon discounts given, loyalty points
-- redeemed, per-contact cost of retention-type campaigns). A coupon discount is already deducted
-- from revenue and margin, so the contribution starts from the margin before coupons:
--   contribution = margin_before_coupons - acquisition_cost - service_cost - retention_cost.

{%- set marts = var('marts') %}
{%- set point_value = marts['loyalty_point_value_eur'] %}
{%- set retention_types = "'" ~ marts['retention_campaign_types'] | join("', '") ~ "'" %}

with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

customers as (
    select customer_key from {{ ref('dim_customer') }}
),

orders as (
    select
        orders.customer_key,
        orders.revenue,
        orders.margin,
        orders.coupon_code,
        orders.discount_amount,
        orders.order_date
        > {{ dbt.dateadd('day', -marts['rfm_window_days'], 'as_of.as_of_date') }} as is_in_window
    from {{ ref('fct_orders') }} as orders
    cross join as_of
    where
        orders.customer_key is not null
        and orders.is_revenue
        and orders.order_date <= as_of.as_of_date
),

order_totals as (
    select
        customer_key,
        count(*) as orders,
        sum(revenue) as revenue,
        sum(margin) as margin,
        sum(case when is_in_window then 1 else 0 end) as orders_in_window,
        sum(case when is_in_window then revenue else 0 end) as revenue_in_window,
        sum(case when is_in_window then margin else 0 end) as margin_in_window,
        sum(case when coupon_code is not null then discount_amount else 0 end) as coupon_discount
    from orders
    group by customer_key
),

acquisitions as (
    select
        acquisitions.customer_key,
        acquisitions.acquisition_date,
        acquisitions.first_order_sales_channel,
        acquisitions.acquiring_channel,
        acquisitions.acquiring_campaign_id,
        acquisitions.acquisition_source,
        case when acquisitions.is_acquisition then coalesce(cost.cost_per_customer, 0) else 0 end
            as acquisition_cost
    from {{ ref('int_economics__acquisitions') }} as acquisitions
    left join {{ ref('int_economics__acquisition_cost') }} as cost
        on
            acquisitions.acquiring_channel = cost.acquiring_channel
            and acquisitions.acquisition_month = cost.acquisition_month
),

touchpoints as (
    select
        interactions.customer_key,
        interactions.interaction_type,
        interactions.cost,
        campaigns.cost_per_contact,
        coalesce(campaigns.campaign_type in ({{ retention_types }}), false) as is_retention_campaign
    from {{ ref('fct_interactions') }} as interactions
    cross join as_of
    left join {{ ref('stg_campaigns__campaigns') }} as campaigns
        on
            interactions.interaction_type = 'campaign_exposure'
            and interactions.campaign_id = campaigns.campaign_id
    where
        interactions.customer_key is not null
        and interactions.interaction_type in ('service_contact', 'campaign_exposure')
        and interactions.interaction_date <= as_of.as_of_date
),

touchpoint_costs as (
    select
        customer_key,
        sum(case when interaction_type = 'service_contact' then 1 else 0 end) as service_contacts,
        sum(case when interaction_type = 'service_contact' then coalesce(cost, 0) else 0 end) as service_cost,
        sum(case when is_retention_campaign then 1 else 0 end) as retention_contacts,
        sum(case when is_retention_campaign then coalesce(cost_per_contact, 0) else 0 end)
            as retention_contact_cost
    from touchpoints
    group by customer_key
),

combined as (
    select
        customers.customer_key,
        acquisitions.acquisition_date,
        acquisitions.first_order_sales_channel,
        acquisitions.acquiring_channel,
        acquisitions.acquiring_campaign_id,
        acquisitions.acquisition_source,
        coalesce(order_totals.orders, 0) as orders,
        coalesce(order_totals.revenue, 0) as revenue,
        coalesce(order_totals.margin, 0) as margin,
        coalesce(order_totals.orders_in_window, 0) as orders_in_window,
        coalesce(order_totals.revenue_in_window, 0) as revenue_in_window,
        coalesce(order_totals.margin_in_window, 0) as margin_in_window,
        coalesce(acquisitions.acquisition_cost, 0) as acquisition_cost,
        coalesce(touchpoint_costs.service_contacts, 0) as service_contacts,
        coalesce(touchpoint_costs.service_cost, 0) as service_cost,
        coalesce(order_totals.coupon_discount, 0) as coupon_discount,
        coalesce(loyalty.points_redeemed, 0) as loyalty_points_redeemed,
        {{ point_value if point_value is not none else 0 }} * coalesce(loyalty.points_redeemed, 0)
            as loyalty_points_cost,
        coalesce(loyalty.points_from_promotions, 0) as promotion_points,
        coalesce(touchpoint_costs.retention_contacts, 0) as retention_contacts,
        coalesce(touchpoint_costs.retention_contact_cost, 0) as retention_contact_cost
    from customers
    left join order_totals
        on customers.customer_key = order_totals.customer_key
    left join acquisitions
        on customers.customer_key = acquisitions.customer_key
    left join touchpoint_costs
        on customers.customer_key = touchpoint_costs.customer_key
    left join {{ ref('customer_loyalty') }} as loyalty
        on customers.customer_key = loyalty.customer_key
),

-- money in one decimal type, so the sums below hold exactly in the table
rounded as (
    select
        customer_key,
        acquisition_date,
        first_order_sales_channel,
        acquiring_channel,
        acquiring_campaign_id,
        acquisition_source,
        orders,
        orders_in_window,
        service_contacts,
        loyalty_points_redeemed,
        promotion_points,
        retention_contacts,
        cast(revenue as {{ dbt.type_numeric() }}) as revenue,
        cast(margin as {{ dbt.type_numeric() }}) as margin,
        cast(revenue_in_window as {{ dbt.type_numeric() }}) as revenue_in_window,
        cast(margin_in_window as {{ dbt.type_numeric() }}) as margin_in_window,
        cast(acquisition_cost as {{ dbt.type_numeric() }}) as acquisition_cost,
        cast(service_cost as {{ dbt.type_numeric() }}) as service_cost,
        cast(coupon_discount as {{ dbt.type_numeric() }}) as coupon_discount,
        cast(loyalty_points_cost as {{ dbt.type_numeric() }}) as loyalty_points_cost,
        cast(retention_contact_cost as {{ dbt.type_numeric() }}) as retention_contact_cost
    from combined
),

costed as (
    select
        *,
        cast(margin + coupon_discount as {{ dbt.type_numeric() }}) as margin_before_coupons,
        cast(coupon_discount + loyalty_points_cost + retention_contact_cost as {{ dbt.type_numeric() }})
            as retention_cost
    from rounded
),

contributed as (
    select
        *,
        cast(margin_before_coupons - acquisition_cost - service_cost - retention_cost as {{ dbt.type_numeric() }})
            as contribution
    from costed
)

select
    contributed.customer_key,
    contributed.acquisition_date,
    contributed.first_order_sales_channel,
    contributed.acquiring_channel,
    contributed.acquiring_campaign_id,
    contributed.acquisition_source,
    cast(contributed.orders as {{ dbt.type_bigint() }}) as orders,
    contributed.revenue,
    contributed.margin,
    cast(contributed.orders_in_window as {{ dbt.type_bigint() }}) as orders_in_window,
    contributed.revenue_in_window,
    contributed.margin_in_window,
    contributed.margin_before_coupons,
    contributed.acquisition_cost,
    cast(contributed.service_contacts as {{ dbt.type_bigint() }}) as service_contacts,
    contributed.service_cost,
    contributed.coupon_discount,
    cast(contributed.loyalty_points_redeemed as {{ dbt.type_bigint() }}) as loyalty_points_redeemed,
    contributed.loyalty_points_cost,
    cast(contributed.promotion_points as {{ dbt.type_bigint() }}) as promotion_points,
    cast(contributed.retention_contacts as {{ dbt.type_bigint() }}) as retention_contacts,
    contributed.retention_contact_cost,
    contributed.retention_cost,
    contributed.contribution,
    contributed.margin < 0 as is_negative_margin,
    contributed.contribution < 0 as is_negative_contribution,
    as_of.as_of_date
from contributed
cross join as_of
