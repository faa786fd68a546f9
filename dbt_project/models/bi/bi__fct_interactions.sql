-- fct_interactions for BI tools, without `anonymous_id` (it can hold an email address or phone
-- number of an unattributed person) and `source_record_id`; no direct identifiers.

select
    interaction_key,
    customer_key,
    source_system,
    source_table,
    interaction_type,
    channel,
    channel_detail,
    content_id,
    product_line,
    campaign_id,
    session_id,
    cost,
    engagement_points,
    interaction_at,
    interaction_date
from {{ ref('fct_interactions') }}
