-- Connected components of the usable identifiers over the deterministic edges:
-- one row per identifier with `cluster_id` (the smallest identifier of its component).

with

components as (
    {{ connected_components(
        "(select identifier_id as node_id from " ~ ref('int_identity__identifiers') ~ " where not is_excluded)",
        ref('int_identity__deterministic_edges'),
        var('identity').connected_components_rounds) }}
)

select
    node_id as identifier_id,
    component_id as cluster_id
from components
