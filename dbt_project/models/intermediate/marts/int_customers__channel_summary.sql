-- One row per customer with channel preferences (grain: customer_key): over all product lines, where
-- the customer researches, buys and responds most, and the lines they research online and buy in a
-- store. Read by customer_360 and by the next best action of the ML stage.

with

channel_lines as (
    select
        customer_key,
        product_line,
        research_touchpoints,
        preferred_research_channel,
        purchases,
        purchases_online,
        purchases_store,
        responses,
        preferred_response_channel,
        is_research_online_buy_offline,
        row_number() over (
            partition by customer_key order by research_touchpoints desc, product_line asc
        ) as research_rank,
        row_number() over (
            partition by customer_key order by responses desc, product_line asc
        ) as response_rank
    from {{ ref('customer_channel_preference') }}
)

select
    customer_key,
    count(*) as active_product_lines,
    max(case when research_rank = 1 and research_touchpoints > 0 then preferred_research_channel end)
        as preferred_research_channel,
    case
        when sum(purchases_online) > sum(purchases_store) then 'online'
        when sum(purchases_store) > sum(purchases_online) then 'store'
        when sum(purchases) > 0 then 'both'
    end as preferred_buy_channel,
    max(case when response_rank = 1 and responses > 0 then preferred_response_channel end)
        as preferred_response_channel,
    {{ sorted_list("case when is_research_online_buy_offline then product_line end", ', ') }}
        as research_online_buy_offline_lines
from channel_lines
group by customer_key
