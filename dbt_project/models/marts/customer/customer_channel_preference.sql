-- One row per customer and product line with any activity in the line (grain: customer_key x
-- product_line), up to the as-of date: where they research it (touchpoints of
-- `marts.research_interaction_types` per channel; service contacts on `marts.research_service_topics`),
-- where they buy it (order lines online vs store), where they respond to its campaigns
-- (`marts.response_interaction_types` per campaign channel), and their research-online-buy-offline
-- journeys: store purchases in the line after web research in it (int_journeys__line_purchases).

{%- set marts = var('marts') %}
{%- set research_channels = ['web', 'email', 'social', 'service'] %}
{%- set buy_channels = ['online', 'store'] %}
{%- set response_channels = ['email', 'sms', 'post', 'social', 'web', 'store'] %}

with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

line_touchpoints as (
    select
        interactions.customer_key,
        interactions.product_line,
        interactions.channel,
        interactions.interaction_type,
        interactions.interaction_at,
        service.contact_id is not null as is_service_contact,
        service.topic as service_topic
    from {{ ref('fct_interactions') }} as interactions
    cross join as_of
    left join {{ ref('stg_service__contacts') }} as service
        on
            interactions.source_system = 'service'
            and interactions.source_table = 'contacts'
            and interactions.source_record_id = service.contact_id
    where
        interactions.customer_key is not null
        and interactions.product_line is not null
        and interactions.interaction_date <= as_of.as_of_date
),

research as (
    select
        customer_key,
        product_line,
        coalesce(channel, 'unknown') as channel,
        interaction_at
    from line_touchpoints
    where
        interaction_type in ({{ "'" ~ marts["research_interaction_types"] | join("', '") ~ "'" }})
        -- a complaint or a return is no research: only the service topics that ask before buying
        and (
            not is_service_contact
            or service_topic in ({{ "'" ~ marts["research_service_topics"] | join("', '") ~ "'" }})
        )
),

responses as (
    select
        customer_key,
        product_line,
        coalesce(channel, 'unknown') as channel,
        interaction_at
    from line_touchpoints
    where interaction_type in ({{ "'" ~ marts["response_interaction_types"] | join("', '") ~ "'" }})
),

purchases as (
    select
        customer_key,
        product_line,
        sales_channel as channel,
        revenue,
        is_after_web_research,
        ordered_at as interaction_at
    from {{ ref('int_journeys__line_purchases') }}
),

research_channels as (
    select
        customer_key,
        product_line,
        channel,
        count(*) as touchpoints,
        0 as revenue,
        max(interaction_at) as last_at
    from research
    group by customer_key, product_line, channel
),

purchase_channels as (
    select
        customer_key,
        product_line,
        channel,
        count(*) as touchpoints,
        sum(revenue) as revenue,
        max(interaction_at) as last_at
    from purchases
    group by customer_key, product_line, channel
),

response_channels as (
    select
        customer_key,
        product_line,
        channel,
        count(*) as touchpoints,
        0 as revenue,
        max(interaction_at) as last_at
    from responses
    group by customer_key, product_line, channel
),

-- per role, the channel with the most touchpoints (purchases), then the most revenue, then the latest
channel_ranks as (
    select
        'research' as role,
        research_channels.*
    from research_channels
    union all
    select
        'buy' as role,
        purchase_channels.*
    from purchase_channels
    union all
    select
        'response' as role,
        response_channels.*
    from response_channels
),

preferred as (
    select
        customer_key,
        product_line,
        max(case when role = 'research' then channel end) as preferred_research_channel,
        max(case when role = 'buy' then channel end) as preferred_buy_channel,
        max(case when role = 'response' then channel end) as preferred_response_channel
    from (
        {{ deduplicate(
            'channel_ranks',
            partition_by='role, customer_key, product_line',
            order_by='touchpoints desc, revenue desc, last_at desc, channel'
        ) }}
    ) as first_channels
    group by customer_key, product_line
),

research_totals as (
    select
        customer_key,
        product_line,
        count(*) as research_touchpoints,
        {%- for channel in research_channels %}
            sum(case when channel = '{{ channel }}' then 1 else 0 end) as research_{{ channel }},
        {%- endfor %}
        max(interaction_at) as last_research_at
    from research
    group by customer_key, product_line
),

