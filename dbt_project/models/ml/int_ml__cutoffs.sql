-- One row per cutoff date (grain: cutoff_date) of the point-in-time features and labels. The cutoff is
-- the last day whose data may enter the features (inclusive); labels come from the days after it.
-- The scoring cutoff is the marts' as-of date; training cutoffs step back `ml.cutoff_spacing_days` at a
-- time, `ml.training_cutoffs` of them, none earlier than `ml.min_history_days` after the first day with
-- data (orders or touchpoints). A label window is complete when it ends on or before the as-of date.

{%- set ml = var('ml') %}
{%- set label_windows = [30, 90, 180, 365] %}

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
)

select
    cutoff_date,
    cutoff_index,
    cutoff_index = 0 as is_scoring_cutoff,
    as_of_date,
    {%- for window in label_windows %}
        {{ dbt.dateadd('day', window, 'cutoff_date') }} <= as_of_date as is_{{ window }}d_window_complete,
    {%- endfor %}
    {{ dbt.datediff('first_data_date', 'cutoff_date', 'day') }} as history_days
from cutoffs
where
    cutoff_index = 0
    or cutoff_date >= {{ dbt.dateadd('day', ml['min_history_days'], 'first_data_date') }}
