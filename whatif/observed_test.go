package whatif

import (
	"context"
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/pgstat"
)

// TestEvaluateObservedPartial: the open-orders dashboard of the shop,
// status = $2 with $2 always 'pending' or 'paid' (2% of the rows) in the
// sampled executions. The statement gets a partial index WHERE status IN
// ('paid', 'pending'), costed with a custom plan for the values seen most,
// far smaller than the full composite; the planner uses it once built.
// Without the samples, or with a sampled value outside the most common
// ones, there is no partial candidate.
func TestEvaluateObservedPartial(t *testing.T) {
	conn := liveDB(t,
		`CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, shipping_country text NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL, total numeric(10,2) NOT NULL)`,
		`INSERT INTO orders SELECT g, g % 5000, (ARRAY['DE','FR','IT','ES','NL','BE','AT','PL','SE','DK'])[1 + (g * 7) % 10],
			CASE WHEN g % 100 < 70 THEN 'delivered' WHEN g % 100 < 80 THEN 'shipped' WHEN g % 100 < 98 THEN 'cancelled' WHEN g % 100 < 99 THEN 'pending' ELSE 'paid' END,
			timestamptz '2026-01-01' + g * interval '1 minute', g % 1000
		 FROM generate_series(1, 200000) g`,
		`ANALYZE orders`,
	)
	ctx := context.Background()
	snap, err := pgstat.Collect(ctx, conn, pgstat.CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sql := `SELECT id, customer_id, total, created_at FROM orders WHERE shipping_country = $1 AND status = $2 ORDER BY created_at LIMIT $3`
	in := inputFor(t, sql)
	in.QueryID = "4242"
	in.Rows = 100 * in.Calls
	observe := func(status []pgstat.ObservedValue, other int64) {
		snap.Observed = []pgstat.ObservedValues{
			{QueryID: 4242, Schema: "public", Table: "orders", Column: "status", Operator: "=", Values: status, Other: other},
			{QueryID: 4242, Schema: "public", Table: "orders", Column: "shipping_country", Operator: "=", Values: []pgstat.ObservedValue{{Value: "DE", Count: 11}, {Value: "FR", Count: 9}}},
		}
	}
	observe([]pgstat.ObservedValue{{Value: "pending", Count: 12}, {Value: "paid", Count: 8}}, 0)
	_, recs, res := chosenFor(t, conn, snap, in)
	if len(recs) != 1 || recs[0].Where != "status IN ('paid', 'pending')" || !recs[0].FromObserved || recs[0].KeyList() != "shipping_country, status, created_at" {
		for _, cc := range res.Candidates {
			t.Logf("candidate %s: %d bytes %s", cc.ID, cc.SizeBytes, cc.Error)
		}
		t.Fatalf("recommendations %+v, want one partial (shipping_country, status, created_at) WHERE status IN ('paid', 'pending')", recs)
	}
	r := recs[0]
	if len(res.Statements) != 1 || res.Statements[0].Mode != "custom" || res.Statements[0].Representative == nil ||
		!strings.Contains(res.Statements[0].Representative.Summary, "status = 'pending'") {
		t.Errorf("statement costing %+v, want a custom plan for status = 'pending'", res.Statements)
	}
	var plainSize int64
	for _, cc := range res.Candidates {
		if !cc.Partial() && !cc.Covering() && cc.Table == "orders" {
			plainSize = cc.SizeBytes
		}
	}
	t.Logf("%s: %d bytes (the full composite %d), cost %.1f → %.1f", r.Name(), r.SizeBytes, plainSize, r.CostBefore, r.CostAfter)
	if plainSize == 0 || r.SizeBytes*10 > plainSize {
		t.Errorf("partial %d bytes, full composite %d: want under a tenth", r.SizeBytes, plainSize)
	}
	// Built for real, the planner uses it for the values seen.
	for _, q := range r.FixSQL() {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var plan string
	if err := conn.QueryRow(ctx, `EXPLAIN (FORMAT JSON) SELECT id, customer_id, total, created_at FROM orders WHERE shipping_country = 'DE' AND status = 'paid' ORDER BY created_at LIMIT 100`).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan, r.Name()) {
		t.Errorf("built index %s not used:\n%s", r.Name(), plan)
	}
	if _, err := conn.Exec(ctx, "DROP INDEX "+r.Name()); err != nil {
		t.Fatal(err)
	}
	// A sampled value outside the most common ones, or too few samples: none.
	for _, c := range []struct {
		name   string
		status []pgstat.ObservedValue
		other  int64
	}{
		{"another value seen", []pgstat.ObservedValue{{Value: "pending", Count: 12}}, 1},
		{"two samples", []pgstat.ObservedValue{{Value: "pending", Count: 2}}, 0},
		{"a common value", []pgstat.ObservedValue{{Value: "delivered", Count: 20}}, 0},
	} {
		observe(c.status, c.other)
		for _, cand := range Candidates(snap, []Input{in}, DefaultOptions()) {
			if cand.FromObserved {
				t.Errorf("%s: partial candidate %s", c.name, cand.ID())
			}
		}
	}
}
