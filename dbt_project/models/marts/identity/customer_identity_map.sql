-- One row per customer-bearing source record with the customer key it belongs to. Grain:
-- source_system + source_table + source_record_id. `customer_key` is NULL when every identifier
-- of the record was excluded as evidence (a junk email, a store's default card) or it carries none
-- (a receipt without a card): such a record cannot be attributed to a person. `match_rule` and
-- `match_score`: the strongest evidence that attaches the record's identifier to its cluster
-- (deterministic rules score 1, Splink its match probability); `single_identifier` when the
-- cluster is that identifier alone.

with

record_keys as (
    select * from {{ ref('int_identity__record_keys') }}
),

customer_keys as (
    select
        identifier_id,
        customer_key
    from {{ ref('int_identity__customer_keys') }}
),

identifiers as (
    select
        identifier_id,
        exclusion_reason
    from {{ ref('int_identity__identifiers') }}
),

record_identifiers as (
    select * from {{ ref('int_identity__record_identifiers') }}
),

edges as (
    select * from {{ ref('int_identity__edges') }}
),

incident_edges as (
    select
        node_a as identifier_id,
        edge_rule,
        match_score,
        edge_kind
    from edges
    union all
    select
        node_b as identifier_id,
        edge_rule,
        match_score,
        edge_kind
    from edges
),

strongest_edges as (
    {{ deduplicate('incident_edges', 'identifier_id',
        "case edge_kind when 'deterministic' then 0 else 1 end, match_score desc, edge_rule") }}
),

-- Why a record without a usable identifier has no key: the exclusion of its own identifier.
record_exclusions as (
    select
        record_identifiers.source_system,
        record_identifiers.source_table,
        record_identifiers.source_record_id,
        min(identifiers.exclusion_reason) as exclusion_reason
    from record_identifiers
    -- only excluded identifiers have a reason: group those few rows, not every record's identifiers
    inner join identifiers
        on
            record_identifiers.identifier_id = identifiers.identifier_id
            and identifiers.exclusion_reason is not null
    group by 1, 2, 3
)

select
    record_keys.source_system,
    record_keys.source_table,
    record_keys.source_record_id,
    customer_keys.customer_key,
    case
        when record_keys.graph_identifier_id is null and record_exclusions.exclusion_reason is null
            then 'no_identifier'
        when record_keys.graph_identifier_id is null
            then {{ dbt.concat(["'excluded:'", "record_exclusions.exclusion_reason"]) }}
        when strongest_edges.edge_rule is null then 'single_identifier'
        else strongest_edges.edge_rule
    end as match_rule,
    case
        when record_keys.graph_identifier_id is null then null
        else coalesce(strongest_edges.match_score, 1.0)
    end as match_score,
    record_keys.graph_identifier_id as identifier_id,
    record_keys.observed_at
from record_keys
left join customer_keys on record_keys.graph_identifier_id = customer_keys.identifier_id
left join strongest_edges on record_keys.graph_identifier_id = strongest_edges.identifier_id
left join record_exclusions
    on
        record_keys.source_system = record_exclusions.source_system
        and record_keys.source_table = record_exclusions.source_table
        and record_keys.source_record_id = record_exclusions.source_record_id
