-- The final grouping of usable identifiers: one row per identifier with `cluster_id` (the smallest
-- identifier of its component). A candidate cluster whose profiles conflict is split: inside it
-- only 'stated' edges count (what a profile or a system reference says), not the observed ones
-- (a shared laptop's cookie, a service contact) nor Splink's. `split_from_cluster_id` names the
-- conflicting candidate cluster an identifier came from.

with

candidates as (
    select * from {{ ref('int_identity__candidate_clusters') }}
),

edges as (
    select * from {{ ref('int_identity__edges') }}
),

kept_edges as (
    select
        edges.node_a,
        edges.node_b
    from edges
    inner join candidates on edges.node_a = candidates.identifier_id
    where not candidates.has_conflict or edges.edge_strength = 'stated'
),

components as (
    {{ connected_components(
        "(select identifier_id as node_id from " ~ ref('int_identity__candidate_clusters') ~ ")",
        "kept_edges",
        var('identity').connected_components_rounds) }}
)

select
    components.node_id as identifier_id,
    components.component_id as cluster_id,
    case when candidates.has_conflict then candidates.cluster_id end as split_from_cluster_id
from components
inner join candidates on components.node_id = candidates.identifier_id
