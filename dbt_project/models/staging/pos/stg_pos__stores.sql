with source as (

    select * from {{ source('pos', 'stores') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('store_id') }} as store_id,
        -- strings
        {{ clean_name('store_name') }} as store_name,
        {{ clean_name('city') }} as city,
        {{ normalize_postcode('postcode') }} as postcode,
        {{ postcode4('postcode') }} as postcode4,
        -- dates and timestamps
        {{ parse_date('opened_on') }} as opened_on,
        opened_on as opened_on_raw,
        -- lineage
        _batch_id,
        _loaded_at as loaded_at,
        _source_row
    from source

),

deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='store_id',
        order_by='loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where store_id is not null
