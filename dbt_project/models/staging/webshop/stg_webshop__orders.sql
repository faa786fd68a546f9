with source as (

    select * from {{ source('webshop', 'orders') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('order_id') }} as order_id,
        {{ clean_text('account_id') }} as account_id,
        {{ clean_text('coupon_code') }} as coupon_code,
        -- strings
        {{ normalize_email('guest_email') }} as guest_email,
        guest_email as guest_email_raw,
        {{ clean_code('status') }} as status,
        {{ normalize_postcode('shipping_postcode') }} as shipping_postcode,
        {{ postcode4('shipping_postcode') }} as shipping_postcode4,
        {{ house_number_suffix('shipping_house_number') }} as shipping_house_number_suffix,
        {{ clean_text('currency') }} as currency,
        -- numerics
        {{ house_number('shipping_house_number') }} as shipping_house_number,
        {{ parse_decimal('subtotal_amount') }} as subtotal_amount,
        subtotal_amount as subtotal_amount_raw,
        {{ parse_decimal('discount_amount') }} as discount_amount,
        discount_amount as discount_amount_raw,
        {{ parse_decimal('shipping_amount') }} as shipping_amount,
        shipping_amount as shipping_amount_raw,
        {{ parse_decimal('total_amount') }} as total_amount,
        total_amount as total_amount_raw,
        -- booleans
        {{ is_valid_email(normalize_email('guest_email')) }} as is_valid_guest_email,
        -- dates and timestamps
        {{ parse_timestamp('ordered_at', 'webshop') }} as ordered_at,
        ordered_at as ordered_at_raw,
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
        partition_by='order_id',
        order_by='updated_at desc nulls last, loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where order_id is not null
