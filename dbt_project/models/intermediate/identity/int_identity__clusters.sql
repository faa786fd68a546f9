-- Connected components of the usable identifiers over all accepted edges: one row per identifier
-- with `cluster_id` (the smallest identifier of its component). This run's grouping; stable
-- customer keys are given to these clusters in int_identity__customer_keys.

with

components as (
    {{ connected_components(
        "(select identifier_id as node_id from " ~ ref('int_identity__identifiers') ~ " where not is_excluded)",
        "(select node_a, node_b from " ~ ref('int_identity__edges') ~ ")",
        var('identity').connected_components_rounds) }}
)

select
    node_id as identifier_id,
    component_id as cluster_id
from components
