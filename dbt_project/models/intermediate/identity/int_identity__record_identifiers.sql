-- One row per identifier carried by a customer-bearing source record (rank 1 = the record's own key;
-- a record without any identifier keeps one row with identifier_id NULL).
-- The list of tables and identifiers follows the landing contract's `customer_bearing` tables.

with

crm_customers as (
    {{ record_identifier_rows(ref('stg_crm__customers'), 'crm', 'customers', 'customer_id', 'updated_at', [
        ('crm_customer_id', 'customer_id'),
        ('email', valid_email('email')),
        ('phone', 'phone'),
        ('social_handle', normalize_handle('social_handle')),
    ]) }}
),

webshop_accounts as (
    {{ record_identifier_rows(ref('stg_webshop__accounts'), 'webshop', 'accounts', 'account_id', 'updated_at', [
        ('webshop_account_id', 'account_id'),
        ('crm_customer_id', 'crm_customer_id'),
        ('email', valid_email('email')),
        ('phone', 'phone'),
    ]) }}
),

webshop_orders as (
    {{ record_identifier_rows(ref('stg_webshop__orders'), 'webshop', 'orders', 'order_id', 'ordered_at', [
        ('webshop_account_id', 'account_id'),
        ('email', valid_email('guest_email')),
    ]) }}
),

loyalty_members as (
    {{ record_identifier_rows(ref('stg_loyalty__members'), 'loyalty', 'members', 'member_id', 'updated_at', [
        ('loyalty_member_id', 'member_id'),
        ('email', valid_email('email')),
        ('phone', 'phone'),
    ]) }}
),

loyalty_cards as (
    {{ record_identifier_rows(ref('stg_loyalty__cards'), 'loyalty', 'cards', 'card_number', 'updated_at', [
        ('loyalty_card', 'card_number'),
        ('loyalty_member_id', 'member_id'),
    ]) }}
),

pos_receipts as (
    {{ record_identifier_rows(ref('stg_pos__receipts'), 'pos', 'receipts', 'receipt_id', 'receipt_at', [
        ('loyalty_card', 'loyalty_card_number'),
    ]) }}
),

web_events as (
    {{ record_identifier_rows(ref('stg_web__events'), 'web', 'events', 'event_id', 'event_at', [
        ('cookie', 'cookie_id'),
        ('webshop_account_id', 'account_id'),
    ]) }}
),

email_subscriptions as (
    {{ record_identifier_rows(
        ref('stg_email__subscriptions'), 'email', 'subscriptions', 'subscription_event_id', 'changed_at', [
        ('email', valid_email('email')),
    ]) }}
),

email_sends as (
    {{ record_identifier_rows(ref('stg_email__sends'), 'email', 'sends', 'send_id', 'sent_at', [
        ('email', valid_email('email')),
    ]) }}
),

email_events as (
    {{ record_identifier_rows(ref('stg_email__events'), 'email', 'events', 'email_event_id', 'event_at', [
        ('email', valid_email('email')),
    ]) }}
),

service_contacts as (
    {{ record_identifier_rows(ref('stg_service__contacts'), 'service', 'contacts', 'contact_id', 'contact_at', [
        ('email', valid_email('email')),
        ('phone', 'phone'),
    ]) }}
),

social_interactions as (
    {{ record_identifier_rows(
        ref('stg_social__interactions'), 'social', 'interactions', 'interaction_id', 'interaction_at', [
        ('social_handle', normalize_handle('handle')),
    ]) }}
),

-- Campaign recipients are addressed by the identifier named in recipient_type.
campaign_recipients as (
    select
        'exposures' as source_table,
        exposure_id as source_record_id,
        recipient_type,
        recipient_id,
        exposed_at as observed_at
    from {{ ref('stg_campaigns__exposures') }}
    union all
    select
        'responses' as source_table,
        response_id as source_record_id,
        recipient_type,
        recipient_id,
        responded_at as observed_at
    from {{ ref('stg_campaigns__responses') }}
),

campaign_recipient_identifiers as (
    select
        source_table,
        source_record_id,
        observed_at,
        case recipient_type
            when 'email' then {{ identifier_id('email', valid_email(normalize_email('recipient_id'))) }}
            when 'phone' then {{ identifier_id('phone', normalize_phone('recipient_id')) }}
            when 'cookie_id' then {{ identifier_id('cookie', 'recipient_id') }}
            when 'card_number' then {{ identifier_id('loyalty_card', 'recipient_id') }}
            when 'customer_id' then {{ identifier_id('crm_customer_id', 'recipient_id') }}
            when 'account_id' then {{ identifier_id('webshop_account_id', 'recipient_id') }}
            when 'member_id' then {{ identifier_id('loyalty_member_id', 'recipient_id') }}
        end as identifier_id,
        case recipient_type
            when 'cookie_id' then 'cookie'
            when 'card_number' then 'loyalty_card'
            when 'customer_id' then 'crm_customer_id'
            when 'account_id' then 'webshop_account_id'
            when 'member_id' then 'loyalty_member_id'
            else recipient_type
        end as identifier_type
    from campaign_recipients
),

campaigns as (
    select
        'campaigns' as source_system,
        source_table,
        source_record_id,
        identifier_id,
        identifier_type,
        1 as identifier_rank,
        observed_at
    from campaign_recipient_identifiers
),

unioned as (
    select * from crm_customers
    union all
    select * from webshop_accounts
    union all
    select * from webshop_orders
    union all
    select * from loyalty_members
    union all
    select * from loyalty_cards
    union all
    select * from pos_receipts
    union all
    select * from web_events
    union all
    select * from email_subscriptions
    union all
    select * from email_sends
    union all
    select * from email_events
    union all
    select * from service_contacts
    union all
    select * from social_interactions
    union all
    select * from campaigns
)

select * from unioned
