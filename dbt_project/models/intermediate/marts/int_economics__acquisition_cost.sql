-- One row per acquiring channel and month with acquisition spend or acquired customers (grain:
-- acquiring_channel, acquisition_month): the spend of acquisition-type campaigns
-- (`acquisition_campaign_types`) of the channel in the month, divided equally over the customers the
-- channel acquired in that month. Spend without customers to carry it is unattributed; customers of
-- a channel-month without spend cost nothing.

with

spend as (
    select
        channel as acquiring_channel,
        spend_month as acquisition_month,
        sum(spend) as spend
    from {{ ref('int_economics__campaign_spend') }}
    where is_acquisition
    group by
        channel,
        spend_month
),

acquired as (
    select
        acquiring_channel,
        acquisition_month,
        count(*) as customers_acquired
    from {{ ref('int_economics__acquisitions') }}
    where is_acquisition
    group by
        acquiring_channel,
        acquisition_month
),

joined as (
    select
        coalesce(spend.acquiring_channel, acquired.acquiring_channel) as acquiring_channel,
        coalesce(spend.acquisition_month, acquired.acquisition_month) as acquisition_month,
        coalesce(spend.spend, 0) as spend,
        coalesce(acquired.customers_acquired, 0) as customers_acquired
    from spend
    full outer join acquired
        on
            spend.acquiring_channel = acquired.acquiring_channel
            and spend.acquisition_month = acquired.acquisition_month
)

select
    acquiring_channel,
    acquisition_month,
    cast(spend as {{ dbt.type_numeric() }}) as spend,
    cast(customers_acquired as {{ dbt.type_bigint() }}) as customers_acquired,
    cast(case when customers_acquired > 0 then spend / customers_acquired else 0 end as {{ dbt.type_numeric() }})
        as cost_per_customer,
    cast(case when customers_acquired > 0 then spend else 0 end as {{ dbt.type_numeric() }}) as attributed_spend,
    cast(case when customers_acquired > 0 then 0 else spend end as {{ dbt.type_numeric() }}) as unattributed_spend
from joined
