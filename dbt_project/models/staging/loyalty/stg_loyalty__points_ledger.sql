with source as (

    select * from {{ source('loyalty', 'points_ledger') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('entry_id') }} as entry_id,
        {{ clean_text('member_id') }} as member_id,
        {{ clean_text('card_number') }} as card_number,
        {{ clean_text('reference_id') }} as reference_id,
        -- strings
        {{ clean_code('reason') }} as reason,
        -- numerics
        {{ parse_integer('points') }} as points,
        -- dates and timestamps
        {{ parse_timestamp('entry_ts', 'loyalty') }} as entry_at,
        entry_ts as entry_at_raw,
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
        partition_by='entry_id',
        order_by='updated_at desc nulls last, loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where entry_id is not null
