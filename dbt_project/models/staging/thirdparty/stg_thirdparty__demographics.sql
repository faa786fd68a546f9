with source as (

    select * from {{ source('thirdparty', 'demographics') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('postcode4') }} as postcode4,
        -- strings
        {{ clean_name('municipality') }} as municipality,
        -- numerics
        {{ parse_integer('households') }} as households,
        {{ parse_decimal('avg_household_size') }} as avg_household_size,
        {{ parse_decimal('median_household_income') }} as median_household_income,
        {{ parse_decimal('pct_higher_education') }} as pct_higher_education,
        {{ parse_decimal('avg_house_value') }} as avg_house_value,
        {{ parse_integer('urbanisation') }} as urbanisation,
        {{ parse_integer('reference_year') }} as reference_year,
        -- lineage
        _batch_id,
        _loaded_at as loaded_at,
        _source_row
    from source

),

deduplicated as (

    {{ deduplicate(
        'renamed',
        partition_by='postcode4',
        order_by='loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where postcode4 is not null
