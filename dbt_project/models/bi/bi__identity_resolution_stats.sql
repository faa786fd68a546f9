-- What the last identity resolution run did (grain: metric + dimension): counts only, no identifiers.

select * from {{ ref('identity_resolution_stats') }}
