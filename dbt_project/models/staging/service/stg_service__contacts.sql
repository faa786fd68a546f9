with source as (

    select * from {{ source('service', 'contacts') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('contact_id') }} as contact_id,
        -- strings
        {{ clean_code('channel') }} as channel,
        {{ normalize_email('email') }} as email,
        email as email_raw,
        {{ normalize_phone('phone') }} as phone,
        {{ clean_name('topic') }} as topic,
        {{ clean_text('product_line') }} as product_line,
        -- numerics
        {{ parse_decimal('handling_minutes') }} as handling_minutes,
        {{ parse_decimal('cost') }} as cost,
        cost as cost_raw,
        {{ parse_integer('satisfaction') }} as satisfaction_score,
        -- booleans
        {{ is_valid_email(normalize_email('email')) }} as is_valid_email,
        {{ parse_boolean('resolved') }} as is_resolved,
        -- dates and timestamps
        {{ parse_timestamp('contact_ts', 'service') }} as contact_at,
        contact_ts as contact_at_raw,
        -- lineage
        _batch_id,
        _loaded_at as loaded_at,
        _source_row
    from source

),

deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='contact_id',
        order_by='loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where contact_id is not null
