-- One row per customer (customer_key with at least one record in customer_identity_map): the golden
-- record. Every attribute survives from one source record by the rules in the model's YAML, and
-- `<attribute>_source` names that record as `<system>.<table>:<record id>`.

{%- set record_tables = [
    ('crm', 'customers', 'crm_records'),
    ('webshop', 'accounts', 'webshop_accounts'),
    ('webshop', 'orders', 'webshop_orders'),
    ('loyalty', 'members', 'loyalty_members'),
    ('loyalty', 'cards', 'loyalty_cards'),
    ('pos', 'receipts', 'pos_receipts'),
    ('web', 'events', 'web_events'),
    ('email', 'subscriptions', 'email_subscriptions'),
    ('email', 'sends', 'email_sends'),
    ('email', 'events', 'email_events'),
    ('service', 'contacts', 'service_contacts'),
    ('social', 'interactions', 'social_interactions'),
    ('campaigns', 'exposures', 'campaign_exposures'),
    ('campaigns', 'responses', 'campaign_responses'),
] %}
{%- set consent_channels = ['email', 'sms', 'phone', 'post', 'social'] %}

with

identity_map as (
    select
        source_system,
        source_table,
        source_record_id,
        customer_key,
        observed_at
    from {{ ref('customer_identity_map') }}
    where customer_key is not null
),

junk_identifiers as (
    select identifier_id
    from {{ ref('int_identity__identifiers') }}
    where exclusion_reason = 'junk_value'
),

profile_records as (
    select
        identity_map.customer_key,
        {{ record_source('records.source_system', 'records.source_table', 'records.source_record_id') }}
            as record_source,
        records.source_system,
        records.source_table,
        records.source_record_id,
        records.first_name,
        coalesce(nullif(records.first_name_letters, ''), lower(records.first_name)) as first_name_key,
        records.is_first_name_initials,
        records.surname_infix,
        records.surname,
        -- the surname without its tussenvoegsels, in the record's own spelling (`Dijk, van` -> `Dijk`)
        case
            when position(records.surname in lower(trim(records.last_name))) > 0
                then substring(
                    trim(records.last_name),
                    position(records.surname in lower(trim(records.last_name))),
                    length(records.surname)
                )
            else records.last_name
        end as last_name,
        records.gender,
        records.birth_date,
        records.email,
        records.is_valid_email,
        records.phone,
        records.street,
        records.house_number,
        records.house_number_suffix,
        records.postcode,
        records.city,
        {%- for channel in consent_channels %}
            records.has_{{ channel }}_consent,
        {%- endfor %}
        records.consent_updated_at,
        coalesce(records.updated_at, records.created_at) as recorded_at
    from {{ ref('int_identity__profile_records') }} as records
    inner join identity_map
        on
            records.source_system = identity_map.source_system
            and records.source_table = identity_map.source_table
            and records.source_record_id = identity_map.source_record_id
),

webshop_orders as (
    select
        order_id,
        account_id,
        guest_email,
        is_valid_guest_email,
        ordered_at
    from {{ ref('stg_webshop__orders') }}
),

email_subscriptions as (
    select
        identity_map.customer_key,
        {{ record_source("'email'", "'subscriptions'", 'subscriptions.subscription_event_id') }} as record_source,
        subscriptions.email,
        subscriptions.is_valid_email,
        subscriptions.status,
        subscriptions.changed_at
    from {{ ref('stg_email__subscriptions') }} as subscriptions
    inner join identity_map
        on
            identity_map.source_system = 'email'
            and identity_map.source_table = 'subscriptions'
            and subscriptions.subscription_event_id = identity_map.source_record_id
),

-- ---- name, gender, birth date: full first names first, well-typed names next, then the most
-- frequent value, then the newest record

first_name_candidates as (
    select
        customer_key,
        first_name,
        record_source,
        recorded_at,
        case when is_first_name_initials then 1 else 0 end as initials_rank,
        case when {{ is_miscased_name('first_name') }} then 1 else 0 end as miscased_rank,
        count(*) over (partition by customer_key, first_name_key) as value_records
    from profile_records
    where first_name is not null
),

first_names as (
    {{ deduplicate('first_name_candidates', 'customer_key',
        'initials_rank, miscased_rank, value_records desc, recorded_at desc nulls last, record_source') }}
),

