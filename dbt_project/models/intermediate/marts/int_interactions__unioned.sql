-- Every touchpoint of every source in one shape (grain: interaction_key), before identity and points.
-- `interaction_type` is the vocabulary of seeds/engagement_points.csv; `anonymous_id` is what the
-- source knows the person by when no customer is attached (a cookie, an email address, a card).

with

web_events as (
    select
        event_id,
        cookie_id,
        session_id,
        content_id,
        event_type,
        product_line,
        device_type,
        event_at,
        -- the page without the site and the query string: `/kids/speelgoed`, `/` for the home page
        coalesce(
            nullif({{ regex_replace_all(regex_replace_all('page_url', '^[a-zA-Z]+://[^/]+', ''), '[?#].*$', '') }}, ''),
            '/'
        ) as page_path
    from {{ ref('stg_web__events') }}
),

web as (
    select
        'web' as source_system,
        'events' as source_table,
        event_id as source_record_id,
        {{ dbt.concat(["'cookie:'", 'cookie_id']) }} as anonymous_id,
        event_at as interaction_at,
        case event_type
            when 'webinar_registration' then 'webinar'
            when 'appointment_booked' then 'appointment'
            when 'page_view' then 'page_view'
            when 'product_view' then 'product_view'
            when 'search' then 'search'
            when 'add_to_cart' then 'add_to_cart'
            when 'whitepaper_download' then 'whitepaper_download'
            when 'expert_chat' then 'expert_chat'
            when 'newsletter_signup' then 'newsletter_signup'
            else {{ dbt.concat(["'web_'", 'event_type']) }}
        end as interaction_type,
        'web' as channel,
        device_type as channel_detail,
        case
            when event_type in ('product_view', 'add_to_cart') and content_id is not null
                then {{ dbt.concat(["'product:'", 'content_id']) }}
            when event_type = 'whitepaper_download' then {{ dbt.concat(["'whitepaper:'", 'page_path']) }}
            when event_type = 'webinar_registration' then {{ dbt.concat(["'webinar:'", 'page_path']) }}
            when event_type = 'page_view' then {{ dbt.concat(["'page:'", 'page_path']) }}
        end as content_id,
        product_line,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        session_id,
        cast(null as {{ dbt.type_numeric() }}) as cost
    from web_events
),

email_sends as (
    select
        'email' as source_system,
        'sends' as source_table,
        send_id as source_record_id,
        {{ dbt.concat(["'email:'", 'email']) }} as anonymous_id,
        sent_at as interaction_at,
        'email_send' as interaction_type,
        'email' as channel,
        mailing_name as channel_detail,
        cast(null as {{ dbt.type_string() }}) as content_id,
        cast(null as {{ dbt.type_string() }}) as product_line,
        campaign_id,
        cast(null as {{ dbt.type_string() }}) as session_id,
        cast(null as {{ dbt.type_numeric() }}) as cost
    from {{ ref('stg_email__sends') }}
),

email_events as (
    select
        'email' as source_system,
        'events' as source_table,
        events.email_event_id as source_record_id,
        {{ dbt.concat(["'email:'", 'events.email']) }} as anonymous_id,
        events.event_at as interaction_at,
        case events.event_type
            when 'open' then 'email_open'
            when 'click' then 'email_click'
            when 'bounce' then 'email_bounce'
            when 'unsubscribe' then 'newsletter_unsubscribe'
            else {{ dbt.concat(["'email_'", 'events.event_type']) }}
        end as interaction_type,
        'email' as channel,
        sends.mailing_name as channel_detail,
        case
            when events.event_type = 'click'
                then {{ dbt.concat([
                    "'email:'", "coalesce(sends.mailing_name, '?')", "'#'", "coalesce(events.content_id, '?')"
                ]) }}
        end as content_id,
        cast(null as {{ dbt.type_string() }}) as product_line,
        sends.campaign_id,
        cast(null as {{ dbt.type_string() }}) as session_id,
        cast(null as {{ dbt.type_numeric() }}) as cost
    from {{ ref('stg_email__events') }} as events
    left join {{ ref('stg_email__sends') }} as sends
        on events.send_id = sends.send_id
),

