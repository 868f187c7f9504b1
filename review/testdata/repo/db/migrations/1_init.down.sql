DROP TABLE app.orders;
DROP TABLE app.customers;
DROP SCHEMA app;
