-- One row per customer, training cutoff and product line the customer bought in the 90 days after the
-- cutoff (grain: customer_key x cutoff_date x product_line), for the cutoffs whose 90-day window is
-- complete: purchased_90d = 1. Sparse: a customer of the cutoff without a row did not buy the line
-- (the ML side fills 0); customers first seen after the cutoff have no rows.

with

population as (
    select
        population.customer_key,
        population.cutoff_date
    from {{ ref('int_ml__customer_cutoffs') }} as population
    inner join {{ ref('int_ml__cutoffs') }} as cutoffs
        on population.cutoff_date = cutoffs.cutoff_date
    where
        not cutoffs.is_scoring_cutoff
        and cutoffs.is_90d_window_complete
)

select distinct
    population.customer_key,
    population.cutoff_date,
    lines.product_line,
    cast(1 as {{ dbt.type_int() }}) as purchased_90d
from population
inner join {{ ref('fct_order_lines') }} as lines
    on
        population.customer_key = lines.customer_key
        and population.cutoff_date < lines.order_date
        and lines.order_date <= {{ dbt.dateadd('day', 90, 'population.cutoff_date') }}
where lines.is_revenue and lines.product_line is not null
