with source as (

    select * from {{ source('campaigns', 'responses') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('response_id') }} as response_id,
        {{ clean_text('campaign_id') }} as campaign_id,
        {{ clean_text('recipient_id') }} as recipient_id,
        {{ clean_text('order_reference') }} as order_reference,
        -- strings
        {{ clean_code('recipient_type') }} as recipient_type,
        {{ clean_code('response_type') }} as response_type,
        -- numerics
        {{ parse_decimal('amount') }} as amount,
        amount as amount_raw,
        -- dates and timestamps
        {{ parse_timestamp('responded_at', 'campaigns') }} as responded_at,
        responded_at as responded_at_raw,
        -- lineage
        _batch_id,
        _loaded_at as loaded_at,
        _source_row
    from source

),

deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='response_id',
        order_by='loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where response_id is not null
