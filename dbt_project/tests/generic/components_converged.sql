{#-
    Fails for every edge whose two ends ended in different clusters: label propagation stopped
    before it converged (raise var identity.connected_components_rounds).
    model: the clusters (identifier_id, cluster_id); edges: relation with node_a, node_b.
-#}
{% test components_converged(model, edges) %}

    select
        edges.node_a,
        edges.node_b,
        cluster_a.cluster_id as cluster_a,
        cluster_b.cluster_id as cluster_b
    from {{ edges }} as edges
    inner join {{ model }} as cluster_a on edges.node_a = cluster_a.identifier_id
    inner join {{ model }} as cluster_b on edges.node_b = cluster_b.identifier_id
    where cluster_a.cluster_id <> cluster_b.cluster_id

{% endtest %}
