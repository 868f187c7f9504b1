ALTER TABLE app.order_items
    ADD CONSTRAINT order_items_product_fk FOREIGN KEY (product_id) REFERENCES shop.products (id);

CREATE INDEX orders_shipping_country_idx ON shop.orders (shipping_country);
