-- Edges between identifiers that one source record states together (a CRM record's email, an
-- account's CRM id, a card's member, a web event's logged-in account), excluded identifiers left out.
-- One row per pair, `node_a` < `node_b`; `edge_rule` = `<system>.<table>:<identifier type>`;
-- `edge_strength` 'stated' when a profile or a system reference states it (var `stated_edge_tables`),
-- else 'observed' (seen in behaviour: a login, a service contact, an order).

with

record_identifiers as (
    select * from {{ ref('int_identity__record_identifiers') }}
),

record_keys as (
    select * from {{ ref('int_identity__record_keys') }}
    where graph_identifier_id is not null
),

identifiers as (
    select identifier_id from {{ ref('int_identity__identifiers') }}
    where not is_excluded
),

record_edges as (
    select
        record_keys.graph_identifier_id as from_identifier_id,
        record_identifiers.identifier_id as to_identifier_id,
        {{ dbt.concat(["record_identifiers.source_system", "'.'", "record_identifiers.source_table",
            "':'", "record_identifiers.identifier_type"]) }} as edge_rule,
        {{ dbt.concat(["record_identifiers.source_system", "'.'", "record_identifiers.source_table"]) }}
            as edge_table
    from record_identifiers
    inner join record_keys
        on
            record_identifiers.source_system = record_keys.source_system
            and record_identifiers.source_table = record_keys.source_table
            and record_identifiers.source_record_id = record_keys.source_record_id
    inner join identifiers on record_identifiers.identifier_id = identifiers.identifier_id
    where record_identifiers.identifier_id <> record_keys.graph_identifier_id
),

edges as (
    select
        case when from_identifier_id < to_identifier_id then from_identifier_id else to_identifier_id end as node_a,
        case when from_identifier_id < to_identifier_id then to_identifier_id else from_identifier_id end as node_b,
        min(edge_rule) as edge_rule,
        max(case
            when edge_table in ({{ "'" ~ var('identity').stated_edge_tables | join("', '") ~ "'" }})
                then 'stated'
            else 'observed'
        end) as edge_strength,
        count(*) as evidence_records
    from record_edges
    group by 1, 2
)

select * from edges
