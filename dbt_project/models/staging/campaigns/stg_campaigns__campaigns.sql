with source as (

    select * from {{ source('campaigns', 'campaigns') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('campaign_id') }} as campaign_id,
        -- strings
        {{ clean_name('campaign_name') }} as campaign_name,
        {{ clean_code('campaign_type') }} as campaign_type,
        {{ clean_code('channel') }} as channel,
        {{ clean_text('product_line') }} as product_line,
        -- numerics
        {{ parse_decimal('cost') }} as cost,
        cost as cost_raw,
        {{ parse_decimal('cost_per_contact') }} as cost_per_contact,
        cost_per_contact as cost_per_contact_raw,
        {{ parse_decimal('control_share') }} as control_share,
        -- dates and timestamps
        {{ parse_date('start_date') }} as start_date,
        start_date as start_date_raw,
        {{ parse_date('end_date') }} as end_date,
        end_date as end_date_raw,
        -- lineage
        _batch_id,
        _loaded_at as loaded_at,
        _source_row
    from source

),

deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='campaign_id',
        order_by='loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where campaign_id is not null
