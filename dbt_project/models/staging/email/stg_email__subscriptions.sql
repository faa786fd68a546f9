with source as (

    select * from {{ source('email', 'subscriptions') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('subscription_event_id') }} as subscription_event_id,
        -- strings
        {{ normalize_email('email') }} as email,
        email as email_raw,
        {{ clean_name('list_name') }} as list_name,
        {{ clean_code('status') }} as status,
        {{ clean_text('signup_source') }} as signup_source,
        -- booleans
        {{ is_valid_email(normalize_email('email')) }} as is_valid_email,
        -- dates and timestamps
        {{ parse_timestamp('changed_at', 'email') }} as changed_at,
        changed_at as changed_at_raw,
        -- lineage
        _batch_id,
        _loaded_at as loaded_at,
        _source_row
    from source

),

deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='subscription_event_id',
        order_by='loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where subscription_event_id is not null
