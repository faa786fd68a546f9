with source as (

    select * from {{ source('pos', 'receipt_lines') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('receipt_id') }} as receipt_id,
        {{ clean_text('product_id') }} as product_id,
        -- numerics
        {{ parse_integer('line_number') }} as line_number,
        {{ parse_integer('quantity') }} as quantity,
        {{ parse_decimal('unit_price') }} as unit_price,
        unit_price as unit_price_raw,
        {{ parse_decimal('discount_amount') }} as discount_amount,
        discount_amount as discount_amount_raw,
        {{ parse_decimal('line_amount') }} as line_amount,
        line_amount as line_amount_raw,
        -- lineage
        _batch_id,
        _loaded_at as loaded_at,
        _source_row
    from source

),

deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='receipt_id, line_number',
        order_by='loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where receipt_id is not null and line_number is not null
