package sqlfacts

import "testing"

func BenchmarkRedact(b *testing.B) {
	sql := "SELECT o.id, o.created_at, c.email FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.status = 'shipped' AND c.email = 'ann@example.com' AND o.created_at > now() - interval '7 days' ORDER BY o.created_at DESC LIMIT 50"
	for i := 0; i < b.N; i++ {
		if _, err := Redact(sql); err != nil {
			b.Fatal(err)
		}
	}
}
