{#-
    The standard normal quantile z with P(Z <= z) = p, as a SQL expression (Acklam's rational
    approximation, relative error below 1.2e-9). `p` is a number known when the model compiles (a
    var): between 0.02425 and 0.97575 the expression is a literal computed here; in the tails it
    needs `ln` and `sqrt`, which every supported engine has.
-#}
{% macro normal_quantile(p) -%}
    {%- set p = p | float -%}
    {%- if p <= 0 or p >= 1 -%}
        {{ exceptions.raise_compiler_error('normal_quantile: p must lie strictly between 0 and 1, got ' ~ p) }}
    {%- endif -%}
    {%- set a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.3577518672690,
                 -30.66479806614716, 2.506628277459239] -%}
    {%- set b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972,
                 -13.28068155288572] -%}
    {%- set c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734,
                 4.374664141464968, 2.938163982698783] -%}
    {%- set d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416] -%}
    {%- if 0.02425 <= p <= 0.97575 -%}
        {%- set q = p - 0.5 -%}
        {%- set r = q * q -%}
        {%- set num = ((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5] -%}
        {%- set den = ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1 -%}
        {{ num * q / den }}
    {%- else -%}
        {%- set tail = p if p < 0.5 else 1 - p -%}
        {%- set sign = '' if p < 0.5 else '-' -%}
        {%- set q = 'sqrt(-2 * ln(' ~ tail ~ '))' -%}
        {{ sign }}(((((({{ c[0] }} * {{ q }} + {{ c[1] }}) * {{ q }} + {{ c[2] }}) * {{ q }} + {{ c[3] }}) * {{ q }}
        + {{ c[4] }}) * {{ q }} + {{ c[5] }})
        / (((({{ d[0] }} * {{ q }} + {{ d[1] }}) * {{ q }} + {{ d[2] }}) * {{ q }} + {{ d[3] }}) * {{ q }} + 1))
    {%- endif -%}
{%- endmacro %}

{#- z of a two-sided interval at `confidence_level` (0.95 -> 1.96). -#}
{% macro two_sided_z(confidence_level) -%}
    {{ normal_quantile(1 - (1 - (confidence_level | float)) / 2) }}
{%- endmacro %}

{#-
    Campaign response and uplift against the random control group per `group_names`, summed over
    the strata of `strata` (a CTE or relation shaped like int_campaigns__strata: one row per segment,
    campaign and channel); `group_by` holds the column expressions, `group_names` their names.
    The control group is a random sample within a campaign only, and control shares differ between
    campaigns, so a pooled control rate would weigh the campaigns otherwise than the treated group
    does. The uplift is therefore the mean of the per-stratum differences weighted by treated
    exposures (the effect on the treated), over the strata that have both groups (`measured`):
        uplift   = sum(n_t * (p_t - p_c)) / sum(n_t)
        variance = sum(n_t^2 * (v(r_t, n_t) + v(r_c, n_c))) / sum(n_t)^2
    with n exposures, r responders and p = r / n of the treated (t) and control (c) group, and
    v(r, n) = (r + 1) (n - r + 1) / (n + 2)^3, the variance of a proportion with one response and one
    non-response added (Agresti-Caffo): a small control group without responders does not make the
    difference certain. The interval is uplift -/+ z x standard error (normal approximation) at the
    two-sided `marts.uplift_confidence_level`, given only when the measured strata hold at least
    `marts.uplift_min_group_size` treated and as many control exposures; else the standard error and
    the interval are NULL, and so is the uplift when no stratum has both groups.
-#}
{% macro campaign_uplift_summary(strata, group_by, group_names) -%}
    {%- set marts = var('marts') %}
    {%- set confidence_level = marts['uplift_confidence_level'] %}
    {%- set min_group = marts['uplift_min_group_size'] | int %}
    {%- set z = two_sided_z(confidence_level) %}
    {%- set n_t = 'cast(exposures_treated as double)' %}
    {%- set n_c = 'cast(exposures_control as double)' %}
    {%- set r_t = 'cast(responders_treated as double)' %}
    {%- set r_c = 'cast(responders_control as double)' %}
    {%- set has_both = 'exposures_control > 0 and exposures_treated > 0' %}
    {%- set has_interval = 'measured_exposures_treated >= ' ~ min_group
        ~ ' and measured_exposures_control >= ' ~ min_group %}
    select
        {%- for name in group_names %}
        {{ name }},
        {%- endfor %}
        campaigns,
        exposures_treated,
        exposures_control,
        responders_treated,
        responders_control,
        cast(responders_treated as double) / nullif(exposures_treated, 0) as response_rate_treated,
        cast(responders_control as double) / nullif(exposures_control, 0) as response_rate_control,
        cast(clickers_treated as double) / nullif(exposures_treated, 0) as click_rate_treated,
        cast(coupon_redeemers_treated as double) / nullif(exposures_treated, 0) as coupon_redemption_rate_treated,
        response_amount_treated,
        measured_exposures_treated,
        measured_exposures_control,
        expected_responders / nullif(measured_exposures_treated, 0) as baseline_response_rate,
        measured_incremental_responders / nullif(measured_exposures_treated, 0) as uplift,
        case
            when {{ has_interval }} then sqrt(variance_numerator) / measured_exposures_treated
        end as uplift_standard_error,
        case
            when {{ has_interval }}
                then (measured_incremental_responders - {{ z }} * sqrt(variance_numerator)) / measured_exposures_treated
        end as uplift_ci_low,
        case
            when {{ has_interval }}
                then (measured_incremental_responders + {{ z }} * sqrt(variance_numerator)) / measured_exposures_treated
        end as uplift_ci_high,
        cast({{ confidence_level }} as double) as confidence_level,
        exposures_treated * measured_incremental_responders / nullif(measured_exposures_treated, 0)
            as incremental_responders,
        spend,
        case
            when measured_incremental_responders > 0
                then spend * measured_exposures_treated / (exposures_treated * measured_incremental_responders)
        end as cost_per_incremental_response
    from (
        select
            {%- for expression in group_by %}
            {{ expression }} as {{ group_names[loop.index0] }},
            {%- endfor %}
            count(distinct campaign_id) as campaigns,
            sum(exposures_treated) as exposures_treated,
            sum(exposures_control) as exposures_control,
            sum(responders_treated) as responders_treated,
            sum(responders_control) as responders_control,
            sum(clickers_treated) as clickers_treated,
            sum(coupon_redeemers_treated) as coupon_redeemers_treated,
            sum(response_amount_treated) as response_amount_treated,
            sum(spend) as spend,
            sum(case when {{ has_both }} then exposures_treated else 0 end) as measured_exposures_treated,
            sum(case when {{ has_both }} then exposures_control else 0 end) as measured_exposures_control,
            sum(case when {{ has_both }} then {{ n_t }} * {{ r_c }} / {{ n_c }} else 0 end) as expected_responders,
            sum(case
                when {{ has_both }} then {{ r_t }} - {{ n_t }} * {{ r_c }} / {{ n_c }}
                else 0
            end) as measured_incremental_responders,
            sum(case
                when {{ has_both }}
                    then {{ n_t }} * {{ n_t }} * (
                        ({{ r_t }} + 1) * ({{ n_t }} - {{ r_t }} + 1) / (({{ n_t }} + 2) * ({{ n_t }} + 2) * ({{ n_t }} + 2))
                        + ({{ r_c }} + 1) * ({{ n_c }} - {{ r_c }} + 1) / (({{ n_c }} + 2) * ({{ n_c }} + 2) * ({{ n_c }} + 2))
                    )
                else 0
            end) as variance_numerator
        from {{ strata }}
        group by
            {%- for expression in group_by %}
            {{ expression }}{{ ',' if not loop.last }}
            {%- endfor %}
    ) as totals
{%- endmacro %}
