with source as (

    select * from {{ source('social', 'interactions') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('interaction_id') }} as interaction_id,
        {{ clean_text('handle') }} as handle,
        {{ clean_text('post_id') }} as post_id,
        -- strings
        {{ clean_code('platform') }} as platform,
        {{ clean_code('interaction_type') }} as interaction_type,
        {{ clean_text('product_line') }} as product_line,
        {{ clean_code('sentiment') }} as sentiment,
        {{ clean_text('message') }} as message,
        -- dates and timestamps
        {{ parse_timestamp('interaction_ts', 'social') }} as interaction_at,
        interaction_ts as interaction_at_raw,
        -- lineage
        _batch_id,
        _loaded_at as loaded_at,
        _source_row
    from source

),

deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='interaction_id',
        order_by='loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where interaction_id is not null
