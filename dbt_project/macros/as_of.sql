{#- A filter keeping what happened on or before the `as_of_date` var (KLANTBEELD_AS_OF): a run as of a
    past date sees no order or touchpoint after it. Without the var: no filter. -#}
{% macro on_or_before_as_of(timestamp_column) -%}
    {%- set as_of = var('as_of_date', none) -%}
    {%- if as_of -%}
        cast({{ timestamp_column }} as date) <= cast('{{ as_of }}' as date)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
