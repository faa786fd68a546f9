with source as (

    select * from {{ source('loyalty', 'coupons') }}

),

renamed as (

    select
        -- ids
        {{ clean_text('coupon_code') }} as coupon_code,
        {{ clean_text('member_id') }} as member_id,
        {{ clean_text('campaign_id') }} as campaign_id,
        -- strings
        {{ clean_code('issued_channel') }} as issued_channel,
        {{ clean_code('redeemed_channel') }} as redeemed_channel,
        -- numerics
        {{ parse_decimal('discount_pct') }} as discount_pct,
        {{ parse_decimal('discount_amount') }} as discount_amount,
        discount_amount as discount_amount_raw,
        -- dates and timestamps
        {{ parse_timestamp('issued_at', 'loyalty') }} as issued_at,
        issued_at as issued_at_raw,
        {{ parse_date('valid_until') }} as valid_until,
        valid_until as valid_until_raw,
        {{ parse_timestamp('redeemed_at', 'loyalty') }} as redeemed_at,
        redeemed_at as redeemed_at_raw,
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
        partition_by='coupon_code',
        order_by='updated_at desc nulls last, loaded_at desc, _source_row desc nulls last'
    ) }}

)

select * from deduplicated
where coupon_code is not null
