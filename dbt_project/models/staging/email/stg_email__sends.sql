with source as (

    select * from {{ source('email', 'sends') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('send_id') }} as send_id,
        {{ clean_text('campaign_id') }} as campaign_id,
        -- strings
        {{ normalize_email('email') }} as email,
        email as email_raw,
        {{ clean_name('mailing_name') }} as mailing_name,
        -- booleans
        {{ is_valid_email(normalize_email('email')) }} as is_valid_email,
        -- dates and timestamps
        {{ parse_timestamp('sent_at', 'email') }} as sent_at,
        sent_at as sent_at_raw,
        -- lineage
        _batch_id,
        _loaded_at as loaded_at,
        _source_row
    from source

),

deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='send_id',
        order_by='loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where send_id is not null
