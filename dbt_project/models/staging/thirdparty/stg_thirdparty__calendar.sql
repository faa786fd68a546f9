with source as (

    select * from {{ source('thirdparty', 'calendar') }}

),

renamed as (

    select
        -- strings
        {{ clean_name('event_name') }} as event_name,
        {{ clean_code('event_type') }} as event_type,
        {{ clean_text('region') }} as region,
        -- dates and timestamps
        {{ parse_date('calendar_date') }} as calendar_date,
        calendar_date as calendar_date_raw,
        -- lineage
        _batch_id,
        _loaded_at as loaded_at,
        _source_row
    from source

),

deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='calendar_date, event_name',
        order_by='loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where calendar_date is not null and event_name is not null
