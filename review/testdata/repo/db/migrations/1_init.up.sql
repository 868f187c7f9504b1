CREATE SCHEMA IF NOT EXISTS app;

CREATE TABLE app.customers (
    id bigint PRIMARY KEY,
    email text NOT NULL
);

CREATE TABLE app.orders (
    id bigint PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES app.customers (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX orders_created_at_idx ON app.orders (created_at);
