-- One row per customer and cutoff date (grain: customer_key x cutoff_date, int_ml__customer_cutoffs):
-- the features the ML models learn from and score with. Only data dated on or before the cutoff enters
-- (orders by order date, touchpoints by their day, memberships by enrolment, the loyalty ledger by
-- entry); "_90d" and "_365d" are the 90 and 365 days ending on the cutoff. Every feature is numeric
-- (booleans as 0/1); NULL where it is unknown (no order yet: no recency). See docs/ml-features.md.

{%- set marts = var('marts') %}
{%- set half_life = marts['engagement_half_life_days'] | float %}
{%- set share_channels = ['web', 'email', 'social', 'service', 'loyalty'] %}
{%- set double = type_double() %}
{%- set bigint = dbt.type_bigint() %}
{%- set int = dbt.type_int() %}

with

population as (
    select
        customer_key,
        cutoff_date,
        first_seen_date,
        is_known
    from {{ ref('int_ml__customer_cutoffs') }}
),

cutoffs as (
    select
        cutoff_date,
        season_index_30d,
        season_index_90d
    from {{ ref('int_ml__cutoffs') }}
),

customers as (
    select
        customer_key,
        birth_date,
        substring(postcode, 1, 4) as postcode4
    from {{ ref('dim_customer') }}
),

-- ---- orders

cutoff_orders as (
    select
        population.customer_key,
        population.cutoff_date,
        orders.order_date,
        orders.sales_channel,
        cast(orders.revenue as {{ double }}) as revenue,
        cast(orders.margin as {{ double }}) as margin,
        {{ dbt.datediff('orders.order_date', 'population.cutoff_date', 'day') }} as age_days
    from population
    inner join {{ ref('fct_orders') }} as orders
        on
            population.customer_key = orders.customer_key
            and population.cutoff_date >= orders.order_date
    where orders.is_revenue
),

order_features as (
    select
        customer_key,
        cutoff_date,
        count(*) as orders_lifetime,
        sum(revenue) as revenue_lifetime,
        sum(margin) as margin_lifetime,
        sum(case when age_days < 90 then 1 else 0 end) as frequency_90d,
        sum(case when age_days < 365 then 1 else 0 end) as frequency_365d,
        sum(case when age_days < 365 then revenue else 0 end) as monetary_365d,
        sum(case when age_days < 365 then margin else 0 end) as margin_365d,
        sum(case when age_days < 365 and sales_channel = 'online' then 1 else 0 end) as online_orders_365d,
        -- the online orders alone: the purchase history a customer without a loyalty card shows
        sum(case when sales_channel = 'online' then 1 else 0 end) as online_orders_lifetime,
        sum(case when age_days < 90 and sales_channel = 'online' then 1 else 0 end) as online_frequency_90d,
        sum(case when age_days < 365 and sales_channel = 'online' then revenue else 0 end) as online_monetary_365d,
        min(case when sales_channel = 'online' then age_days end) as online_recency_days,
        max(case when sales_channel = 'online' then age_days end) as days_since_first_online_order,
        -- the label windows one year earlier: the 30 and 90 days after the cutoff's date last year
        sum(case when age_days >= 335 and age_days < 365 then 1 else 0 end) as frequency_30d_year_before,
        sum(case when age_days >= 275 and age_days < 365 then 1 else 0 end) as frequency_90d_year_before,
        min(age_days) as recency_days,
        max(age_days) as days_since_first_order
    from cutoff_orders
    group by customer_key, cutoff_date
),

-- BG/NBD works on purchase days: several orders on one day are one purchase
purchase_days as (
    select
        customer_key,
        cutoff_date,
        age_days,
        sum(revenue) as revenue
    from cutoff_orders
    group by customer_key, cutoff_date, age_days
),

purchase_day_ranks as (
    select
        purchase_days.*,
        max(purchase_days.age_days)
            over (partition by purchase_days.customer_key, purchase_days.cutoff_date)
            as first_purchase_age_days
    from purchase_days
),

bgnbd as (
    select
        customer_key,
        cutoff_date,
        count(*) - 1 as bgnbd_frequency,
        max(age_days) - min(age_days) as bgnbd_recency_days,
        max(age_days) as bgnbd_age_days,
        sum(case when age_days < first_purchase_age_days then revenue end) / nullif(count(*) - 1, 0)
            as bgnbd_monetary_value
    from purchase_day_ranks
    group by customer_key, cutoff_date
),

-- ---- touchpoints (fct_interactions); purchases count for engagement points only

