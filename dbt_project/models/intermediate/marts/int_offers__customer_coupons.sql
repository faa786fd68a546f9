-- One row per loyalty coupon (grain: coupon_code) with the customer it belongs to: the customer of
-- the coupon's loyalty member; for a coupon without a known member (online coupons often carry
-- none), the customer of the campaign contact that handed it out (the exposure carrying the code).
-- The member wins when both are known and differ: the membership is stated, the contact observed.

with

coupons as (
    select
        coupon_code,
        member_id,
        campaign_id,
        issued_channel,
        redeemed_channel,
        discount_pct,
        discount_amount,
        issued_at,
        valid_until,
        redeemed_at
    from {{ ref('stg_loyalty__coupons') }}
),

identity_map as (
    select
        source_system,
        source_table,
        source_record_id,
        customer_key
    from {{ ref('customer_identity_map') }}
    where
        customer_key is not null
        and (
            (source_system = 'loyalty' and source_table = 'members')
            or (source_system = 'campaigns' and source_table = 'exposures')
        )
),

member_keys as (
    select
        source_record_id as member_id,
        customer_key
    from identity_map
    where source_system = 'loyalty'
),

recipient_rows as (
    select
        exposures.coupon_code,
        exposures.exposure_id,
        exposures.exposed_at,
        identity_map.customer_key
    from {{ ref('stg_campaigns__exposures') }} as exposures
    inner join identity_map
        on
            identity_map.source_system = 'campaigns'
            and exposures.exposure_id = identity_map.source_record_id
    where exposures.coupon_code is not null
),

-- a code is handed out once; should a source repeat it, the first contact counts
recipient_keys as (
    {{ deduplicate('recipient_rows', partition_by='coupon_code', order_by='exposed_at, exposure_id') }}
)

select
    coupons.coupon_code,
    coalesce(member_keys.customer_key, recipient_keys.customer_key) as customer_key,
    case
        when member_keys.customer_key is not null then 'loyalty_member'
        when recipient_keys.customer_key is not null then 'campaign_contact'
    end as owner_source,
    coupons.member_id,
    coupons.campaign_id,
    coupons.issued_channel,
    coupons.redeemed_channel,
    coupons.discount_pct,
    coupons.discount_amount,
    coupons.issued_at,
    coupons.valid_until,
    coupons.redeemed_at,
    coalesce(
        member_keys.customer_key is not null
        and recipient_keys.customer_key is not null
        and member_keys.customer_key <> recipient_keys.customer_key,
        false
    ) as has_owner_conflict
from coupons
left join member_keys
    on coupons.member_id = member_keys.member_id
left join recipient_keys
    on coupons.coupon_code = recipient_keys.coupon_code
