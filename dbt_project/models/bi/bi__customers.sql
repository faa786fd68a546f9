-- One row per customer (grain: customer_key): dim_customer without direct identifiers, for BI tools.
-- Columns are listed, never `select *`: a column added to dim_customer stays out of bi until chosen
-- here. Dropped: names, email, phone, street, house number and every `*_source` (source record ids).
-- Coarsened: the birth date to its year and an age band, the postcode to its four digits. Ages are
-- counted on the day the marts describe when the `as_of_date` var sets one, else on the run's
-- date. The full profile is restricted.dim_customer (docs/serving.md).

{%- set as_of_date = var('as_of_date', none) or run_started_at.strftime("%Y-%m-%d") %}
{%- set as_of = "cast('" ~ as_of_date ~ "' as date)" %}

with

customers as (
    select * from {{ ref('dim_customer') }}
),

aged as (
    select
        customers.*,
        extract(year from {{ as_of }}) - extract(year from customers.birth_date)
        - case
            when
                extract(month from customers.birth_date) * 100 + extract(day from customers.birth_date)
                > extract(month from {{ as_of }}) * 100 + extract(day from {{ as_of }})
                then 1
            else 0
        end as age_in_years
    from customers
),

pseudonymized as (
    select
        -- ids
        customer_key,

        -- strings
        gender,
        case
            when age_in_years is null then null
            when age_in_years < 18 then 'under 18'
            when age_in_years < 25 then '18-24'
            when age_in_years < 35 then '25-34'
            when age_in_years < 45 then '35-44'
            when age_in_years < 55 then '45-54'
            when age_in_years < 65 then '55-64'
            when age_in_years < 75 then '65-74'
            else '75+'
        end as age_band,
        substring(postcode, 1, 4) as postcode4,
        city,
        source_systems,

        -- numerics
        cast(extract(year from birth_date) as {{ dbt.type_int() }}) as birth_year,
        records_total,
        crm_records,
        webshop_accounts,
        webshop_orders,
        loyalty_members,
        loyalty_cards,
        pos_receipts,
        web_events,
        email_subscriptions,
        email_sends,
        email_events,
        service_contacts,
        social_interactions,
        campaign_exposures,
        campaign_responses,

        -- booleans
        is_known,
        email is not null as has_email,
        is_email_verified,
        phone is not null as has_phone,
        has_email_consent,
        has_sms_consent,
        has_phone_consent,
        has_post_consent,
        has_social_consent,

        -- timestamps
        first_seen_at,
        last_seen_at
    from aged
)

select * from pseudonymized