interactions as (
    select
        interactions.customer_key,
        interactions.interaction_type,
        interactions.channel,
        interactions.session_id,
        interactions.engagement_points,
        interactions.interaction_date,
        service.satisfaction_score
    from {{ ref('fct_interactions') }} as interactions
    left join {{ ref('stg_service__contacts') }} as service
        on
            interactions.source_system = 'service'
            and interactions.source_table = 'contacts'
            and interactions.source_record_id = service.contact_id
    where interactions.customer_key is not null
),

touchpoints as (
    select
        population.customer_key,
        population.cutoff_date,
        interactions.interaction_type,
        interactions.interaction_type <> 'purchase' as is_interaction,
        interactions.channel,
        interactions.session_id,
        interactions.engagement_points,
        interactions.satisfaction_score,
        {{ dbt.datediff('interactions.interaction_date', 'population.cutoff_date', 'day') }} as age_days
    from population
    inner join interactions
        on
            population.customer_key = interactions.customer_key
            and population.cutoff_date >= interactions.interaction_date
),

touch_features as (
    select
        customer_key,
        cutoff_date,
        sum(case when is_interaction and age_days < 90 then 1 else 0 end) as interactions_90d,
        sum(case when is_interaction and age_days < 365 then 1 else 0 end) as interactions_365d,
        count(distinct case when channel = 'web' and age_days < 90 then session_id end) as web_sessions_90d,
        sum(case when interaction_type = 'product_view' and age_days < 90 then 1 else 0 end) as product_views_90d,
        min(case when is_interaction then age_days end) as days_since_last_interaction,
        sum(case when age_days < 365 then engagement_points else 0 end) as engagement_points_365d,
        sum(engagement_points * power(0.5, age_days / {{ half_life }})) as decayed_engagement_points,
        {%- for event in ['send', 'open', 'click'] %}
            sum(case when interaction_type = 'email_{{ event }}' and age_days < 90 then 1 else 0 end)
                as email_{{ event }}s_90d,
        {%- endfor %}
        sum(case when interaction_type = 'service_contact' and age_days < 365 then 1 else 0 end)
            as service_contacts_365d,
        avg(case when interaction_type = 'service_contact' and age_days < 365 then satisfaction_score end)
            as avg_satisfaction_365d,
        min(case when interaction_type = 'service_contact' then age_days end) as days_since_last_service_contact,
        sum(case when interaction_type = 'campaign_exposure' and age_days < 365 then 1 else 0 end)
            as campaign_exposures_365d,
        sum(case
            when
                interaction_type in ({{ "'" ~ marts["response_interaction_types"] | join("', '") ~ "'" }})
                and age_days < 365 then 1
            else 0
        end) as campaign_responses_365d,
        {%- for channel in share_channels %}
            sum(case when is_interaction and age_days < 365 and channel = '{{ channel }}' then 1 else 0 end)
                as {{ channel }}_interactions_365d,
        {%- endfor %}
        sum(case when interaction_type = 'coupon_redeemed' and age_days < 365 then 1 else 0 end)
            as coupons_redeemed_365d
    from touchpoints
    group by customer_key, cutoff_date
),

-- share of the emails sent in the 365 days that the customer clicked (by the cutoff)
email_sends as (
    select
        population.customer_key,
        population.cutoff_date,
        sends.send_id
    from population
    inner join {{ ref('fct_interactions') }} as interactions
        on
            population.customer_key = interactions.customer_key
            and population.cutoff_date >= interactions.interaction_date
            and interactions.interaction_date
            > {{ dbt.dateadd('day', -365, 'population.cutoff_date') }}
    inner join {{ ref('stg_email__sends') }} as sends
        on
            interactions.source_system = 'email'
            and interactions.source_table = 'sends'
            and interactions.source_record_id = sends.send_id
),

email_clicks as (
    select distinct
        population.customer_key,
        population.cutoff_date,
        events.send_id
    from population
    inner join {{ ref('fct_interactions') }} as interactions
        on
            population.customer_key = interactions.customer_key
            and population.cutoff_date >= interactions.interaction_date
    inner join {{ ref('stg_email__events') }} as events
        on
            interactions.source_system = 'email'
            and interactions.source_table = 'events'
            and interactions.source_record_id = events.email_event_id
    where events.event_type = 'click'
),

email_rates as (
    select
        email_sends.customer_key,
        email_sends.cutoff_date,
        count(email_clicks.send_id) * 1.0 / count(*) as email_click_rate_365d
    from email_sends
    left join email_clicks
        on
            email_sends.customer_key = email_clicks.customer_key
            and email_sends.cutoff_date = email_clicks.cutoff_date
            and email_sends.send_id = email_clicks.send_id
    group by email_sends.customer_key, email_sends.cutoff_date
),

