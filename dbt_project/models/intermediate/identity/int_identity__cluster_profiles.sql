-- What Splink compares: one row per distinct description of a person (name, birth date, address,
-- email, phone) inside each deterministic cluster. Comparing cluster profiles instead of records
-- leaves out every pair the deterministic step already joined.

with

profile_records as (
    select * from {{ ref('int_identity__profile_records') }}
),

clusters as (
    select * from {{ ref('int_identity__deterministic_clusters') }}
),

identifiers as (
    select
        identifier_id,
        is_excluded
    from {{ ref('int_identity__identifiers') }}
),

described as (
    select distinct
        clusters.cluster_id,
        profile_records.first_name_letters,
        profile_records.first_name_initial,
        profile_records.is_first_name_initials,
        profile_records.surname,
        profile_records.surname_infix,
        profile_records.surname_sound_key,
        profile_records.birth_date,
        profile_records.birth_date_key,
        profile_records.birth_year,
        profile_records.postcode,
        {{ postcode4('profile_records.postcode') }} as postcode4,
        profile_records.house_number,
        profile_records.house_number_suffix,
        -- only identifiers the guards accept: a shared family email is no evidence here either
        case when not email_identifiers.is_excluded then profile_records.email end as email,
        case when not phone_identifiers.is_excluded then profile_records.phone end as phone
    from profile_records
    inner join clusters on profile_records.record_identifier_id = clusters.identifier_id
    left join identifiers as email_identifiers
        on {{ identifier_id('email', 'profile_records.email') }} = email_identifiers.identifier_id
    left join identifiers as phone_identifiers
        on {{ identifier_id('phone', 'profile_records.phone') }} = phone_identifiers.identifier_id
)

select
    {{ dbt.concat(["cluster_id", "'#'", "cast(row_number() over (partition by cluster_id order by "
        ~ "birth_date, first_name_letters, surname, postcode, house_number, house_number_suffix, email, phone"
        ~ ") as " ~ dbt.type_string() ~ ")"]) }} as unique_id,
    *
from described
