{{
    config(
        materialized='incremental',
        unique_key='identifier_id',
        incremental_strategy='delete+insert',
        full_refresh=false,
        on_schema_change='append_new_columns',
    )
}}
-- The stable customer key of every usable identifier, carried over from the previous run.
-- Each previous key goes to the cluster that now holds most of its identifiers; a cluster keeps
-- the oldest key that came to it (a merge retires the younger keys); a cluster that got none
-- (a new person, or the smaller part of a split) gets a new key. `key_change` says what happened
-- to the identifier in this run: new, kept, merged (its key was retired into an older one) or
-- split (it left a cluster whose key lives on elsewhere). A key number is never handed out twice:
-- `max_issued_key_number` carries the highest number ever issued, retired keys included. Never
-- rebuilt from scratch (`full_refresh: false`): that would hand out new keys to everyone.

with

clusters as (
    select
        identifier_id,
        cluster_id
    from {{ ref('int_identity__clusters') }}
),

{% if is_incremental() %}
    previous as (
        select
            identifier_id,
            customer_key,
            customer_key_number,
            key_created_at,
            coalesce(max_issued_key_number, customer_key_number) as max_issued_key_number
        from {{ this }}
    ),
{% else %}
    previous as (
        select
            cast(null as {{ dbt.type_string() }}) as identifier_id,
            cast(null as {{ dbt.type_string() }}) as customer_key,
            cast(null as {{ dbt.type_bigint() }}) as customer_key_number,
            cast(null as {{ dbt.type_timestamp() }}) as key_created_at,
            cast(null as {{ dbt.type_bigint() }}) as max_issued_key_number
        where 1 = 0
    ),
{% endif %}

cluster_key_overlaps as (
    select
        clusters.cluster_id,
        previous.customer_key,
        previous.customer_key_number,
        previous.key_created_at,
        count(*) as shared_identifiers
    from clusters
    inner join previous on clusters.identifier_id = previous.identifier_id
    group by 1, 2, 3, 4
),

key_homes as (
    {{ deduplicate('cluster_key_overlaps', 'customer_key', 'shared_identifiers desc, cluster_id') }}
),

surviving_keys as (
    {{ deduplicate('key_homes', 'cluster_id', 'key_created_at, customer_key_number') }}
),

clusters_without_key as (
    select distinct clusters.cluster_id
    from clusters
    left join surviving_keys on clusters.cluster_id = surviving_keys.cluster_id
    where surviving_keys.cluster_id is null
),

issued_before as (
    select coalesce(max(previous.max_issued_key_number), 0) as max_issued_key_number from previous
),

new_keys as (
    select
        clusters_without_key.cluster_id,
        issued_before.max_issued_key_number
        + row_number() over (order by clusters_without_key.cluster_id) as customer_key_number,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }}) as key_created_at
    from clusters_without_key
    cross join issued_before
),

issued_now as (
    select
        issued_before.max_issued_key_number
        + (select count(*) from new_keys) as max_issued_key_number
    from issued_before
),

cluster_keys as (
    select
        cluster_id,
        customer_key_number,
        key_created_at
    from surviving_keys
    union all
    select
        cluster_id,
        customer_key_number,
        key_created_at
    from new_keys
),

assigned as (
    select
        clusters.identifier_id,
        clusters.cluster_id,
        {{ dbt.concat(["'KB'", "lpad(cast(cluster_keys.customer_key_number as " ~ dbt.type_string() ~ "), 10, '0')"]) }}
            as customer_key,
        cluster_keys.customer_key_number,
        cluster_keys.key_created_at,
        previous.customer_key as previous_customer_key
    from clusters
    inner join cluster_keys on clusters.cluster_id = cluster_keys.cluster_id
    left join previous on clusters.identifier_id = previous.identifier_id
)

select
    assigned.*,
    case
        when assigned.previous_customer_key is null then 'new'
        when assigned.previous_customer_key = assigned.customer_key then 'kept'
        when key_homes.cluster_id = assigned.cluster_id then 'merged'
        else 'split'
    end as key_change,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }}) as assigned_at,
    '{{ invocation_id }}' as assigned_by_invocation_id,
    issued_now.max_issued_key_number
from assigned
left join key_homes on assigned.previous_customer_key = key_homes.customer_key
cross join issued_now