-- ---- loyalty: memberships enrolled by the cutoff (their tier as the source holds it now), ledger entries

member_keys as (
    select * from {{ ref('int_loyalty__member_customers') }}
),

loyalty_tiers as (
    select
        population.customer_key,
        population.cutoff_date,
        max(case members.tier
            {%- for tier in marts['loyalty_tiers'] %}
                when '{{ tier }}' then {{ loop.index }}
            {%- endfor %}
            else 0
        end) as loyalty_tier_rank
    from population
    inner join member_keys
        on population.customer_key = member_keys.customer_key
    inner join {{ ref('stg_loyalty__members') }} as members
        on member_keys.member_id = members.member_id
    where cast(members.enrolled_at as date) <= population.cutoff_date
    group by population.customer_key, population.cutoff_date
),

loyalty_points as (
    select
        population.customer_key,
        population.cutoff_date,
        sum(ledger.points) as loyalty_points_earned_365d
    from population
    inner join member_keys
        on population.customer_key = member_keys.customer_key
    inner join {{ ref('stg_loyalty__points_ledger') }} as ledger
        on member_keys.member_id = ledger.member_id
    where
        ledger.points > 0
        and cast(ledger.entry_at as date) <= population.cutoff_date
        and cast(ledger.entry_at as date) > {{ dbt.dateadd('day', -365, 'population.cutoff_date') }}
    group by population.customer_key, population.cutoff_date
),

demographics as (
    select * from {{ ref('stg_thirdparty__demographics') }}
)

