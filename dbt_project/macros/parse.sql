{#-
    Parsing of raw text into typed values. Raw keeps every value as the source sent it (varchar);
    these macros return NULL for a value they cannot read instead of failing the model.
    Each takes a SQL expression (usually a column name) and returns a SQL expression.
-#}

{#- dbt's own safe_cast falls back to a plain `cast` on DuckDB (fails on bad input): use try_cast. -#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}


{#- Time zone of offset-less timestamps from `system` (vars `source_timezones`, `default_source_timezone`). -#}
{% macro source_timezone(system) -%}
    {%- set timezones = var('source_timezones', {}) -%}
    {%- set default = var('default_source_timezone', 'Europe/Amsterdam') -%}
    {{- return(timezones[system] if timezones is mapping and system in timezones else default) -}}
{%- endmacro %}


{#- Empty or blank text becomes NULL. -#}
{% macro clean_text(expr) -%}
    nullif(trim({{ expr }}), '')
{%- endmacro %}


{#- 0/1, true/false, yes/no, j/n (ja/nee), y/t/f: anything else is NULL. -#}
{% macro parse_boolean(expr) -%}
    case
        when lower(trim({{ expr }})) in ('1', 'true', 't', 'yes', 'y', 'j', 'ja') then true
        when lower(trim({{ expr }})) in ('0', 'false', 'f', 'no', 'n', 'nee') then false
    end
{%- endmacro %}


{% macro parse_integer(expr) -%}
    {{ dbt.safe_cast(clean_text(expr), dbt.type_int()) }}
{%- endmacro %}


{#-
    Decimal with `.` or `,` as decimal separator: `12.50`, `12,50`, `1.234,50`, `1,234.50`, `€ 12,50`.
    Only `like` and `replace`, so one implementation serves every engine.
-#}
{% macro parse_decimal(expr) -%}
    {%- set text = "replace(replace(trim(" ~ expr ~ "), '€', ''), ' ', '')" -%}
    {{ dbt.safe_cast(
        "case
            when " ~ text ~ " like '%.%,%' then replace(replace(" ~ text ~ ", '.', ''), ',', '.')
            when " ~ text ~ " like '%,%.%' then replace(" ~ text ~ ", ',', '')
            else replace(" ~ text ~ ", ',', '.')
        end",
        dbt.type_numeric()
    ) }}
{%- endmacro %}


{#- Dates as `YYYY-MM-DD` or `DD-MM-YYYY`; impossible dates (`31-02-2025`) and junk become NULL. -#}
{% macro parse_date(expr) -%}
    {{ return(adapter.dispatch('parse_date', 'klantbeeld')(expr)) }}
{%- endmacro %}

{% macro default__parse_date(expr) -%}
    {{ dbt.safe_cast(clean_text(expr), 'date') }}
{%- endmacro %}

{% macro duckdb__parse_date(expr) -%}
    cast(coalesce(
        try_strptime(trim({{ expr }}), '%Y-%m-%d'),
        try_strptime(trim({{ expr }}), '%d-%m-%Y')
    ) as date)
{%- endmacro %}

{% macro spark__parse_date(expr) -%}
    cast(coalesce(
        try_to_timestamp(trim({{ expr }}), 'yyyy-MM-dd'),
        try_to_timestamp(trim({{ expr }}), 'dd-MM-yyyy')
    ) as date)
{%- endmacro %}


{#-
    Timestamp text to a UTC `timestamp` (without time zone).
    With an offset or `Z` (`2026-11-21T13:03:12.123Z`, `...+01:00`) the value is taken as given;
    without one it is local time of `source_timezone(system)` (`2026-11-21 14:03:12`), so
    Europe/Amsterdam summer time is UTC+2 and winter time UTC+1.
-#}
{% macro parse_timestamp(expr, system) -%}
    {{ return(adapter.dispatch('parse_timestamp', 'klantbeeld')(expr, source_timezone(system))) }}
{%- endmacro %}

{#- Postgres-like engines: `local at time zone tz` gives an instant, `at time zone 'UTC'` its UTC wall time. -#}
{% macro default__parse_timestamp(expr, timezone) -%}
    ({{ dbt.safe_cast(clean_text(expr), dbt.type_timestamp()) }}
        at time zone '{{ timezone }}' at time zone 'UTC')
{%- endmacro %}

{% macro duckdb__parse_timestamp(expr, timezone) -%}
    {%- set text = "trim(" ~ expr ~ ")" -%}
    {%- set local = "coalesce(try_cast(" ~ text ~ " as timestamp), try_strptime(" ~ text ~ ", '%d-%m-%Y %H:%M:%S'))" -%}
    case
        when regexp_matches({{ text }}, '[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)? ?([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)$')
            {#- DuckDB's cast rejects a space before the offset and a lower-case z: retry without them -#}
            then timezone('UTC', coalesce(
                try_cast({{ text }} as timestamptz),
                try_cast(regexp_replace(regexp_replace({{ text }}, ' ?[zZ]$', '+00:00'), ' ([+-][0-9]{2}(:?[0-9]{2})?)$', '\1') as timestamptz)
            ))
        {%- if timezone | upper == 'UTC' %}
        else {{ local }}
        {%- else %}
        else timezone('UTC', timezone('{{ timezone }}', {{ local }}))
        {%- endif %}
    end
{%- endmacro %}

{% macro spark__parse_timestamp(expr, timezone) -%}
    case
        when trim({{ expr }}) rlike '[0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)? ?([zZ]|[+-][0-9]{2}(:?[0-9]{2})?)$'
            then to_utc_timestamp(try_to_timestamp(trim({{ expr }})), current_timezone())
        else to_utc_timestamp(try_to_timestamp(trim({{ expr }})), '{{ timezone }}')
    end
{%- endmacro %}
