-- The order items are looked up by order.
CREATE INDEX order_items_order_id_idx ON app.order_items (order_id);

CREATE INDEX orders_customer_id_idx ON app.orders (customer_id);

CREATE INDEX CONCURRENTLY customers_email_idx ON app.customers (email);
