-- What the last identity resolution run did, one row per metric and dimension (long format, so a
-- new rule or source adds rows, not columns). Grain: metric + dimension.

with

record_map as (
    select * from {{ ref('customer_identity_map') }}
),

identifiers as (
    select * from {{ ref('int_identity__identifiers') }}
),

edges as (
    select * from {{ ref('int_identity__edges') }}
),

clusters as (
    select * from {{ ref('int_identity__clusters') }}
),

history as (
    select * from {{ ref('customer_key_history') }}
    where invocation_id = '{{ invocation_id }}'
),

metrics as (
    select
        'records' as metric,
        {{ dbt.concat(["source_system", "'.'", "source_table"]) }} as dimension,
        count(*) as value
    from record_map
    group by 2
    union all
    select
        'records_without_customer' as metric,
        match_rule as dimension,
        count(*) as value
    from record_map
    where customer_key is null
    group by 2
    union all
    select
        'identifiers' as metric,
        identifier_type as dimension,
        count(*) as value
    from identifiers
    group by 2
    union all
    select
        'identifiers_excluded' as metric,
        {{ dbt.concat(["identifier_type", "':'", "exclusion_reason"]) }} as dimension,
        count(*) as value
    from identifiers
    where is_excluded
    group by 2
    union all
    select
        'edges' as metric,
        edge_rule as dimension,
        count(*) as value
    from edges
    group by 2
    union all
    select
        'splink_pairs_scored' as metric,
        'match_probability >= kept minimum' as dimension,
        count(*) as value
    from {{ ref('int_identity__splink_pairs') }}
    union all
    select
        'customers' as metric,
        'all' as dimension,
        count(distinct customer_key) as value
    from record_map
    where customer_key is not null
    union all
    select
        'customers' as metric,
        'with more than one identifier' as dimension,
        count(*) as value
    from (
        select cluster_id from clusters
        group by 1
        having count(*) > 1
    ) as multi
    union all
    select
        'clusters_split' as metric,
        'conflicting profiles' as dimension,
        count(distinct split_from_cluster_id) as value
    from clusters
    where split_from_cluster_id is not null
    union all
    select
        'key_changes' as metric,
        change_type as dimension,
        count(*) as value
    from history
    group by 2
)

select
    metric,
    dimension,
    cast(value as {{ dbt.type_bigint() }}) as value,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }}) as computed_at
from metrics
