\set ON_ERROR_STOP on
-- Monthly reports, run by hand with psql.
SELECT id, email FROM shop.customers WHERE lower(email) = 'a@example.com';

COPY shop.countries (code, name) FROM stdin;
FR	France; not SQL
DE	Germany
\.

SELECT id, name FROM shop.products WHERE name ILIKE '%lamp%';

SELECT id FROM shop.orders ORDER BY created_at DESC LIMIT 20 OFFSET 5000;

SELEC id FROM shop.orders;

-- pgadvisor-ignore leading-wildcard: the back-office search runs once a day
SELECT id FROM shop.products WHERE description LIKE '%cable%';

SELECT id FROM shop.products WHERE sku LIKE '%-XL'; -- pgadvisor-ignore leading-wildcard

SELECT count(*) FROM shop.orders WHERE status = 'paid';
