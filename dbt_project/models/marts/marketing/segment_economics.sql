-- One row per segment (grain: segment_type, segment): customer economics summed over the customers
-- of each value tier and RFM segment (customer_segments), acquiring channel (customer_economics) and
-- service tier (customer_service_tier), plus one row for all customers. Customers without a revenue
-- order have acquiring channel 'no_purchase'. The acquiring-channel rows also carry the channel's
-- acquisition spend and the part of it no acquired customer carries (spend in months without new
-- customers, and spend before the history lead-in); the 'all' row carries the totals.

{%- set segment_types = [
    ('value_tier', 'value_tier'),
    ('rfm_segment', 'rfm_segment'),
    ('acquiring_channel', 'acquiring_channel_segment'),
    ('service_tier', 'service_tier'),
    ('all', "'all'"),
] %}

with

customers as (
    select
        economics.*,
        coalesce(economics.acquiring_channel, 'no_purchase') as acquiring_channel_segment,
        segments.value_tier,
        segments.rfm_segment,
        service.service_tier
    from {{ ref('customer_economics') }} as economics
    left join {{ ref('customer_segments') }} as segments
        on economics.customer_key = segments.customer_key
    left join {{ ref('customer_service_tier') }} as service
        on economics.customer_key = service.customer_key
),

segmented as (
    {%- for segment_type, expression in segment_types %}
        select
            '{{ segment_type }}' as segment_type,
            {{ expression }} as segment,
            *
        from customers
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

totals as (
    select
        segment_type,
        coalesce(segment, 'unknown') as segment,
        count(*) as customers,
        sum(case when orders > 0 then 1 else 0 end) as buyers,
        sum(orders) as orders,
        sum(revenue) as revenue,
        sum(margin) as margin,
        sum(margin_before_coupons) as margin_before_coupons,
        sum(acquisition_cost) as acquisition_cost,
        sum(service_cost) as service_cost,
        sum(coupon_discount) as coupon_discount,
        sum(loyalty_points_cost) as loyalty_points_cost,
        sum(retention_contact_cost) as retention_contact_cost,
        sum(retention_cost) as retention_cost,
        sum(contribution) as contribution,
        sum(case when is_negative_margin then 1 else 0 end) as negative_margin_customers,
        sum(case when is_negative_contribution then 1 else 0 end) as negative_contribution_customers
    from segmented
    group by
        segment_type,
        coalesce(segment, 'unknown')
),

channel_spend as (
    select
        acquiring_channel as segment,
        sum(spend) as acquisition_spend,
        sum(unattributed_spend) as unattributed_acquisition_spend
    from {{ ref('int_economics__acquisition_cost') }}
    group by acquiring_channel
),

spend as (
    select
        'acquiring_channel' as segment_type,
        segment,
        acquisition_spend,
        unattributed_acquisition_spend
    from channel_spend
    union all
    select
        'all' as segment_type,
        'all' as segment,
        sum(acquisition_spend) as acquisition_spend,
        sum(unattributed_acquisition_spend) as unattributed_acquisition_spend
    from channel_spend
),

joined as (
    select
        coalesce(totals.segment_type, spend.segment_type) as segment_type,
        coalesce(totals.segment, spend.segment) as segment,
        coalesce(totals.customers, 0) as customers,
        coalesce(totals.buyers, 0) as buyers,
        coalesce(totals.orders, 0) as orders,
        coalesce(totals.revenue, 0) as revenue,
        coalesce(totals.margin, 0) as margin,
        coalesce(totals.margin_before_coupons, 0) as margin_before_coupons,
        coalesce(totals.acquisition_cost, 0) as acquisition_cost,
        coalesce(totals.service_cost, 0) as service_cost,
        coalesce(totals.coupon_discount, 0) as coupon_discount,
        coalesce(totals.loyalty_points_cost, 0) as loyalty_points_cost,
        coalesce(totals.retention_contact_cost, 0) as retention_contact_cost,
        coalesce(totals.retention_cost, 0) as retention_cost,
        coalesce(totals.contribution, 0) as contribution,
        coalesce(totals.negative_margin_customers, 0) as negative_margin_customers,
        coalesce(totals.negative_contribution_customers, 0) as negative_contribution_customers,
        spend.acquisition_spend,
        spend.unattributed_acquisition_spend
    from totals
    full outer join spend
        on
            totals.segment_type = spend.segment_type
            and totals.segment = spend.segment
)

select
    segment_type,
    segment,
    cast(customers as {{ dbt.type_bigint() }}) as customers,
    cast(buyers as {{ dbt.type_bigint() }}) as buyers,
    cast(orders as {{ dbt.type_bigint() }}) as orders,
    cast(revenue as {{ dbt.type_numeric() }}) as revenue,
    cast(margin as {{ dbt.type_numeric() }}) as margin,
    cast(margin_before_coupons as {{ dbt.type_numeric() }}) as margin_before_coupons,
    cast(acquisition_cost as {{ dbt.type_numeric() }}) as acquisition_cost,
    cast(service_cost as {{ dbt.type_numeric() }}) as service_cost,
    cast(coupon_discount as {{ dbt.type_numeric() }}) as coupon_discount,
    cast(loyalty_points_cost as {{ dbt.type_numeric() }}) as loyalty_points_cost,
    cast(retention_contact_cost as {{ dbt.type_numeric() }}) as retention_contact_cost,
    cast(retention_cost as {{ dbt.type_numeric() }}) as retention_cost,
    cast(contribution as {{ dbt.type_numeric() }}) as contribution,
    cast(revenue / nullif(customers, 0) as {{ dbt.type_numeric() }}) as revenue_per_customer,
    cast(margin / nullif(customers, 0) as {{ dbt.type_numeric() }}) as margin_per_customer,
    cast(acquisition_cost / nullif(customers, 0) as {{ dbt.type_numeric() }})
        as acquisition_cost_per_customer,
    cast(service_cost / nullif(customers, 0) as {{ dbt.type_numeric() }}) as service_cost_per_customer,
    cast(retention_cost / nullif(customers, 0) as {{ dbt.type_numeric() }})
        as retention_cost_per_customer,
    cast(contribution / nullif(customers, 0) as {{ dbt.type_numeric() }}) as contribution_per_customer,
    cast(negative_margin_customers as {{ dbt.type_bigint() }}) as negative_margin_customers,
    cast(negative_contribution_customers as {{ dbt.type_bigint() }}) as negative_contribution_customers,
    cast(negative_contribution_customers as {{ dbt.type_float() }}) / nullif(customers, 0)
        as negative_contribution_share,
    cast(acquisition_spend as {{ dbt.type_numeric() }}) as acquisition_spend,
    cast(unattributed_acquisition_spend as {{ dbt.type_numeric() }}) as unattributed_acquisition_spend
from joined
