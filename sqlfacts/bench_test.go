package sqlfacts

import (
	"testing"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// workload is a realistic mix of statements as pg_stat_statements shows them.
var workload = []string{
	"SELECT id, email, name FROM users WHERE id = $1",
	"SELECT * FROM users WHERE lower(email) = lower($1) LIMIT $2",
	"SELECT o.id, o.total, o.created_at FROM shop.orders o WHERE o.customer_id = $1 AND o.status = $2 ORDER BY o.created_at DESC LIMIT $3",
	"SELECT p.id, p.name, p.price FROM products p WHERE p.name ILIKE $1 AND p.active ORDER BY p.price LIMIT $2 OFFSET $3",
	"SELECT c.id, c.name, count(o.id) AS orders, sum(o.total) FROM customers c LEFT JOIN orders o ON o.customer_id = c.id WHERE c.created_at >= $1 GROUP BY c.id, c.name ORDER BY 4 DESC LIMIT $2",
	"SELECT oi.product_id, oi.quantity, p.name FROM order_items oi JOIN products p ON p.id = oi.product_id WHERE oi.order_id = $1",
	"INSERT INTO orders (customer_id, status, total, created_at) VALUES ($1, $2, $3, now()) RETURNING id",
	"INSERT INTO order_items (order_id, product_id, quantity, price) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8), ($9, $10, $11, $12)",
	"UPDATE orders SET status = $1, updated_at = now() WHERE id = $2 AND status = $3",
	"UPDATE products SET stock = stock - $1 WHERE id = $2 AND stock >= $1",
	"DELETE FROM sessions WHERE expires_at < now() - $1::interval",
	"SELECT id FROM jobs WHERE queue = $1 AND run_at <= now() ORDER BY priority DESC, run_at LIMIT $2 FOR UPDATE SKIP LOCKED",
	"WITH recent AS (SELECT customer_id, max(created_at) AS last FROM orders WHERE created_at > now() - $1::interval GROUP BY customer_id) SELECT c.email, r.last FROM customers c JOIN recent r ON r.customer_id = c.id WHERE c.country = $2",
	"SELECT u.id FROM users u WHERE EXISTS (SELECT $1 FROM orders o WHERE o.customer_id = u.id AND o.total > $2) AND u.id NOT IN (SELECT user_id FROM banned)",
	"SELECT date_trunc($1, created_at) AS day, count(*) FROM events WHERE kind = ANY($2) AND created_at BETWEEN $3 AND $4 GROUP BY 1 ORDER BY 1",
	"SELECT a.name, b.title FROM authors a, books b WHERE a.id = b.author_id AND b.published_at IS NOT NULL AND (b.genre = $1 OR b.genre = $2)",
	"INSERT INTO daily_stats (day, orders, revenue) SELECT created_at::date, count(*), sum(total) FROM orders WHERE created_at >= $1 GROUP BY 1 ON CONFLICT (day) DO UPDATE SET orders = excluded.orders, revenue = excluded.revenue",
	"SELECT set_config($1, $2, $3)",
	"BEGIN",
	"SELECT \"Id\", \"Name\" FROM \"Crm\".\"Account\" WHERE \"OwnerId\" = $1 AND \"Deleted\" = $2 ORDER BY \"Name\"",
}

// BenchmarkAnalyze measures the parse itself (analyze, without the cache
// Analyze puts in front of it); BenchmarkAnalyzeCached a text seen before.
func BenchmarkAnalyze(b *testing.B) {
	for _, q := range workload {
		if _, err := analyze(q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, q := range workload {
			if _, err := analyze(q); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(workload))/b.Elapsed().Seconds(), "stmts/s")
}

func BenchmarkAnalyzeCached(b *testing.B) {
	for _, q := range workload {
		if _, err := Analyze(q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, q := range workload {
			if _, err := Analyze(q); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(workload))/b.Elapsed().Seconds(), "stmts/s")
}

// BenchmarkFingerprint measures pg_query's fingerprint, without the cache.
func BenchmarkFingerprint(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, q := range workload {
			if _, err := pg_query.Fingerprint(q); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(workload))/b.Elapsed().Seconds(), "stmts/s")
}

func BenchmarkSplit(b *testing.B) {
	file := ""
	for _, q := range workload {
		file += q + ";\n"
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Split(file); err != nil {
			b.Fatal(err)
		}
	}
}
