-- One row per customer and cutoff date (grain: customer_key x cutoff_date): every customer of
-- dim_customer that appeared on or before the cutoff, at every cutoff of int_ml__cutoffs. The
-- population of the point-in-time features and labels. A customer appears with their first record: a
-- profile record (CRM customer, webshop account, loyalty member) when it was created, any other
-- record when it was observed. The identity map dates a profile record by its last update, which
-- would move a customer out of the cutoffs before the update.

with

records as (
    select
        identity_map.customer_key,
        case when profiles.source_record_id is not null then 1 else 0 end as is_profile,
        coalesce(profiles.created_at, identity_map.observed_at) as appeared_at
    from {{ ref('customer_identity_map') }} as identity_map
    left join {{ ref('int_identity__profile_records') }} as profiles
        on
            identity_map.source_system = profiles.source_system
            and identity_map.source_table = profiles.source_table
            and identity_map.source_record_id = profiles.source_record_id
    where identity_map.customer_key is not null
),

customers as (
    select
        customer_key,
        cast(min(appeared_at) as date) as first_seen_date,
        cast(min(case when is_profile = 1 then appeared_at end) as date) as first_profile_date
    from records
    group by customer_key
)

select
    customers.customer_key,
    cutoffs.cutoff_date,
    cutoffs.is_scoring_cutoff,
    customers.first_seen_date,
    coalesce(customers.first_profile_date <= cutoffs.cutoff_date, false) as is_known
from customers
inner join {{ ref('int_ml__cutoffs') }} as cutoffs
    on customers.first_seen_date <= cutoffs.cutoff_date