email_subscriptions as (
    select
        'email' as source_system,
        'subscriptions' as source_table,
        subscription_event_id as source_record_id,
        {{ dbt.concat(["'email:'", 'email']) }} as anonymous_id,
        changed_at as interaction_at,
        case status
            when 'subscribed' then 'newsletter_signup'
            when 'unsubscribed' then 'newsletter_unsubscribe'
            else {{ dbt.concat(["'newsletter_'", 'status']) }}
        end as interaction_type,
        'email' as channel,
        signup_source as channel_detail,
        cast(null as {{ dbt.type_string() }}) as content_id,
        cast(null as {{ dbt.type_string() }}) as product_line,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        cast(null as {{ dbt.type_string() }}) as session_id,
        cast(null as {{ dbt.type_numeric() }}) as cost
    from {{ ref('stg_email__subscriptions') }}
),

service_contacts as (
    select
        'service' as source_system,
        'contacts' as source_table,
        contact_id as source_record_id,
        coalesce(
            {{ dbt.concat(["'email:'", 'email']) }}, {{ dbt.concat(["'phone:'", 'phone']) }}
        ) as anonymous_id,
        contact_at as interaction_at,
        'service_contact' as interaction_type,
        'service' as channel,
        {{ dbt.concat(['channel', "':'", "coalesce(topic, '?')"]) }} as channel_detail,
        cast(null as {{ dbt.type_string() }}) as content_id,
        product_line,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        cast(null as {{ dbt.type_string() }}) as session_id,
        cost
    from {{ ref('stg_service__contacts') }}
),

loyalty_ledger as (
    select
        'loyalty' as source_system,
        'points_ledger' as source_table,
        entry_id as source_record_id,
        {{ dbt.concat(["'loyalty_member:'", 'member_id']) }} as anonymous_id,
        entry_at as interaction_at,
        case reason
            when 'purchase' then 'loyalty_points_earned'
            when 'promotion' then 'loyalty_promotion'
            when 'redemption' then 'loyalty_redemption'
            when 'correction' then 'loyalty_correction'
            else {{ dbt.concat(["'loyalty_'", 'reason']) }}
        end as interaction_type,
        'loyalty' as channel,
        reason as channel_detail,
        cast(null as {{ dbt.type_string() }}) as content_id,
        cast(null as {{ dbt.type_string() }}) as product_line,
        case when reason = 'promotion' then reference_id end as campaign_id,
        cast(null as {{ dbt.type_string() }}) as session_id,
        cast(null as {{ dbt.type_numeric() }}) as cost
    from {{ ref('stg_loyalty__points_ledger') }}
),

coupons as (
    select
        'loyalty' as source_system,
        'coupons' as source_table,
        {{ dbt.concat(['coupon_code', "':issued'"]) }} as source_record_id,
        {{ dbt.concat(["'loyalty_member:'", 'member_id']) }} as anonymous_id,
        issued_at as interaction_at,
        'coupon_issued' as interaction_type,
        'loyalty' as channel,
        issued_channel as channel_detail,
        cast(null as {{ dbt.type_string() }}) as content_id,
        cast(null as {{ dbt.type_string() }}) as product_line,
        campaign_id,
        cast(null as {{ dbt.type_string() }}) as session_id,
        cast(null as {{ dbt.type_numeric() }}) as cost
    from {{ ref('stg_loyalty__coupons') }}
    where issued_at is not null
    union all
    select
        'loyalty' as source_system,
        'coupons' as source_table,
        {{ dbt.concat(['coupon_code', "':redeemed'"]) }} as source_record_id,
        {{ dbt.concat(["'loyalty_member:'", 'member_id']) }} as anonymous_id,
        redeemed_at as interaction_at,
        'coupon_redeemed' as interaction_type,
        'loyalty' as channel,
        redeemed_channel as channel_detail,
        cast(null as {{ dbt.type_string() }}) as content_id,
        cast(null as {{ dbt.type_string() }}) as product_line,
        campaign_id,
        cast(null as {{ dbt.type_string() }}) as session_id,
        discount_amount as cost
    from {{ ref('stg_loyalty__coupons') }}
    where redeemed_at is not null
),

