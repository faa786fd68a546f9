-- Every accepted edge of the identity graph: deterministic (one record states both identifiers)
-- and probabilistic (Splink, between deterministic clusters). `node_a` < `node_b`.

select
    node_a,
    node_b,
    edge_rule,
    cast(1.0 as double) as match_score,
    'deterministic' as edge_kind,
    edge_strength
from {{ ref('int_identity__deterministic_edges') }}

union all

select
    node_a,
    node_b,
    edge_rule,
    cast(match_probability as double) as match_score,
    'probabilistic' as edge_kind,
    'probabilistic' as edge_strength
from {{ ref('int_identity__probabilistic_edges') }}
