-- One row per identifier (`<type>:<value>`) with how often it is seen, the number of distinct people
-- next to it, and whether the over-merge guards exclude it as evidence (`exclusion_reason`).
{%- set config = var('identity') %}

with

record_identifiers as (
    select * from {{ ref('int_identity__record_identifiers') }}
),

profile_records as (
    select * from {{ ref('int_identity__profile_records') }}
),

identifiers as (
    select
        identifier_id,
        identifier_type,
        substring(identifier_id, length(identifier_type) + 2) as identifier_value,
        count(*) as records,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at
    from record_identifiers
    where identifier_id is not null
    group by identifier_id, identifier_type
),

-- Profile records that carry an identifier, or whose own key shares a record with it
-- (a cookie's logged-in webshop accounts, a card's loyalty member).
profile_anchors_in_records as (
    select
        source_system,
        source_table,
        source_record_id,
        identifier_id as profile_identifier_id
    from record_identifiers
    where identifier_type in ('crm_customer_id', 'webshop_account_id', 'loyalty_member_id')
),

profiles_next_to_identifiers as (
    select distinct
        record_identifiers.identifier_id,
        profile_records.record_identifier_id,
        profile_records.birth_date_key,
        profile_records.first_name_initial,
        profile_records.first_name_letters,
        profile_records.is_first_name_initials,
        profile_records.postcode,
        profile_records.house_number,
        profile_records.phone
    from record_identifiers
    inner join profile_anchors_in_records
        on
            record_identifiers.source_system = profile_anchors_in_records.source_system
            and record_identifiers.source_table = profile_anchors_in_records.source_table
            and record_identifiers.source_record_id = profile_anchors_in_records.source_record_id
    inner join profile_records
        on profile_anchors_in_records.profile_identifier_id = profile_records.record_identifier_id
),

people_counts as (
    select
        identifier_id,
        count(distinct record_identifier_id) as profile_records,
        count(distinct birth_date_key) as distinct_birth_dates,
        count(distinct first_name_initial) as distinct_first_initials
    from profiles_next_to_identifiers
    group by identifier_id
),

conflicting_profiles as (
    select distinct l.identifier_id
    from profiles_next_to_identifiers as l
    inner join people_counts
        on
            l.identifier_id = people_counts.identifier_id
            and people_counts.profile_records between 2 and {{ config.max_profiles_checked_pairwise }}
    inner join profiles_next_to_identifiers as r
        on
            l.identifier_id = r.identifier_id
            and l.record_identifier_id < r.record_identifier_id
    where {{ profiles_conflict('l', 'r', config.min_first_name_similarity) }}
),

shared_cards as (
    select distinct {{ identifier_id('loyalty_card', 'card_number') }} as identifier_id
    from {{ ref('stg_loyalty__cards') }}
    where status in ({{ "'" ~ config.shared_card_statuses | join("', '") ~ "'" }})
),

guarded as (
    select
        identifiers.*,
        coalesce(people_counts.profile_records, 0) as profile_records,
        coalesce(people_counts.distinct_birth_dates, 0) as distinct_birth_dates,
        coalesce(people_counts.distinct_first_initials, 0) as distinct_first_initials,
        case
            when people_counts.distinct_birth_dates > people_counts.distinct_first_initials
                then people_counts.distinct_birth_dates
            else coalesce(people_counts.distinct_first_initials, 0)
        end as people,
        case
            when
                identifiers.identifier_type = 'email'
                and (
                    identifiers.identifier_value in ({{ "'" ~ config.junk_emails | join("', '") ~ "'" }})
                    or {{ regex_full_match("split_part(identifiers.identifier_value, '@', 1)",
                        config.junk_email_local_part_pattern) }}
                )
                then 'junk_value'
            when
                identifiers.identifier_type = 'phone'
                and identifiers.identifier_value in ({{ "'" ~ config.junk_phones | join("', '") ~ "'" }})
                then 'junk_value'
            when shared_cards.identifier_id is not null then 'shared_card'
            {%- for identifier_type, max_people in config.max_people_per_identifier.items() %}
                when
                    identifiers.identifier_type = '{{ identifier_type }}'
                    and (
                        people_counts.distinct_birth_dates > {{ max_people }}
                        or (
                            people_counts.profile_records > {{ config.max_profiles_checked_pairwise }}
                            and people_counts.distinct_first_initials > {{ max_people }}
                        )
                        {%- if max_people == 1 %}
                            or conflicting_profiles.identifier_id is not null
                        {%- endif %}
                    )
                    then 'too_many_people'
            {%- endfor %}
        end as exclusion_reason
    from identifiers
    left join people_counts on identifiers.identifier_id = people_counts.identifier_id
    left join shared_cards on identifiers.identifier_id = shared_cards.identifier_id
    left join conflicting_profiles on identifiers.identifier_id = conflicting_profiles.identifier_id
)

select
    *,
    exclusion_reason is not null as is_excluded
from guarded
