{#-
    Building blocks of golden records (dim_customer): which source record a surviving value came
    from, and the list of systems a customer was seen in.
-#}

{#- Where a chosen value comes from: `<system>.<table>:<record id>` (`crm.customers:C1000017`). -#}
{% macro record_source(source_system, source_table, source_record_id) -%}
    {{ dbt.concat([source_system, "'.'", source_table, "':'", source_record_id]) }}
{%- endmacro %}

{#-
    Aggregate: the values of `measure` in a group, sorted, joined by `delimiter` (a plain string).
    Give it distinct values (a `select distinct` below the group by) for a list without repeats.
-#}
{% macro sorted_list(measure, delimiter) -%}
    {{ return(adapter.dispatch('sorted_list', 'klantbeeld')(measure, delimiter)) }}
{%- endmacro %}

{% macro default__sorted_list(measure, delimiter) -%}
    {{ dbt.listagg(measure, "'" ~ delimiter ~ "'", "order by " ~ measure) }}
{%- endmacro %}

{#-
    What dbt-duckdb's listagg renders, written out because sqlfluff renders the models with a
    stand-in for `dbt` (sqlfluff_libs/dbt.py) that has no listagg; drop it once the stand-in has one.
-#}
{% macro duckdb__sorted_list(measure, delimiter) -%}
    string_agg({{ measure }}, '{{ delimiter }}' order by {{ measure }})
{%- endmacro %}

{#-
    True when a name is typed with its capitals in the wrong place, the trace of a typo
    (`lnouk`, `iMla`, `detHaan`): it starts lower-case or has a capital right after a small letter.
-#}
{% macro is_miscased_name(expr) -%}
    coalesce({{ regex_full_match(expr, "([a-z].*|.*[a-z][A-Z].*)") }}, false)
{%- endmacro %}
