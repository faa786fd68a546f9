with source as (

    select * from {{ source('webshop', 'accounts') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('account_id') }} as account_id,
        {{ clean_text('crm_customer_id') }} as crm_customer_id,
        -- strings
        {{ normalize_email('email') }} as email,
        email as email_raw,
        {{ clean_name('first_name') }} as first_name,
        {{ clean_name('last_name') }} as last_name,
        {{ normalize_phone('phone') }} as phone,
        {{ clean_name('street') }} as street,
        {{ house_number_suffix('house_number') }} as house_number_suffix,
        {{ normalize_postcode('postcode') }} as postcode,
        {{ postcode4('postcode') }} as postcode4,
        {{ clean_name('city') }} as city,
        -- numerics
        {{ house_number('house_number') }} as house_number,
        -- booleans
        {{ is_valid_email(normalize_email('email')) }} as is_valid_email,
        {{ parse_boolean('newsletter_opt_in') }} as has_newsletter_opt_in,
        -- dates and timestamps
        {{ parse_date('birth_date') }} as birth_date,
        birth_date as birth_date_raw,
        {{ parse_timestamp('created_at', 'webshop') }} as created_at,
        created_at as created_at_raw,
        {{ parse_timestamp('updated_at', 'webshop') }} as updated_at,
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
        partition_by='account_id',
        order_by='updated_at desc nulls last, loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where account_id is not null
