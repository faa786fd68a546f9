with source as (

    select * from {{ source('crm', 'customers') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('customer_id') }} as customer_id,
        {{ clean_text('social_handle') }} as social_handle,
        -- strings
        {{ clean_name('first_name') }} as first_name,
        {{ clean_name('infix') }} as infix,
        {{ clean_name('last_name') }} as last_name,
        {{ clean_code('gender') }} as gender,
        {{ normalize_email('email') }} as email,
        email as email_raw,
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
        {{ parse_boolean('consent_email') }} as has_email_consent,
        {{ parse_boolean('consent_sms') }} as has_sms_consent,
        {{ parse_boolean('consent_phone') }} as has_phone_consent,
        {{ parse_boolean('consent_post') }} as has_post_consent,
        {{ parse_boolean('consent_social') }} as has_social_consent,
        -- dates and timestamps
        {{ parse_date('birth_date') }} as birth_date,
        birth_date as birth_date_raw,
        {{ parse_timestamp('consent_updated_at', 'crm') }} as consent_updated_at,
        consent_updated_at as consent_updated_at_raw,
        {{ parse_timestamp('created_at', 'crm') }} as created_at,
        created_at as created_at_raw,
        {{ parse_timestamp('updated_at', 'crm') }} as updated_at,
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
        partition_by='customer_id',
        order_by='updated_at desc nulls last, loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where customer_id is not null