campaign_contacts as (
    select
        exposures.exposure_id,
        exposures.campaign_id,
        exposures.recipient_type,
        exposures.recipient_id,
        exposures.channel,
        exposures.exposed_at,
        campaigns.product_line
    from {{ ref('stg_campaigns__exposures') }} as exposures
    left join {{ ref('stg_campaigns__campaigns') }} as campaigns
        on exposures.campaign_id = campaigns.campaign_id
    -- the control group is held out: it received nothing, so it had no touchpoint
    where not coalesce(exposures.is_control, false)
),

campaign_exposures as (
    select
        'campaigns' as source_system,
        'exposures' as source_table,
        exposure_id as source_record_id,
        {{ dbt.concat(['recipient_type', "':'", 'recipient_id']) }} as anonymous_id,
        exposed_at as interaction_at,
        'campaign_exposure' as interaction_type,
        channel,
        campaign_id as channel_detail,
        cast(null as {{ dbt.type_string() }}) as content_id,
        product_line,
        campaign_id,
        cast(null as {{ dbt.type_string() }}) as session_id,
        cast(null as {{ dbt.type_numeric() }}) as cost
    from campaign_contacts
),

campaign_responses as (
    select
        'campaigns' as source_system,
        'responses' as source_table,
        responses.response_id as source_record_id,
        {{ dbt.concat(['responses.recipient_type', "':'", 'responses.recipient_id']) }} as anonymous_id,
        responses.responded_at as interaction_at,
        {{ dbt.concat(["'campaign_'", 'responses.response_type']) }} as interaction_type,
        contacts.channel,
        responses.campaign_id as channel_detail,
        cast(null as {{ dbt.type_string() }}) as content_id,
        contacts.product_line,
        responses.campaign_id,
        cast(null as {{ dbt.type_string() }}) as session_id,
        cast(null as {{ dbt.type_numeric() }}) as cost
    from {{ ref('stg_campaigns__responses') }} as responses
    -- responses of the treated only: a control member's purchase is measured in the campaign
    -- marts, but it was no response to a touchpoint
    inner join (
        select distinct
            campaign_id,
            recipient_type,
            recipient_id,
            channel,
            product_line
        from campaign_contacts
    ) as contacts
        on
            responses.campaign_id = contacts.campaign_id
            and responses.recipient_type = contacts.recipient_type
            and responses.recipient_id = contacts.recipient_id
),

social as (
    select
        'social' as source_system,
        'interactions' as source_table,
        interaction_id as source_record_id,
        {{ dbt.concat(["'social_handle:'", 'handle']) }} as anonymous_id,
        interaction_at,
        {{ dbt.concat(["'social_'", 'interaction_type']) }} as interaction_type,
        'social' as channel,
        platform as channel_detail,
        {{ dbt.concat(["'social:'", 'post_id']) }} as content_id,
        product_line,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        cast(null as {{ dbt.type_string() }}) as session_id,
        cast(null as {{ dbt.type_numeric() }}) as cost
    from {{ ref('stg_social__interactions') }}
),

purchases as (
    select
        source_system,
        source_table,
        order_id as source_record_id,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        ordered_at as interaction_at,
        'purchase' as interaction_type,
        sales_channel as channel,
        store_id as channel_detail,
        cast(null as {{ dbt.type_string() }}) as content_id,
        main_product_line as product_line,
        cast(null as {{ dbt.type_string() }}) as campaign_id,
        cast(null as {{ dbt.type_string() }}) as session_id,
        cast(null as {{ dbt.type_numeric() }}) as cost
    from {{ ref('fct_orders') }}
    where is_revenue
),

unioned as (
    select * from web
    union all
    select * from email_sends
    union all
    select * from email_events
    union all
    select * from email_subscriptions
    union all
    select * from service_contacts
    union all
    select * from loyalty_ledger
    union all
    select * from coupons
    union all
    select * from campaign_exposures
    union all
    select * from campaign_responses
    union all
    select * from social
    union all
    select * from purchases
)

select
    {{ dbt.concat(['source_system', "':'", 'source_table', "':'", 'source_record_id']) }} as interaction_key,
    *
from unioned
where interaction_at is not null and {{ on_or_before_as_of('interaction_at') }}
