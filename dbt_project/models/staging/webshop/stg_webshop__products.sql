with source as (

    select * from {{ source('webshop', 'products') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('product_id') }} as product_id,
        {{ clean_text('sku') }} as sku,
        -- strings
        {{ clean_name('product_name') }} as product_name,
        {{ clean_text('product_line') }} as product_line,
        {{ clean_name('category') }} as category,
        -- numerics
        {{ parse_decimal('unit_price') }} as unit_price,
        unit_price as unit_price_raw,
        {{ parse_decimal('unit_cost') }} as unit_cost,
        unit_cost as unit_cost_raw,
        -- booleans
        {{ parse_boolean('is_active') }} as is_active,
        -- dates and timestamps
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
        partition_by='product_id',
        order_by='updated_at desc nulls last, loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where product_id is not null
