with source as (

    select * from {{ source('loyalty', 'cards') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('card_number') }} as card_number,
        {{ clean_text('member_id') }} as member_id,
        -- strings
        {{ clean_code('status') }} as status,
        -- dates and timestamps
        {{ parse_timestamp('issued_at', 'loyalty') }} as issued_at,
        issued_at as issued_at_raw,
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
        partition_by='card_number',
        order_by='updated_at desc nulls last, loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where card_number is not null
