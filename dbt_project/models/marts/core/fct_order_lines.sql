-- One row per order line of the webshop and the stores (grain: order_line_key), linked to the buyer's
-- customer_key where the buyer is known (a webshop account or guest email, a scanned loyalty card).

select
    lines.order_line_key,
    lines.order_key,
    lines.order_id,
    identity_map.customer_key,
    lines.source_system,
    lines.source_table,
    lines.sales_channel,
    lines.store_id,
    lines.product_id,
    lines.product_line,
    lines.category,
    lines.quantity,
    lines.unit_price,
    lines.gross_amount,
    lines.discount_amount,
    lines.revenue,
    lines.unit_cost,
    lines.cost,
    lines.margin,
    lines.order_status,
    lines.is_revenue,
    lines.ordered_at,
    cast(lines.ordered_at as date) as order_date
from {{ ref('int_orders__unioned') }} as lines
left join {{ ref('customer_identity_map') }} as identity_map
    on
        lines.source_system = identity_map.source_system
        and lines.source_table = identity_map.source_table
        and lines.order_id = identity_map.source_record_id
