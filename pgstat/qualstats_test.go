package pgstat

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
)

func TestConstValue(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{`'pending'::text`, "pending", true},
		{`'it''s'::text`, "it's", true},
		{`5::integer`, "5", true},
		{`-3.5::numeric`, "-3.5", true},
		{`'2026-01-01'::date`, "2026-01-01", true},
		{`'{1,2}'::integer[]`, "", false}, // an array: not compared with most common values
		{`ARRAY[1, 2]`, "", false},
		{`'a'::text || 'b'`, "", false},
		{`'unterminated`, "", false},
		{``, "", false},
	} {
		got, ok := ConstValue(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("ConstValue(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// TestCollectQualstats: pg_qualstats samples the values a prepared
// statement runs with under custom plans; the snapshot keeps, per
// statement and column, the ones that are most common values of the
// column, and counts the others (a customer id) without their values.
func TestCollectQualstats(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DB(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	pgtest.RequireQualstats(t, conn)
	for _, q := range []string{
		`CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL)`,
		`INSERT INTO orders SELECT g, g, (ARRAY['delivered','shipped','pending','paid'])[1 + g % 4] FROM generate_series(1, 20000) g`,
		`ANALYZE orders`,
		`SELECT pg_stat_statements_reset()`, `SELECT pg_qualstats_reset()`,
		`SET pg_qualstats.enabled = on`, `SET pg_qualstats.sample_rate = 1`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// pgx prepares the statement; the first five executions of a
	// connection are custom plans, whose values pg_qualstats records.
	const sql = `SELECT id FROM orders WHERE customer_id = $1 AND status = $2`
	for i, status := range []string{"pending", "paid", "pending", "pending", "paid"} {
		rows, err := conn.Query(ctx, sql, 10+i, status)
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	snap, err := Collect(ctx, conn, CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	for _, st := range snap.Statements {
		if st.Query == sql {
			id = st.QueryID
		}
	}
	if id == 0 {
		t.Fatalf("statement not in the snapshot; problems %+v", snap.Problems)
	}
	status := snap.ObservedFor(id, "public", "orders", "status", "=")
	if status == nil || len(status.Values) != 2 || status.Values[0] != (ObservedValue{"pending", 3}) || status.Values[1] != (ObservedValue{"paid", 2}) || status.Other != 0 {
		t.Errorf("status: %+v, want pending 3, paid 2; all observed %+v; problems %+v", status, snap.Observed, snap.Problems)
	}
	cust := snap.ObservedFor(id, "public", "orders", "customer_id", "=")
	if cust == nil || len(cust.Values) != 0 || cust.Other != 5 {
		t.Errorf("customer_id: %+v, want no value kept and 5 others", cust)
	}
}
