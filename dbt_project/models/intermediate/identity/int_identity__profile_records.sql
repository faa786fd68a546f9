-- One row per source record in which a person describes themselves (name, birth date, address):
-- CRM customers, webshop accounts, loyalty members. The evidence for junk detection, Splink and the
-- golden record.

with

crm_customers as (
    select
        'crm' as source_system,
        'customers' as source_table,
        customer_id as source_record_id,
        {{ identifier_id('crm_customer_id', 'customer_id') }} as record_identifier_id,
        first_name,
        coalesce(lower(infix), {{ surname_infix('last_name') }}) as surname_infix,
        last_name,
        gender,
        birth_date,
        email,
        is_valid_email,
        phone,
        street,
        house_number,
        house_number_suffix,
        postcode,
        city,
        has_email_consent,
        has_sms_consent,
        has_phone_consent,
        has_post_consent,
        has_social_consent,
        consent_updated_at,
        created_at,
        updated_at
    from {{ ref('stg_crm__customers') }}
),

webshop_accounts as (
    select
        'webshop' as source_system,
        'accounts' as source_table,
        account_id as source_record_id,
        {{ identifier_id('webshop_account_id', 'account_id') }} as record_identifier_id,
        first_name,
        {{ surname_infix('last_name') }} as surname_infix,
        last_name,
        cast(null as {{ dbt.type_string() }}) as gender,
        birth_date,
        email,
        is_valid_email,
        phone,
        street,
        house_number,
        house_number_suffix,
        postcode,
        city,
        has_newsletter_opt_in as has_email_consent,
        cast(null as boolean) as has_sms_consent,
        cast(null as boolean) as has_phone_consent,
        cast(null as boolean) as has_post_consent,
        cast(null as boolean) as has_social_consent,
        updated_at as consent_updated_at,
        created_at,
        updated_at
    from {{ ref('stg_webshop__accounts') }}
),

loyalty_members as (
    select
        'loyalty' as source_system,
        'members' as source_table,
        member_id as source_record_id,
        {{ identifier_id('loyalty_member_id', 'member_id') }} as record_identifier_id,
        first_name,
        {{ surname_infix('last_name') }} as surname_infix,
        last_name,
        cast(null as {{ dbt.type_string() }}) as gender,
        birth_date,
        email,
        is_valid_email,
        phone,
        cast(null as {{ dbt.type_string() }}) as street,
        house_number,
        house_number_suffix,
        postcode,
        cast(null as {{ dbt.type_string() }}) as city,
        cast(null as boolean) as has_email_consent,
        cast(null as boolean) as has_sms_consent,
        cast(null as boolean) as has_phone_consent,
        cast(null as boolean) as has_post_consent,
        cast(null as boolean) as has_social_consent,
        cast(null as {{ dbt.type_timestamp() }}) as consent_updated_at,
        enrolled_at as created_at,
        updated_at
    from {{ ref('stg_loyalty__members') }}
),

unioned as (
    select * from crm_customers
    union all
    select * from webshop_accounts
    union all
    select * from loyalty_members
),

comparable as (
    select
        unioned.*,
        {{ surname_core('last_name') }} as surname,
        {{ dutch_spelling_fold(surname_core('last_name')) }} as surname_spelling_folded,
        {{ name_letters('first_name') }} as first_name_letters,
        {{ first_initial('first_name') }} as first_name_initial,
        -- `E.H.` or `E` carries only initials: it may match any first name with that initial
        coalesce(
            length({{ name_letters('first_name') }}) <= 1
            or {{ regex_full_match('first_name', '([^\\s.]{1}[.] ?)+') }}, false
        ) as is_first_name_initials,
        {{ birth_date_key('birth_date') }} as birth_date_key,
        extract(year from unioned.birth_date) as birth_year
    from unioned
),

keyed as (
    select
        comparable.*,
        {{ collapse_double_letters('surname_spelling_folded') }} as surname_sound_key
    from comparable
)

select * from keyed
