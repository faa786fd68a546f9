{#- True when the relation exists in the warehouse now. For a source that Python writes between dbt
    steps (ml.customer_scores): before its first write, a model selects typed NULLs instead. -#}
{% macro relation_exists(relation) %}
    {{ return(execute and adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier
    ) is not none) }}
{% endmacro %}
