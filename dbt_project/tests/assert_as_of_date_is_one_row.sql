-- The marts cross join int_as_of_date: more or fewer than one row would multiply or empty them.
select count(*) as as_of_rows
from {{ ref('int_as_of_date') }}
having count(*) <> 1
