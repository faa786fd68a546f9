{#-
    The 1-`buckets` score of a position among `count` ranked customers (position = rank() - 1, worst
    first, so ties share the position of the first of their group): 1 + the number of j in
    1..buckets-1 with buckets x position >= j x count. Integer arithmetic only: no rounding at the
    bucket edges, on any engine. With 10 customers and 5 buckets: 1 + floor(position / 2).
-#}
{% macro quantile_score(position, count, buckets=5) -%}
    (1
    {%- for j in range(1, buckets) %}
        + case when {{ buckets }} * {{ position }} >= {{ j }} * {{ count }} then 1 else 0 end
    {%- endfor %}
    )
{%- endmacro %}

{#-
    The value tier of a position among `count` customers ranked by margin (position = rank() - 1,
    best first): the first tier of `marts.value_tiers` whose cumulative top share x count exceeds the
    position, else `marts.value_tier_rest`.
-#}
{% macro value_tier_of_position(position, count) -%}
    {%- set marts = var('marts') -%}
    {%- set ns = namespace(cumulative=0) -%}
    case
    {%- for tier in marts['value_tiers'] %}
        {%- set ns.cumulative = ns.cumulative + tier['top_share'] %}
        when {{ position }} < {{ '%.10f' | format(ns.cumulative) }} * {{ count }} then '{{ tier["tier"] }}'
    {%- endfor %}
        else '{{ marts["value_tier_rest"] }}'
    end
{%- endmacro %}
