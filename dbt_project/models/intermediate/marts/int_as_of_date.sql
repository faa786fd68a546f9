-- One row: the day the customer marts describe ("today" for recency, decay and trailing windows).
-- The `as_of_date` var (KLANTBEELD_AS_OF) when set (a backfill, a test); else the last day with touchpoints, capped
-- at the run's date so a few future-dated source rows cannot move it.

{%- set configured = var('as_of_date', none) %}
{%- set run_date = 'cast(' ~ dbt.current_timestamp() ~ ' as date)' %}

{% if configured %}
    select cast('{{ configured }}' as date) as as_of_date
{% else %}
    select least(coalesce(max(interaction_date), {{ run_date }}), {{ run_date }}) as as_of_date
    from {{ ref('fct_interactions') }}
{% endif %}
