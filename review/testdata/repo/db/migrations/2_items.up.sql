CREATE TABLE app.order_items (
    id bigint PRIMARY KEY,
    order_id bigint NOT NULL,
    product_id bigint NOT NULL
);

ALTER TABLE app.order_items ADD CONSTRAINT order_items_order_fk FOREIGN KEY (order_id) REFERENCES app.orders (id);
