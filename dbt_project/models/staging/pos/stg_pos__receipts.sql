with source as (

    select * from {{ source('pos', 'receipts') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('receipt_id') }} as receipt_id,
        {{ clean_text('store_id') }} as store_id,
        {{ clean_text('register_id') }} as register_id,
        {{ clean_text('loyalty_card_number') }} as loyalty_card_number,
        {{ clean_text('coupon_code') }} as coupon_code,
        -- strings
        {{ clean_code('payment_method') }} as payment_method,
        -- numerics
        {{ parse_decimal('discount_amount') }} as discount_amount,
        discount_amount as discount_amount_raw,
        {{ parse_decimal('total_amount') }} as total_amount,
        total_amount as total_amount_raw,
        -- dates and timestamps
        {{ parse_timestamp('receipt_ts', 'pos') }} as receipt_at,
        receipt_ts as receipt_at_raw,
        -- lineage
        _batch_id,
        _loaded_at as loaded_at,
        _source_row
    from source

),

deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='receipt_id',
        order_by='loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where receipt_id is not null
