-- First grouping of the usable identifiers: the deterministic clusters, joined where Splink's
-- accepted edges connect them. Components are taken over the small graph of clusters (one node per
-- deterministic cluster), not over the identifiers again. One row per identifier with `cluster_id`
-- (the smallest deterministic cluster id of its component) and whether the profiles in the cluster
-- conflict (two people's birth dates or first names), which int_identity__clusters then splits.
{%- set config = var('identity') %}

with

deterministic_clusters as (
    select
        identifier_id,
        cluster_id
    from {{ ref('int_identity__deterministic_clusters') }}
),

cluster_components as (
    {{ connected_components(
        "(select distinct cluster_id as node_id from " ~ ref('int_identity__deterministic_clusters') ~ ")",
        "(select node_a, node_b from " ~ ref('int_identity__probabilistic_edges') ~ ")",
        config.connected_components_rounds) }}
),

components as (
    select
        deterministic_clusters.identifier_id as node_id,
        cluster_components.component_id
    from deterministic_clusters
    inner join cluster_components on deterministic_clusters.cluster_id = cluster_components.node_id
),

profiles as (
    select
        components.component_id as cluster_id,
        profile_records.*
    from {{ ref('int_identity__profile_records') }} as profile_records
    inner join components on profile_records.record_identifier_id = components.node_id
),

conflicting_clusters as (
    select distinct l.cluster_id
    from profiles as l
    inner join profiles as r
        on
            l.cluster_id = r.cluster_id
            and l.record_identifier_id < r.record_identifier_id
    where {{ names_or_birth_dates_conflict('l', 'r', config.min_first_name_similarity) }}
)

select
    components.node_id as identifier_id,
    components.component_id as cluster_id,
    conflicting_clusters.cluster_id is not null as has_conflict
from components
left join conflicting_clusters on components.component_id = conflicting_clusters.cluster_id