last_name_candidates as (
    select
        customer_key,
        surname_infix,
        last_name,
        record_source,
        recorded_at,
        case when {{ is_miscased_name('last_name') }} then 1 else 0 end as miscased_rank,
        count(*) over (partition by customer_key, surname, surname_infix) as value_records
    from profile_records
    where surname is not null
),

last_names as (
    {{ deduplicate('last_name_candidates', 'customer_key',
        'miscased_rank, value_records desc, recorded_at desc nulls last, record_source') }}
),

gender_candidates as (
    select
        customer_key,
        gender,
        record_source,
        recorded_at,
        count(*) over (partition by customer_key, gender) as value_records
    from profile_records
    -- only the codes the CRM contract knows; anything else is left out rather than surviving
    where gender in ('m', 'f', 'x')
),

genders as (
    {{ deduplicate('gender_candidates', 'customer_key',
        'value_records desc, recorded_at desc nulls last, record_source') }}
),

birth_date_candidates as (
    select
        customer_key,
        birth_date,
        record_source,
        recorded_at,
        count(*) over (partition by customer_key, birth_date) as value_records
    from profile_records
    where birth_date is not null
),

birth_dates as (
    {{ deduplicate('birth_date_candidates', 'customer_key',
        'value_records desc, recorded_at desc nulls last, record_source') }}
),

-- ---- email: the newest verified address, else the newest valid one

-- Webshop accounts that placed an order or logged in (a web event carries the account).
active_accounts as (
    select account_id from webshop_orders
    where account_id is not null
    union
    select account_id from {{ ref('stg_web__events') }}
    where account_id is not null
),

-- Addresses proven to reach the person: engagement with a mailing, an order, a login.
verified_emails as (
    select email from {{ ref('stg_email__events') }}
    where event_type in ('open', 'click') and email is not null
    union
    select guest_email as email from webshop_orders
    where is_valid_guest_email
    union
    select profile_records.email
    from profile_records
    inner join active_accounts on profile_records.source_record_id = active_accounts.account_id
    where
        profile_records.source_system = 'webshop'
        and profile_records.source_table = 'accounts'
        and profile_records.is_valid_email
),

email_records as (
    select
        customer_key,
        email,
        record_source,
        recorded_at
    from profile_records
    where is_valid_email
    union all
    select
        identity_map.customer_key,
        webshop_orders.guest_email as email,
        {{ record_source("'webshop'", "'orders'", 'webshop_orders.order_id') }} as record_source,
        webshop_orders.ordered_at as recorded_at
    from webshop_orders
    inner join identity_map
        on
            identity_map.source_system = 'webshop'
            and identity_map.source_table = 'orders'
            and webshop_orders.order_id = identity_map.source_record_id
    where webshop_orders.is_valid_guest_email
    union all
    select
        customer_key,
        email,
        record_source,
        changed_at as recorded_at
    from email_subscriptions
    where is_valid_email
),

email_candidates as (
    select
        email_records.customer_key,
        email_records.email,
        email_records.record_source,
        email_records.recorded_at,
        verified_emails.email is not null as is_email_verified,
        case when verified_emails.email is not null then 0 else 1 end as verified_rank
    from email_records
    left join verified_emails on email_records.email = verified_emails.email
    left join junk_identifiers
        on {{ dbt.concat(["'email:'", 'email_records.email']) }} = junk_identifiers.identifier_id
    where junk_identifiers.identifier_id is null
),

emails as (
    {{ deduplicate('email_candidates', 'customer_key',
        'verified_rank, recorded_at desc nulls last, record_source') }}
),

-- ---- phone: the newest valid phone; address: the most complete, then the newest

phone_candidates as (
    select
        profile_records.customer_key,
        profile_records.phone,
        profile_records.record_source,
        profile_records.recorded_at
    from profile_records
    left join junk_identifiers
        on {{ dbt.concat(["'phone:'", 'profile_records.phone']) }} = junk_identifiers.identifier_id
    where
        profile_records.phone is not null
        and junk_identifiers.identifier_id is null
),

phones as (
    {{ deduplicate('phone_candidates', 'customer_key', 'recorded_at desc nulls last, record_source') }}
),

