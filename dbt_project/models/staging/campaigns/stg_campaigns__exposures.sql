with source as (

    select * from {{ source('campaigns', 'exposures') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('exposure_id') }} as exposure_id,
        {{ clean_text('campaign_id') }} as campaign_id,
        {{ clean_text('recipient_id') }} as recipient_id,
        {{ clean_text('coupon_code') }} as coupon_code,
        -- strings
        {{ clean_code('channel') }} as channel,
        {{ clean_code('recipient_type') }} as recipient_type,
        -- booleans
        {{ parse_boolean('is_control') }} as is_control,
        -- dates and timestamps
        {{ parse_timestamp('exposed_at', 'campaigns') }} as exposed_at,
        exposed_at as exposed_at_raw,
        -- lineage
        _batch_id,
        _loaded_at as loaded_at,
        _source_row
    from source

),

deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='exposure_id',
        order_by='loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where exposure_id is not null