select
    population.customer_key,
    population.cutoff_date,

    -- profile (the golden record's birth date and postcode as they are now)
    cast(case when population.is_known then 1 else 0 end as {{ int }}) as is_known,
    cast({{ dbt.datediff('population.first_seen_date', 'population.cutoff_date', 'day') }} as {{ int }})
        as tenure_days,
    cast(
        floor({{ dbt.datediff('customers.birth_date', 'population.cutoff_date', 'day') }} / 365.25) as {{ int }}
    ) as age_years,

    -- orders (revenue orders)
    cast(order_features.recency_days as {{ int }}) as recency_days,
    cast(coalesce(order_features.frequency_90d, 0) as {{ bigint }}) as frequency_90d,
    cast(coalesce(order_features.frequency_365d, 0) as {{ bigint }}) as frequency_365d,
    cast(coalesce(order_features.monetary_365d, 0) as {{ double }}) as monetary_365d,
    cast(coalesce(order_features.margin_365d, 0) as {{ double }}) as margin_365d,
    cast(coalesce(order_features.orders_lifetime, 0) as {{ bigint }}) as orders_lifetime,
    cast(coalesce(order_features.revenue_lifetime, 0) as {{ double }}) as revenue_lifetime,
    cast(coalesce(order_features.margin_lifetime, 0) as {{ double }}) as margin_lifetime,
    cast(order_features.monetary_365d / nullif(order_features.frequency_365d, 0) as {{ double }})
        as avg_order_value_365d,
    cast(order_features.online_orders_365d * 1.0 / nullif(order_features.frequency_365d, 0) as {{ double }})
        as online_order_share_365d,
    cast(order_features.days_since_first_order as {{ int }}) as days_since_first_order,

    -- online orders alone: what a customer shows whose store receipts carry no loyalty card
    cast(order_features.online_recency_days as {{ int }}) as online_recency_days,
    cast(coalesce(order_features.online_frequency_90d, 0) as {{ bigint }}) as online_frequency_90d,
    cast(coalesce(order_features.online_orders_365d, 0) as {{ bigint }}) as online_frequency_365d,
    cast(coalesce(order_features.online_monetary_365d, 0) as {{ double }}) as online_monetary_365d,
    cast(coalesce(order_features.online_orders_lifetime, 0) as {{ bigint }}) as online_orders_lifetime,
    cast(order_features.days_since_first_online_order as {{ int }}) as days_since_first_online_order,

    -- season: the customer's own orders and the whole business's in the label windows a year earlier
    cast(coalesce(order_features.frequency_30d_year_before, 0) as {{ bigint }}) as frequency_30d_year_before,
    cast(coalesce(order_features.frequency_90d_year_before, 0) as {{ bigint }}) as frequency_90d_year_before,
    cast(cutoffs.season_index_30d as {{ double }}) as season_index_30d,
    cast(cutoffs.season_index_90d as {{ double }}) as season_index_90d,

    -- BG/NBD inputs over all purchase days up to the cutoff (NULL without a purchase)
    cast(bgnbd.bgnbd_frequency as {{ int }}) as bgnbd_frequency,
    cast(bgnbd.bgnbd_recency_days as {{ int }}) as bgnbd_recency_days,
    cast(bgnbd.bgnbd_age_days as {{ int }}) as bgnbd_age_days,
    cast(bgnbd.bgnbd_monetary_value as {{ double }}) as bgnbd_monetary_value,

    -- touchpoints other than purchases; engagement points include purchases (as customer_engagement)
    cast(coalesce(touch_features.interactions_90d, 0) as {{ bigint }}) as interactions_90d,
    cast(coalesce(touch_features.interactions_365d, 0) as {{ bigint }}) as interactions_365d,
    cast(coalesce(touch_features.web_sessions_90d, 0) as {{ bigint }}) as web_sessions_90d,
    cast(coalesce(touch_features.product_views_90d, 0) as {{ bigint }}) as product_views_90d,
    cast(touch_features.days_since_last_interaction as {{ int }}) as days_since_last_interaction,
    cast(coalesce(touch_features.engagement_points_365d, 0) as {{ bigint }}) as engagement_points_365d,
    cast(coalesce(touch_features.decayed_engagement_points, 0) as {{ double }}) as decayed_engagement_points,
    cast(coalesce(touch_features.email_sends_90d, 0) as {{ bigint }}) as email_sends_90d,
    cast(coalesce(touch_features.email_opens_90d, 0) as {{ bigint }}) as email_opens_90d,
    cast(coalesce(touch_features.email_clicks_90d, 0) as {{ bigint }}) as email_clicks_90d,
    cast(email_rates.email_click_rate_365d as {{ double }}) as email_click_rate_365d,
    cast(coalesce(touch_features.service_contacts_365d, 0) as {{ bigint }}) as service_contacts_365d,
    cast(touch_features.avg_satisfaction_365d as {{ double }}) as avg_satisfaction_365d,
    cast(touch_features.days_since_last_service_contact as {{ int }}) as days_since_last_service_contact,
    cast(coalesce(touch_features.campaign_exposures_365d, 0) as {{ bigint }}) as campaign_exposures_365d,
    cast(coalesce(touch_features.campaign_responses_365d, 0) as {{ bigint }}) as campaign_responses_365d,
    cast(coalesce(touch_features.coupons_redeemed_365d, 0) as {{ bigint }}) as coupons_redeemed_365d,
    {%- for channel in share_channels %}
        cast(
            touch_features.{{ channel }}_interactions_365d * 1.0 / nullif(touch_features.interactions_365d, 0)
            as {{ double }}
        ) as share_{{ channel }},
    {%- endfor %}
    cast(
        (
            touch_features.interactions_365d
            {%- for channel in share_channels %}
                - touch_features.{{ channel }}_interactions_365d
            {%- endfor %}
        ) * 1.0 / nullif(touch_features.interactions_365d, 0)
        as {{ double }}
    ) as share_other,

    -- loyalty
    cast(coalesce(loyalty_tiers.loyalty_tier_rank, 0) as {{ int }}) as loyalty_tier_rank,
    cast(coalesce(loyalty_points.loyalty_points_earned_365d, 0) as {{ bigint }}) as loyalty_points_earned_365d,

    -- demographics of the postcode area (third party, by PC4)
    cast(demographics.avg_household_size as {{ double }}) as avg_household_size,
    cast(demographics.median_household_income as {{ double }}) as median_household_income,
    cast(demographics.pct_higher_education as {{ double }}) as pct_higher_education,
    cast(demographics.avg_house_value as {{ double }}) as avg_house_value
from population
inner join customers
    on population.customer_key = customers.customer_key
inner join cutoffs
    on population.cutoff_date = cutoffs.cutoff_date
left join order_features
    on population.customer_key = order_features.customer_key and population.cutoff_date = order_features.cutoff_date
left join bgnbd
    on population.customer_key = bgnbd.customer_key and population.cutoff_date = bgnbd.cutoff_date
left join touch_features
    on population.customer_key = touch_features.customer_key and population.cutoff_date = touch_features.cutoff_date
left join email_rates
    on population.customer_key = email_rates.customer_key and population.cutoff_date = email_rates.cutoff_date
left join loyalty_tiers
    on population.customer_key = loyalty_tiers.customer_key and population.cutoff_date = loyalty_tiers.cutoff_date
left join loyalty_points
    on population.customer_key = loyalty_points.customer_key and population.cutoff_date = loyalty_points.cutoff_date
left join demographics
    on customers.postcode4 = demographics.postcode4
