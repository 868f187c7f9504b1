-- name: GetCustomer :one
SELECT id, email FROM shop.customers
WHERE id = $1;

-- name: FindCustomerByEmail :one
SELECT id, email FROM shop.customers
WHERE upper(email) = upper($1);

-- name: ListOrders :many
SELECT id, total FROM shop.orders
WHERE customer_id = $1
ORDER BY created_at DESC
LIMIT $2 OFFSET $3;