purchase_totals as (
    select
        customer_key,
        product_line,
        count(*) as purchases,
        sum(revenue) as revenue,
        {%- for channel in buy_channels %}
            sum(case when channel = '{{ channel }}' then 1 else 0 end) as purchases_{{ channel }},
            sum(case when channel = '{{ channel }}' then revenue else 0 end) as revenue_{{ channel }},
        {%- endfor %}
        sum(case when channel = 'store' and is_after_web_research then 1 else 0 end)
            as store_purchases_after_web_research,
        max(interaction_at) as last_purchase_at
    from purchases
    group by customer_key, product_line
),

response_totals as (
    select
        customer_key,
        product_line,
        count(*) as responses,
        {%- for channel in response_channels %}
            sum(case when channel = '{{ channel }}' then 1 else 0 end) as responses_{{ channel }},
        {%- endfor %}
        max(interaction_at) as last_response_at
    from responses
    group by customer_key, product_line
),

pairs as (
    select
        customer_key,
        product_line
    from research_totals
    union
    select
        customer_key,
        product_line
    from purchase_totals
    union
    select
        customer_key,
        product_line
    from response_totals
),

combined as (
    select
        pairs.customer_key,
        pairs.product_line,
        coalesce(research_totals.research_touchpoints, 0) as research_touchpoints,
        {%- for channel in research_channels %}
            coalesce(research_totals.research_{{ channel }}, 0) as research_{{ channel }},
        {%- endfor %}
        coalesce(purchase_totals.purchases, 0) as purchases,
        coalesce(purchase_totals.revenue, 0) as revenue,
        {%- for channel in buy_channels %}
            coalesce(purchase_totals.purchases_{{ channel }}, 0) as purchases_{{ channel }},
            coalesce(purchase_totals.revenue_{{ channel }}, 0) as revenue_{{ channel }},
        {%- endfor %}
        coalesce(purchase_totals.store_purchases_after_web_research, 0) as store_purchases_after_web_research,
        coalesce(response_totals.responses, 0) as responses,
        {%- for channel in response_channels %}
            coalesce(response_totals.responses_{{ channel }}, 0) as responses_{{ channel }},
        {%- endfor %}
        preferred.preferred_research_channel,
        preferred.preferred_buy_channel,
        preferred.preferred_response_channel,
        research_totals.last_research_at,
        purchase_totals.last_purchase_at,
        response_totals.last_response_at
    from pairs
    left join research_totals
        on pairs.customer_key = research_totals.customer_key and pairs.product_line = research_totals.product_line
    left join purchase_totals
        on pairs.customer_key = purchase_totals.customer_key and pairs.product_line = purchase_totals.product_line
    left join response_totals
        on pairs.customer_key = response_totals.customer_key and pairs.product_line = response_totals.product_line
    left join preferred
        on pairs.customer_key = preferred.customer_key and pairs.product_line = preferred.product_line
),

shares as (
    select
        combined.*,
        combined.store_purchases_after_web_research * 1.0 / nullif(combined.purchases_store, 0) as robo_share
    from combined
)

select
    customer_key,
    product_line,
    cast(research_touchpoints as {{ dbt.type_bigint() }}) as research_touchpoints,
    {%- for channel in research_channels %}
        cast(research_{{ channel }} as {{ dbt.type_bigint() }}) as research_{{ channel }},
    {%- endfor %}
    cast(
        research_touchpoints - ({{ 'research_' ~ research_channels | join(' + research_') }})
        as {{ dbt.type_bigint() }}
    ) as research_other,
    preferred_research_channel,
    cast(purchases as {{ dbt.type_bigint() }}) as purchases,
    {%- for channel in buy_channels %}
        cast(purchases_{{ channel }} as {{ dbt.type_bigint() }}) as purchases_{{ channel }},
    {%- endfor %}
    revenue,
    {%- for channel in buy_channels %}
        revenue_{{ channel }},
    {%- endfor %}
    preferred_buy_channel,
    cast(responses as {{ dbt.type_bigint() }}) as responses,
    {%- for channel in response_channels %}
        cast(responses_{{ channel }} as {{ dbt.type_bigint() }}) as responses_{{ channel }},
    {%- endfor %}
    cast(
        responses - ({{ 'responses_' ~ response_channels | join(' + responses_') }})
        as {{ dbt.type_bigint() }}
    ) as responses_other,
    preferred_response_channel,
    cast(store_purchases_after_web_research as {{ dbt.type_bigint() }}) as store_purchases_after_web_research,
    robo_share,
    coalesce(robo_share >= {{ marts['robo_min_share'] }}, false) as is_research_online_buy_offline,
    last_research_at,
    last_purchase_at,
    last_response_at
from shares
