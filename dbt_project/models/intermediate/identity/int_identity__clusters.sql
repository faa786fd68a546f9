-- The final grouping of usable identifiers: one row per identifier with `cluster_id`. A candidate
-- cluster whose profiles conflict is split: inside it only 'stated' edges count (what a profile or a
-- system reference says), not the observed ones (a shared laptop's cookie, a service contact) nor
-- Splink's. Only the conflicting candidates are clustered again; the others keep their candidate id.
-- `split_from_cluster_id` names the conflicting candidate cluster an identifier came from.

with

candidates as (
    select * from {{ ref('int_identity__candidate_clusters') }}
),

conflicting_identifiers as (
    select
        identifier_id,
        cluster_id
    from candidates
    where has_conflict
),

stated_edges_inside_conflicts as (
    select
        edges.node_a,
        edges.node_b
    from {{ ref('int_identity__edges') }} as edges
    inner join conflicting_identifiers as ends_a on edges.node_a = ends_a.identifier_id
    inner join conflicting_identifiers as ends_b on edges.node_b = ends_b.identifier_id
    where edges.edge_strength = 'stated'
),

split_components as (
    {{ connected_components(
        "(select identifier_id as node_id from conflicting_identifiers)",
        "stated_edges_inside_conflicts",
        var('identity').connected_components_rounds) }}
)

select
    candidates.identifier_id,
    candidates.cluster_id,
    cast(null as {{ dbt.type_string() }}) as split_from_cluster_id
from candidates
where not candidates.has_conflict

union all

select
    split_components.node_id as identifier_id,
    split_components.component_id as cluster_id,
    conflicting_identifiers.cluster_id as split_from_cluster_id
from split_components
inner join conflicting_identifiers on split_components.node_id = conflicting_identifiers.identifier_id
