-- Edges between deterministic clusters that Splink scores as one person: the best pair of their
-- profiles reaches `splink_match_probability_threshold`, no profile of one cluster conflicts with a
-- profile of the other (first names, birth dates: a shared address alone never merges two different
-- first names), and their contact details do not contradict each other (both have emails and
-- phones, none agree, and no birth date agrees: two namesakes in one household).
-- One row per cluster pair, `node_a` < `node_b`.
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

cluster_contacts as (
    select
        cluster_id,
        max(case when email is not null then 1 else 0 end) as has_email,
        max(case when phone is not null then 1 else 0 end) as has_phone
    from profiles
    group by 1
),

profile_pair_evidence as (
    select
        cluster_pairs.node_a,
        cluster_pairs.node_b,
        max(case
            when {{ names_or_birth_dates_conflict('l', 'r', config.min_first_name_similarity) }}
                then 1
            else 0
        end) as has_conflict,
        max(case when l.email = r.email then 1 else 0 end) as agrees_on_email,
        max(case when l.phone = r.phone then 1 else 0 end) as agrees_on_phone,
        max(case when l.birth_date_key = r.birth_date_key then 1 else 0 end) as agrees_on_birth_date
    from cluster_pairs
    inner join profiles as l on cluster_pairs.node_a = l.cluster_id
    inner join profiles as r on cluster_pairs.node_b = r.cluster_id
    group by 1, 2
),

conflicting_cluster_pairs as (
    select
        profile_pair_evidence.node_a,
        profile_pair_evidence.node_b
    from profile_pair_evidence
    inner join cluster_contacts as contacts_a on profile_pair_evidence.node_a = contacts_a.cluster_id
    inner join cluster_contacts as contacts_b on profile_pair_evidence.node_b = contacts_b.cluster_id
    where
        profile_pair_evidence.has_conflict = 1
        or (
            contacts_a.has_email = 1 and contacts_b.has_email = 1 and profile_pair_evidence.agrees_on_email = 0
            and contacts_a.has_phone = 1 and contacts_b.has_phone = 1 and profile_pair_evidence.agrees_on_phone = 0
            and profile_pair_evidence.agrees_on_birth_date = 0
        )
)

select
    cluster_pairs.node_a,
    cluster_pairs.node_b,
    'splink' as edge_rule,
    cluster_pairs.match_probability,
    cluster_pairs.match_weight
from cluster_pairs
left join conflicting_cluster_pairs
    on
        cluster_pairs.node_a = conflicting_cluster_pairs.node_a
        and cluster_pairs.node_b = conflicting_cluster_pairs.node_b
where conflicting_cluster_pairs.node_a is null
