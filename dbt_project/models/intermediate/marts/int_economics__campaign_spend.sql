-- One row per campaign and month in which it spent (grain: campaign_id, spend_month): the campaign's
-- fixed `cost`, apportioned to the months of its treated contacts (the control group received
-- nothing and cost nothing), plus cost_per_contact x the treated contacts of the month. A campaign
-- without contacts spends its fixed cost in the month it starts. Only contacts up to the as-of date.

{%- set acquisition_types = "'" ~ var('marts')['acquisition_campaign_types'] | join("', '") ~ "'" %}
{%- set retention_types = "'" ~ var('marts')['retention_campaign_types'] | join("', '") ~ "'" %}

with

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

campaigns as (
    select
        campaign_id,
        campaign_type,
        channel,
        start_date,
        coalesce(cost, 0) as fixed_cost,
        coalesce(cost_per_contact, 0) as cost_per_contact
    from {{ ref('stg_campaigns__campaigns') }}
),

treated_contacts as (
    select
        exposures.campaign_id,
        cast({{ dbt.date_trunc('month', 'exposures.exposed_at') }} as date) as spend_month,
        count(*) as contacts
    from {{ ref('stg_campaigns__exposures') }} as exposures
    cross join as_of
    where
        not coalesce(exposures.is_control, false)
        and cast(exposures.exposed_at as date) <= as_of.as_of_date
    group by
        exposures.campaign_id,
        cast({{ dbt.date_trunc('month', 'exposures.exposed_at') }} as date)
),

campaign_contacts as (
    select
        campaign_id,
        sum(contacts) as total_contacts
    from treated_contacts
    group by campaign_id
),

months as (
    select
        campaign_id,
        spend_month,
        contacts
    from treated_contacts
    union all
    select
        campaigns.campaign_id,
        cast({{ dbt.date_trunc('month', 'campaigns.start_date') }} as date) as spend_month,
        0 as contacts
    from campaigns
    cross join as_of
    where
        campaigns.start_date <= as_of.as_of_date
        and not exists (
            select 1 from campaign_contacts
            where campaign_contacts.campaign_id = campaigns.campaign_id
        )
),

spend as (
    select
        months.campaign_id,
        campaigns.campaign_type,
        campaigns.channel,
        months.spend_month,
        months.contacts,
        case
            when campaign_contacts.total_contacts is null then campaigns.fixed_cost
            else campaigns.fixed_cost * months.contacts / campaign_contacts.total_contacts
        end as fixed_cost,
        campaigns.cost_per_contact * months.contacts as contact_cost
    from months
    inner join campaigns
        on months.campaign_id = campaigns.campaign_id
    left join campaign_contacts
        on months.campaign_id = campaign_contacts.campaign_id
)

select
    campaign_id,
    campaign_type,
    channel,
    spend_month,
    cast(contacts as {{ dbt.type_bigint() }}) as treated_contacts,
    cast(fixed_cost as {{ dbt.type_numeric() }}) as fixed_cost,
    cast(contact_cost as {{ dbt.type_numeric() }}) as contact_cost,
    cast(fixed_cost + contact_cost as {{ dbt.type_numeric() }}) as spend,
    coalesce(campaign_type in ({{ acquisition_types }}), false) as is_acquisition,
    coalesce(campaign_type in ({{ retention_types }}), false) as is_retention
from spend
