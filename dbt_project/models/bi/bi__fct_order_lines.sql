-- fct_order_lines for BI tools; no direct identifiers.

select
    order_line_key,
    order_key,
    order_id,
    customer_key,
    source_system,
    source_table,
    sales_channel,
    store_id,
    product_id,
    product_line,
    category,
    quantity,
    unit_price,
    gross_amount,
    discount_amount,
    revenue,
    unit_cost,
    cost,
    margin,
    order_status,
    is_revenue,
    ordered_at,
    order_date
from {{ ref('fct_order_lines') }}
