with source as (

    select * from {{ source('email', 'events') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('email_event_id') }} as email_event_id,
        {{ clean_text('send_id') }} as send_id,
        {{ clean_text('content_id') }} as content_id,
        -- strings
        {{ normalize_email('email') }} as email,
        email as email_raw,
        {{ clean_code('event_type') }} as event_type,
        {{ clean_text('url') }} as url,
        -- booleans
        {{ is_valid_email(normalize_email('email')) }} as is_valid_email,
        -- dates and timestamps
        {{ parse_timestamp('event_ts', 'email') }} as event_at,
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
        partition_by='email_event_id',
        order_by='loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where email_event_id is not null
