-- One row per customer-bearing source record: the identifier that places it in the graph
-- (its best-ranked identifier that the guards did not exclude), NULL when all were excluded.

with

record_identifiers as (
    select * from {{ ref('int_identity__record_identifiers') }}
),

identifiers as (
    select
        identifier_id,
        is_excluded
    from {{ ref('int_identity__identifiers') }}
),

ranked as (
    select
        record_identifiers.source_system,
        record_identifiers.source_table,
        record_identifiers.source_record_id,
        record_identifiers.observed_at,
        case when not identifiers.is_excluded then record_identifiers.identifier_id end as usable_identifier_id,
        -- usable identifiers first, then by rank; a record without identifiers keeps its NULL row
        case
            when identifiers.is_excluded then 1000
            when identifiers.identifier_id is null then 2000
            else 0
        end + record_identifiers.identifier_rank as preference
    from record_identifiers
    left join identifiers on record_identifiers.identifier_id = identifiers.identifier_id
),

best as (
    {{ deduplicate('ranked', 'source_system, source_table, source_record_id', 'preference') }}
)

select
    source_system,
    source_table,
    source_record_id,
    usable_identifier_id as graph_identifier_id,
    observed_at
from best
