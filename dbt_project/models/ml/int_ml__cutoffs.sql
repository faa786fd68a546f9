-- One row per cutoff date (grain: cutoff_date) of the point-in-time features and labels. The cutoff is
-- the last day whose data may enter the features (inclusive); labels come from the days after it.
-- The scoring cutoff is the marts' as-of date; training cutoffs step back `ml.cutoff_spacing_days` at a
-- time, `ml.training_cutoffs` of them, none earlier than `ml.min_history_days` after the first day with
-- data (orders or touchpoints). A label window is complete when it ends on or before the as-of date.
-- The season index tells the models what time of year a cutoff is without naming a calendar: how many
-- revenue orders (all of them, anonymous ones too) the store had in the same window one year earlier,
-- relative to an average window of the 365 days before the cutoff. NULL without a year of orders.

{%- set ml = var('ml') %}
{%- set label_windows = [30, 90, 180, 365] %}
{%- set season_windows = [30, 90] %}

with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

first_data as (
    select min(first_date) as first_data_date
    from (
        select min(order_date) as first_date from {{ ref('fct_orders') }}
        union all
        select min(interaction_date) as first_date from {{ ref('fct_interactions') }}
    ) as firsts
),

steps as (
    {%- for step in range(ml['training_cutoffs'] + 1) %}
        select {{ step }} as cutoff_index
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

cutoffs as (
    select
        steps.cutoff_index,
        as_of.as_of_date,
        first_data.first_data_date,
        cast(
            {{ dbt.dateadd('day', '-' ~ ml['cutoff_spacing_days'] ~ ' * steps.cutoff_index', 'as_of.as_of_date') }}
            as date
        ) as cutoff_date
    from steps
    cross join as_of
    cross join first_data
),

daily_orders as (
    select
        order_date,
        count(*) as orders
    from {{ ref('fct_orders') }}
    where is_revenue
    group by order_date
),

first_order as (
    select min(order_date) as first_order_date from daily_orders
),

season_orders as (
    select
        cutoffs.cutoff_date,
        {%- for window in season_windows %}
            sum(case
                when
                    daily_orders.order_date
                    <= {{ dbt.dateadd('day', window - 365, 'cutoffs.cutoff_date') }} then daily_orders.orders
                else 0
            end) as orders_{{ window }}d_year_before,
        {%- endfor %}
        sum(daily_orders.orders) as orders_365d
    from cutoffs
    inner join daily_orders
        on
            cutoffs.cutoff_date >= daily_orders.order_date
            and {{ dbt.dateadd('day', -365, 'cutoffs.cutoff_date') }} < daily_orders.order_date
    group by cutoffs.cutoff_date
),

seasons as (
    select
        season_orders.cutoff_date,
        {%- for window in season_windows %}
            case
                when first_order.first_order_date <= {{ dbt.dateadd('day', -365, 'season_orders.cutoff_date') }}
                    then
                        season_orders.orders_{{ window }}d_year_before * 365.0
                        / ({{ window }} * season_orders.orders_365d)
            end as season_index_{{ window }}d,
        {%- endfor %}
        first_order.first_order_date
    from season_orders
    cross join first_order
)

select
    cutoffs.cutoff_date,
    cutoffs.cutoff_index,
    cutoffs.cutoff_index = 0 as is_scoring_cutoff,
    cutoffs.as_of_date,
    {%- for window in label_windows %}
        {{ dbt.dateadd('day', window, 'cutoffs.cutoff_date') }} <= cutoffs.as_of_date
            as is_{{ window }}d_window_complete,
    {%- endfor %}
    {{ dbt.datediff('cutoffs.first_data_date', 'cutoffs.cutoff_date', 'day') }} as history_days,
    {%- for window in season_windows %}
        seasons.season_index_{{ window }}d,
    {%- endfor %}
    cutoffs.first_data_date
from cutoffs
left join seasons
    on cutoffs.cutoff_date = seasons.cutoff_date
where
    cutoffs.cutoff_index = 0
    or cutoffs.cutoff_date >= {{ dbt.dateadd('day', ml['min_history_days'], 'cutoffs.first_data_date') }}
