-- One row per loyalty member with a customer (grain: member_id): the customer the identity map placed
-- the member's record in. Ledger entries, coupons and cards name the member, not the customer.

select
    source_record_id as member_id,
    customer_key
from {{ ref('customer_identity_map') }}
where
    source_system = 'loyalty'
    and source_table = 'members'
    and customer_key is not null
