{{
    config(
        materialized='incremental',
        full_refresh=false,
        on_schema_change='fail',
    )
}}
-- One row per customer key retired or split in a run: a merge (old key -> the older key that
-- survives) or a split (old key -> the new key of the part that left), with when and why.
-- Appended every run, never rebuilt.

with

key_changes as (
    select * from {{ ref('int_identity__customer_keys') }}
    where
        assigned_by_invocation_id = '{{ invocation_id }}'
        and key_change in ('merged', 'split')
),

current_keys as (
    select
        identifier_id,
        customer_key,
        previous_customer_key
    from {{ ref('int_identity__customer_keys') }}
    where assigned_by_invocation_id = '{{ invocation_id }}'
),

edges as (
    select * from {{ ref('int_identity__edges') }}
),

-- Merges: the accepted edges that now join identifiers which had different keys.
merge_reasons as (
    select
        case
            when keys_a.previous_customer_key = keys_a.customer_key
                then keys_b.previous_customer_key
            else keys_a.previous_customer_key
        end as old_customer_key,
        keys_a.customer_key as new_customer_key,
        edges.edge_rule
    from edges
    inner join current_keys as keys_a on edges.node_a = keys_a.identifier_id
    inner join current_keys as keys_b on edges.node_b = keys_b.identifier_id
    where
        keys_a.customer_key = keys_b.customer_key
        and keys_a.previous_customer_key <> keys_b.previous_customer_key
),

merge_reason_lists as (
    select
        old_customer_key,
        new_customer_key,
        {{ dbt.listagg('distinct edge_rule', "', '", 'order by edge_rule') }} as edge_rules
    from merge_reasons
    group by 1, 2
),

-- Splits: identifiers of the old key that the guards now exclude, if any (their rows in
-- int_identity__customer_keys still carry the key they had when last usable).
excluded_identifiers as (
    select
        keys.customer_key as old_customer_key,
        {{ dbt.listagg(
            'distinct identifiers.exclusion_reason', "', '", 'order by identifiers.exclusion_reason') }}
            as exclusion_reasons
    from {{ ref('int_identity__customer_keys') }} as keys
    inner join {{ ref('int_identity__identifiers') }} as identifiers
        on keys.identifier_id = identifiers.identifier_id
    where identifiers.is_excluded
    group by 1
),

changes as (
    select
        previous_customer_key as old_customer_key,
        customer_key as new_customer_key,
        case key_change when 'merged' then 'merge' else 'split' end as change_type,
        count(*) as identifiers_moved,
        min(assigned_at) as changed_at
    from key_changes
    group by 1, 2, 3
)

select
    changes.changed_at,
    changes.change_type,
    changes.old_customer_key,
    changes.new_customer_key,
    changes.identifiers_moved,
    case
        when changes.change_type = 'merge'
            then {{ dbt.concat([
                "'new evidence: '", "coalesce(merge_reason_lists.edge_rules, 'edges to a third cluster')"]) }}
        when excluded_identifiers.exclusion_reasons is not null
            then {{ dbt.concat(["'identifiers no longer evidence: '", "excluded_identifiers.exclusion_reasons"]) }}
        else 'the edges that joined the parts are no longer accepted'
    end as reason,
    '{{ invocation_id }}' as invocation_id
from changes
left join merge_reason_lists
    on
        changes.old_customer_key = merge_reason_lists.old_customer_key
        and changes.new_customer_key = merge_reason_lists.new_customer_key
left join excluded_identifiers on changes.old_customer_key = excluded_identifiers.old_customer_key
