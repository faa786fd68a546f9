-- seeds/rfm_segments.csv: every cell of the 5 x 5 grid of r_score and fm_score lies in exactly one
-- in_window segment, and the lapsed and never_bought statuses have exactly one row each.
-- Fails with each cell or status that has no or more than one segment.

with

scores as (
    select 1 as score
    union all
    select 2 as score
    union all
    select 3 as score
    union all
    select 4 as score
    union all
    select 5 as score
),

cells as (
    select
        'in_window' as buyer_status,
        r_scores.score as r_score,
        fm_scores.score as fm_score
    from scores as r_scores
    cross join scores as fm_scores
    union all
    select
        'lapsed' as buyer_status,
        null as r_score,
        null as fm_score
    union all
    select
        'never_bought' as buyer_status,
        null as r_score,
        null as fm_score
),

matches as (
    select
        cells.buyer_status,
        cells.r_score,
        cells.fm_score,
        count(segments.rfm_segment) as segments
    from cells
    left join {{ ref('rfm_segments') }} as segments
        on
            cells.buyer_status = segments.buyer_status
            and (
                cells.buyer_status <> 'in_window'
                or (
                    cells.r_score between segments.r_score_min and segments.r_score_max
                    and cells.fm_score between segments.fm_score_min and segments.fm_score_max
                )
            )
    group by cells.buyer_status, cells.r_score, cells.fm_score
)

select *
from matches
where segments <> 1
