-- Edges between deterministic clusters that Splink scores as one person: the best pair of their
-- profiles reaches `splink_match_probability_threshold`, and no profile of one cluster conflicts
-- with a profile of the other (first names, birth dates): a shared address alone never merges
-- two different first names. One row per cluster pair, `node_a` < `node_b`.
{%- set config = var('identity') %}

with

pairs as (
    select * from {{ ref('int_identity__splink_pairs') }}
),

profiles as (
    select * from {{ ref('int_identity__cluster_profiles') }}
),

cluster_pairs as (
    select
        case when cluster_id_l < cluster_id_r then cluster_id_l else cluster_id_r end as node_a,
        case when cluster_id_l < cluster_id_r then cluster_id_r else cluster_id_l end as node_b,
        max(match_probability) as match_probability,
        max(match_weight) as match_weight
    from pairs
    group by 1, 2
    having max(match_probability) >= {{ config.splink_match_probability_threshold }}
),

conflicting_cluster_pairs as (
    select distinct
        cluster_pairs.node_a,
        cluster_pairs.node_b
    from cluster_pairs
    inner join profiles as l on cluster_pairs.node_a = l.cluster_id
    inner join profiles as r on cluster_pairs.node_b = r.cluster_id
    where {{ names_or_birth_dates_conflict('l', 'r', config.min_first_name_similarity) }}
)

select
    cluster_pairs.node_a,
    cluster_pairs.node_b,
    'splink' as edge_rule,
    cluster_pairs.match_probability,
    cluster_pairs.match_weight
from cluster_pairs
left join conflicting_cluster_pairs
    on cluster_pairs.node_a = conflicting_cluster_pairs.node_a
    and cluster_pairs.node_b = conflicting_cluster_pairs.node_b
where conflicting_cluster_pairs.node_a is null
