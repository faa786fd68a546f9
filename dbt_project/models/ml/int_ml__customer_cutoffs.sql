-- One row per customer and cutoff date (grain: customer_key x cutoff_date): every customer of
-- dim_customer first seen on or before the cutoff, at every cutoff of int_ml__cutoffs. The population
-- of the point-in-time features and labels.

select
    customers.customer_key,
    cutoffs.cutoff_date,
    cutoffs.is_scoring_cutoff,
    cast(customers.first_seen_at as date) as first_seen_date
from {{ ref('dim_customer') }} as customers
inner join {{ ref('int_ml__cutoffs') }} as cutoffs
    on cast(customers.first_seen_at as date) <= cutoffs.cutoff_date
