-- One row per order line of the webshop and the stores in one shape (grain: order_line_key), with the
-- product's line and cost. The order header's status decides whether a line counts as revenue.

with

webshop_lines as (
    select
        {{ dbt.concat(["'webshop:'", 'order_lines.order_line_id']) }} as order_line_key,
        {{ dbt.concat(["'webshop:'", 'order_lines.order_id']) }} as order_key,
        order_lines.order_id,
        'webshop' as source_system,
        'orders' as source_table,
        'online' as sales_channel,
        cast(null as {{ dbt.type_string() }}) as store_id,
        order_lines.product_id,
        order_lines.quantity,
        order_lines.unit_price,
        order_lines.discount_amount,
        order_lines.line_amount,
        orders.status as order_status,
        orders.ordered_at
    from {{ ref('stg_webshop__order_lines') }} as order_lines
    inner join {{ ref('stg_webshop__orders') }} as orders
        on order_lines.order_id = orders.order_id
),

store_lines as (
    select
        {{ dbt.concat([
            "'pos:'", 'receipt_lines.receipt_id', "'#'", 'cast(receipt_lines.line_number as ' ~ dbt.type_string() ~ ')'
        ]) }}
            as order_line_key,
        {{ dbt.concat(["'pos:'", 'receipt_lines.receipt_id']) }} as order_key,
        receipt_lines.receipt_id as order_id,
        'pos' as source_system,
        'receipts' as source_table,
        'store' as sales_channel,
        receipts.store_id,
        receipt_lines.product_id,
        receipt_lines.quantity,
        receipt_lines.unit_price,
        receipt_lines.discount_amount,
        receipt_lines.line_amount,
        'completed' as order_status,
        receipts.receipt_at as ordered_at
    from {{ ref('stg_pos__receipt_lines') }} as receipt_lines
    inner join {{ ref('stg_pos__receipts') }} as receipts
        on receipt_lines.receipt_id = receipts.receipt_id
),

unioned as (
    select * from webshop_lines
    union all
    select * from store_lines
)

select
    unioned.order_line_key,
    unioned.order_key,
    unioned.order_id,
    unioned.source_system,
    unioned.source_table,
    unioned.sales_channel,
    unioned.store_id,
    unioned.product_id,
    products.product_line,
    products.category,
    unioned.quantity,
    unioned.unit_price,
    unioned.quantity * unioned.unit_price as gross_amount,
    coalesce(unioned.discount_amount, 0) as discount_amount,
    unioned.line_amount as revenue,
    products.unit_cost,
    unioned.quantity * products.unit_cost as cost,
    unioned.line_amount - unioned.quantity * products.unit_cost as margin,
    unioned.order_status,
    -- cancelled and returned orders earn nothing; the line stays for the record
    unioned.order_status not in ('cancelled', 'returned') as is_revenue,
    unioned.ordered_at
from unioned
left join {{ ref('stg_webshop__products') }} as products
    on unioned.product_id = products.product_id
where {{ on_or_before_as_of('unioned.ordered_at') }}
