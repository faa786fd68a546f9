{#-
    Normalization of identifying text: emails, phones, postcodes, house numbers, names, codes.
    The normalizers are written once on three small regex helpers, which are what differs per engine.
    Each macro takes a SQL expression and returns a SQL expression; invalid input gives NULL.
-#}

{#- ---- regex helpers (dispatched) ---- -#}

{% macro regex_replace_all(expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all', 'klantbeeld')(expr, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regex_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{#- Spark replaces every match and reads backslashes in literals as escapes. -#}
{% macro spark__regex_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern | replace("\\", "\\\\") }}', '{{ replacement }}')
{%- endmacro %}

{#- True when the whole of `expr` matches `pattern`. -#}
{% macro regex_full_match(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'klantbeeld')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regex_full_match(expr, pattern) -%}
    ({{ expr }} ~ '^(?:{{ pattern }})$')
{%- endmacro %}

{% macro duckdb__regex_full_match(expr, pattern) -%}
    regexp_full_match({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__regex_full_match(expr, pattern) -%}
    ({{ expr }} rlike '^(?:{{ pattern | replace("\\", "\\\\") }})$')
{%- endmacro %}

{#- The first capture group of `pattern` in `expr`, NULL when it does not match. -#}
{% macro regex_extract(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_extract', 'klantbeeld')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regex_extract(expr, pattern) -%}
    substring({{ expr }} from '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__regex_extract(expr, pattern) -%}
    nullif(regexp_extract({{ expr }}, '{{ pattern }}', 1), '')
{%- endmacro %}

{% macro spark__regex_extract(expr, pattern) -%}
    nullif(regexp_extract({{ expr }}, '{{ pattern | replace("\\", "\\\\") }}', 1), '')
{%- endmacro %}


{#- ---- normalizers ---- -#}

{#- Trimmed, inner whitespace collapsed to one space, case kept (`  Jan   de  Vries ` -> `Jan de Vries`). -#}
{% macro clean_name(expr) -%}
    nullif({{ regex_replace_all("trim(" ~ expr ~ ")", "\\s+", " ") }}, '')
{%- endmacro %}

{#- Codes and enumerations: trimmed and lower-cased (`' Paid'` -> `paid`). -#}
{% macro clean_code(expr) -%}
    nullif(lower(trim({{ expr }})), '')
{%- endmacro %}

{#- Email: trimmed (also inner spaces) and lower-cased. -#}
{% macro normalize_email(expr) -%}
    nullif(lower({{ regex_replace_all(expr, "\\s", "") }}), '')
{%- endmacro %}

{#- Applied to a normalized email: one `@`, a dotted domain, a 2+ letter top-level domain. -#}
{% macro is_valid_email(normalized_expr) -%}
    coalesce({{ regex_full_match(normalized_expr, "[a-z0-9._%+-]+@[a-z0-9-]+([.][a-z0-9-]+)*[.][a-z]{2,}") }}, false)
{%- endmacro %}

{#-
    Phone number to E.164 (`+31612345678`). Dutch national numbers (`06-12345678`, `020-1234567`),
    `0031...`, `+31 (0)6 ...`, spaces, dashes, dots and brackets are handled; foreign numbers with
    `+` or `00` are kept when they have 8-15 digits. Anything else (too short, letters) is NULL.
-#}
{% macro normalize_phone(expr) -%}
    {%- set digits = regex_replace_all(
        regex_replace_all("trim(" ~ expr ~ ")", "[(]0[)]", ""), "[^0-9+]", "") -%}
    {%- set candidate -%}
        case
            when {{ digits }} like '+%' then {{ digits }}
            when {{ digits }} like '00%' then {{ dbt.concat(["'+'", "substring(" ~ digits ~ ", 3)"]) }}
            when {{ digits }} like '0%' then {{ dbt.concat(["'+31'", "substring(" ~ digits ~ ", 2)"]) }}
        end
    {%- endset -%}
    {%- set e164 = "replace(" ~ candidate ~ ", '+310', '+31')" -%}
    case
        when {{ regex_full_match(e164, "[+]31[1-9][0-9]{8}") }} then {{ e164 }}
        when {{ e164 }} not like '+31%'
            and {{ regex_full_match(e164, "[+][1-9][0-9]{7,14}") }} then {{ e164 }}
    end
{%- endmacro %}

{#- `1234AB`, `1234 ab`, ` 1234-AB` -> `1234 AB`; not a Dutch postcode -> NULL. -#}
{% macro normalize_postcode(expr) -%}
    {%- set compact = "upper(" ~ regex_replace_all(expr, "[\\s-]", "") ~ ")" -%}
    case
        when {{ regex_full_match(compact, "[1-9][0-9]{3}[A-Z]{2}") }}
            then {{ dbt.concat(["substring(" ~ compact ~ ", 1, 4)", "' '", "substring(" ~ compact ~ ", 5, 2)"]) }}
    end
{%- endmacro %}

{#- The 4-digit area of a postcode, also when only the digits were given (`1234`). -#}
{% macro postcode4(expr) -%}
    {%- set compact = "upper(" ~ regex_replace_all(expr, "[\\s-]", "") ~ ")" -%}
    case
        when {{ regex_full_match(compact, "[1-9][0-9]{3}([A-Z]{2})?") }}
            then substring({{ compact }}, 1, 4)
    end
{%- endmacro %}

{#- The number of `12`, `12a`, `12-A`, `12 A`, `12-2` as an integer (12); NULL without leading digits. -#}
{% macro house_number(expr) -%}
    {{ dbt.safe_cast(regex_extract("trim(" ~ expr ~ ")", "^([0-9]{1,6})"), dbt.type_int()) }}
{%- endmacro %}

{#- The suffix after the number, upper-cased, separators dropped: `12a`, `12-A`, `12 A` -> `A`; `12-2` -> `2`. -#}
{% macro house_number_suffix(expr) -%}
    case
        when {{ house_number(expr) }} is not null
            then nullif({{ regex_replace_all("upper(trim(" ~ expr ~ "))", "^[0-9]+[\\s/-]*", "") }}, '')
    end
{%- endmacro %}
