with source as (

    select * from {{ source('webshop', 'order_lines') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('order_line_id') }} as order_line_id,
        {{ clean_text('order_id') }} as order_id,
        {{ clean_text('product_id') }} as product_id,
        -- numerics
        {{ parse_integer('quantity') }} as quantity,
        {{ parse_decimal('unit_price') }} as unit_price,
        unit_price as unit_price_raw,
        {{ parse_decimal('discount_amount') }} as discount_amount,
        discount_amount as discount_amount_raw,
        {{ parse_decimal('line_amount') }} as line_amount,
        line_amount as line_amount_raw,
        -- dates and timestamps
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
        partition_by='order_line_id',
        order_by='updated_at desc nulls last, loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where order_line_id is not null
