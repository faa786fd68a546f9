with source as (

    select * from {{ source('web', 'events') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('event_id') }} as event_id,
        {{ clean_text('cookie_id') }} as cookie_id,
        {{ clean_text('account_id') }} as account_id,
        {{ clean_text('session_id') }} as session_id,
        {{ clean_text('content_id') }} as content_id,
        {{ clean_text('promo_code') }} as promo_code,
        -- strings
        {{ clean_code('event_type') }} as event_type,
        {{ clean_text('page_url') }} as page_url,
        {{ clean_text('product_line') }} as product_line,
        {{ clean_text('search_term') }} as search_term,
        {{ clean_text('utm_source') }} as utm_source,
        {{ clean_text('utm_medium') }} as utm_medium,
        {{ clean_text('utm_campaign') }} as utm_campaign,
        {{ clean_code('device_type') }} as device_type,
        -- dates and timestamps
        {{ parse_timestamp('event_ts', 'web') }} as event_at,
        event_ts as event_at_raw,
        -- lineage
        _batch_id,
        _loaded_at as loaded_at,
        _source_row
    from source

),

deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='event_id',
        order_by='loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where event_id is not null