address_candidates as (
    select
        customer_key,
        street,
        house_number,
        house_number_suffix,
        postcode,
        city,
        record_source,
        recorded_at,
        case when postcode is not null then 1 else 0 end
        + case when house_number is not null then 1 else 0 end
        + case when street is not null then 1 else 0 end
        + case when city is not null then 1 else 0 end as filled_parts
    from profile_records
    where postcode is not null or house_number is not null or street is not null or city is not null
),

addresses as (
    {{ deduplicate('address_candidates', 'customer_key',
        'filled_parts desc, recorded_at desc nulls last, record_source') }}
),

-- ---- consent: the newest explicit choice per channel across systems (a tie is a refusal)

consent_choices as (
    {%- for channel in consent_channels %}
        select
            customer_key,
            '{{ channel }}' as channel,
            has_{{ channel }}_consent as has_consent,
            consent_updated_at as chosen_at,
            record_source
        from profile_records
        where has_{{ channel }}_consent is not null
        union all
    {%- endfor %}
    select
        customer_key,
        'email' as channel,
        status = 'subscribed' as has_consent,
        changed_at as chosen_at,
        record_source
    from email_subscriptions
    where status in ('subscribed', 'unsubscribed')
),

consent_ranked as (
    select
        consent_choices.*,
        case when consent_choices.has_consent then 1 else 0 end as consent_rank
    from consent_choices
),

consents as (
    {{ deduplicate('consent_ranked', 'customer_key, channel',
        'chosen_at desc nulls last, consent_rank, record_source') }}
),

-- ---- counts and dates

record_counts as (
    select
        customer_key,
        count(*) as records_total,
        {%- for source_system, source_table, column_name in record_tables %}
            count(case when source_system = '{{ source_system }}' and source_table = '{{ source_table }}' then 1 end)
                as {{ column_name }},
        {%- endfor %}
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at
    from identity_map
    group by customer_key
),

customer_systems as (
    select distinct
        customer_key,
        source_system
    from identity_map
),

system_lists as (
    select
        customer_key,
        {{ sorted_list('source_system', ', ') }} as source_systems
    from customer_systems
    group by customer_key
),

final as (
    select
        record_counts.customer_key,
        record_counts.crm_records + record_counts.webshop_accounts + record_counts.loyalty_members > 0 as is_known,
        first_names.first_name,
        first_names.record_source as first_name_source,
        last_names.surname_infix,
        last_names.last_name,
        last_names.record_source as last_name_source,
        genders.gender,
        genders.record_source as gender_source,
        birth_dates.birth_date,
        birth_dates.record_source as birth_date_source,
        emails.email,
        emails.is_email_verified,
        emails.record_source as email_source,
        phones.phone,
        phones.record_source as phone_source,
        addresses.street,
        addresses.house_number,
        addresses.house_number_suffix,
        addresses.postcode,
        addresses.city,
        addresses.record_source as address_source,
        {%- for channel in consent_channels %}
            {{ channel }}_consent.has_consent as has_{{ channel }}_consent,
            {{ channel }}_consent.chosen_at as {{ channel }}_consent_at,
            {{ channel }}_consent.record_source as {{ channel }}_consent_source,
        {%- endfor %}
        record_counts.records_total,
        {%- for _, _, column_name in record_tables %}
            record_counts.{{ column_name }},
        {%- endfor %}
        system_lists.source_systems,
        record_counts.first_seen_at,
        record_counts.last_seen_at
    from record_counts
    left join first_names on record_counts.customer_key = first_names.customer_key
    left join last_names on record_counts.customer_key = last_names.customer_key
    left join genders on record_counts.customer_key = genders.customer_key
    left join birth_dates on record_counts.customer_key = birth_dates.customer_key
    left join emails on record_counts.customer_key = emails.customer_key
    left join phones on record_counts.customer_key = phones.customer_key
    left join addresses on record_counts.customer_key = addresses.customer_key
    {%- for channel in consent_channels %}
        left join consents as {{ channel }}_consent
            on
                record_counts.customer_key = {{ channel }}_consent.customer_key
                and {{ channel }}_consent.channel = '{{ channel }}'
    {%- endfor %}
    left join system_lists on record_counts.customer_key = system_lists.customer_key
)

select * from final
