with source as (

    select * from {{ source('loyalty', 'members') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('member_id') }} as member_id,
        -- strings
        {{ clean_name('first_name') }} as first_name,
        {{ clean_name('last_name') }} as last_name,
        {{ normalize_email('email') }} as email,
        email as email_raw,
        {{ normalize_phone('phone') }} as phone,
        {{ normalize_postcode('postcode') }} as postcode,
        {{ postcode4('postcode') }} as postcode4,
        {{ house_number_suffix('house_number') }} as house_number_suffix,
        {{ clean_code('tier') }} as tier,
        -- numerics
        {{ house_number('house_number') }} as house_number,
        -- booleans
        {{ is_valid_email(normalize_email('email')) }} as is_valid_email,
        -- dates and timestamps
        {{ parse_date('birth_date') }} as birth_date,
        birth_date as birth_date_raw,
        {{ parse_timestamp('enrolled_at', 'loyalty') }} as enrolled_at,
        enrolled_at as enrolled_at_raw,
        {{ parse_timestamp('updated_at', 'loyalty') }} as updated_at,
        updated_at as updated_at_raw,
        -- lineage
        _batch_id,
        _loaded_at as loaded_at,
        _source_row
    from source

),

deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='member_id',
        order_by='updated_at desc nulls last, loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where member_id is not null
