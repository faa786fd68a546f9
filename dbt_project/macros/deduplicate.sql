{#-
    One row per `partition_by` from the CTE or relation `relation`, the first by `order_by`
    (e.g. `updated_at desc nulls last, loaded_at desc, _source_row desc nulls last`).
    Built on row_number() in a subquery rather than `qualify`, so it ports to Spark and Postgres.
-#}
{% macro deduplicate(relation, partition_by, order_by) -%}
    {{ return(adapter.dispatch('deduplicate', 'klantbeeld')(relation, partition_by, order_by)) }}
{%- endmacro %}

{% macro _ranked_rows(relation, partition_by, order_by) -%}
    select
        ranked_source.*,
        row_number() over (
            partition by {{ partition_by }}
            order by {{ order_by }}
        ) as _dedup_row_number
    from {{ relation }} as ranked_source
{%- endmacro %}

{#- Engines without `select * exclude`: the helper column `_dedup_row_number` (always 1) stays. -#}
{% macro default__deduplicate(relation, partition_by, order_by) -%}
    select ranked.*
    from ({{ _ranked_rows(relation, partition_by, order_by) }}) as ranked
    where ranked._dedup_row_number = 1
{%- endmacro %}

{% macro duckdb__deduplicate(relation, partition_by, order_by) -%}
    select ranked.* exclude (_dedup_row_number)
    from ({{ _ranked_rows(relation, partition_by, order_by) }}) as ranked
    where ranked._dedup_row_number = 1
{%- endmacro %}

{#- Databricks SQL (dbt-spark on Databricks): `* except (...)`; plain Spark lacks it, use default__. -#}
{% macro spark__deduplicate(relation, partition_by, order_by) -%}
    select ranked.* except (_dedup_row_number)
    from ({{ _ranked_rows(relation, partition_by, order_by) }}) as ranked
    where ranked._dedup_row_number = 1
{%- endmacro %}
