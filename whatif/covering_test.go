package whatif

import (
	"context"
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/pgstat"
)

// TestEvaluateCovering checks that a statement reading many scattered rows
// of a few narrow columns gets a covering index (an index-only scan, where
// the plain index still reads most of the table's pages), that the
// selection keeps one of the two variants, and that a wide column, a
// SELECT * and a write-heavy table get none.
func TestEvaluateCovering(t *testing.T) {
	conn, snap := liveRentals(t)
	for _, c := range []struct{ sql, want string }{
		{`SELECT customer_id, amount FROM rentals WHERE customer_id BETWEEN 100 AND 600`,
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS rentals_customer_id_incl_amount_idx ON public.rentals USING btree (customer_id) INCLUDE (amount)`},
		// 40 rows per customer: the plain index still fetches 40 heap pages
		// per call, the covering one none (planner cost 156 → 5).
		{`SELECT id, rental_date FROM rentals WHERE customer_id = $1`,
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS rentals_customer_id_incl_id_rental_date_idx ON public.rentals USING btree (customer_id) INCLUDE (id, rental_date)`},
		// Controls: a wide column (note, 200 bytes) and every column.
		{`SELECT customer_id, note FROM rentals WHERE customer_id = $1`,
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS rentals_customer_id_idx ON public.rentals USING btree (customer_id)`},
		{`SELECT * FROM rentals WHERE customer_id = $1`,
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS rentals_customer_id_idx ON public.rentals USING btree (customer_id)`},
	} {
		got, recs := chosen(t, conn, snap, c.sql)
		if got != c.want {
			t.Errorf("%s\n got: %s\nwant: %s", c.sql, got, c.want)
			continue
		}
		buildAndUse(t, conn, recs[0], c.sql, strings.Count(c.sql, "$"))
	}
	// A write-heavy table: no covering candidate at all.
	heavy := *snap
	heavy.Tables = append([]pgstat.Table(nil), snap.Tables...)
	for i := range heavy.Tables {
		heavy.Tables[i].NTupUpd = 10 * (heavy.Tables[i].SeqTupRead + heavy.Tables[i].IdxTupFetch + 1)
	}
	in := inputFor(t, `SELECT customer_id, amount FROM rentals WHERE customer_id BETWEEN 100 AND 600`)
	for _, c := range Candidates(&heavy, []Input{in}, DefaultOptions()) {
		if c.Covering() {
			t.Errorf("write-heavy table: covering candidate %s", c.ID())
		}
	}
}

// TestSelectCoveringReplacesPlain checks the choice between a plain index
// and its covering variant on recorded costs: the covering one replaces the
// plain one the greedy took first (never both), and the plain one is kept
// when the INCLUDE columns buy under 1% of the set's benefit or save no
// statement min_cost_saved cost units.
func TestSelectCoveringReplacesPlain(t *testing.T) {
	plain := Candidate{Schema: "public", Table: "t", Method: "btree", Keys: []Key{{Column: "a"}}, EqualityKeys: 1, QueryIDs: []string{"1"}}
	covering := plain
	covering.Include = []string{"b"}
	covering.Alternative = true
	for _, c := range []struct {
		name                    string
		before, plain, covering float64 // planner costs
		maxNew                  int
		want                    string
	}{
		{"index-only scan pays", 10000, 200, 20, 0, covering.ID()},
		// The greedy takes the plain one first (more benefit per byte);
		// at the cap of one index the covering one can still replace it.
		{"index-only scan pays, at most one index", 10000, 200, 20, 1, covering.ID()},
		{"under 1% better", 10000, 200, 199.5, 0, plain.ID()},
		// 7% better, but 70 cost units (a heap fetch or two) per call.
		{"under min_cost_saved", 1000, 150, 80, 0, plain.ID()},
	} {
		opts := DefaultOptions()
		opts.MaxNewIndexes = c.maxNew
		res := &Result{HypoPG: "1.3.1", Options: DefaultOptions(),
			Statements: []StatementCost{{QueryID: "1", Cost: c.before}},
			Candidates: []CandidateCost{{Candidate: plain, ID: plain.ID(), SizeBytes: 1 << 20}, {Candidate: covering, ID: covering.ID(), SizeBytes: 3 << 20}},
			Evaluations: []Evaluation{
				{QueryID: "1", Set: []string{plain.ID()}, Cost: c.plain, Used: []string{plain.ID()}},
				{QueryID: "1", Set: []string{covering.ID()}, Cost: c.covering, Used: []string{covering.ID()}},
			}}
		in := Input{QueryID: "1", Query: "SELECT a, b FROM t WHERE a = $1", Calls: 1000, TotalMS: 5000}
		recs := Select(nil, []Input{in}, res, opts)
		var got []string
		for _, r := range recs {
			got = append(got, r.ID())
		}
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: chose %v, want %s", c.name, got, c.want)
		}
	}
}

// TestEvaluateCoveringExtendsExisting: a statement an existing plain index
// already serves, joined to another table, whose heap fetches a covering
// variant of that index removes (the shop's product page: count(r.id),
// avg(r.rating) over a product's reviews). The candidate reads the join's
// columns of its own table by alias, names the index it makes redundant,
// and the planner uses it for an index-only scan once built.
func TestEvaluateCoveringExtendsExisting(t *testing.T) {
	conn, snap := liveRentals(t)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL)`,
		`INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 5000) g`,
		`CREATE INDEX rentals_customer_id_idx ON rentals (customer_id)`,
		`VACUUM ANALYZE customers`, `VACUUM ANALYZE rentals`,
		// The loads' inserts are not the workload's writes: flush this
		// session's pending statistics, then reset them.
		`SELECT pg_stat_force_next_flush()`, `SELECT 1`, `SELECT pg_stat_reset()`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	snap, err := pgstat.Collect(ctx, conn, pgstat.CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sql := `SELECT c.id, c.name, count(r.id), sum(r.amount) FROM customers c LEFT JOIN rentals r ON r.customer_id = c.id WHERE c.id = $1 GROUP BY c.id`
	got, recs := chosen(t, conn, snap, sql)
	want := `CREATE INDEX CONCURRENTLY IF NOT EXISTS rentals_customer_id_incl_id_amount_idx ON public.rentals USING btree (customer_id) INCLUDE (id, amount)`
	if got != want {
		t.Fatalf("%s\n got: %s\nwant: %s", sql, got, want)
	}
	if recs[0].Extends != "rentals_customer_id_idx" {
		t.Errorf("extends %q, want rentals_customer_id_idx", recs[0].Extends)
	}
	if plan := buildAndUse(t, conn, recs[0], sql, 1); !strings.Contains(plan, "Index Only Scan") {
		t.Errorf("built index not used for an index-only scan:\n%s", plan)
	}
	// Served by a unique index on the keys, or by a longer one only: no
	// covering candidate (it would be a second index for the same keys).
	for _, q := range []string{
		`DROP INDEX rentals_customer_id_idx`,
		`CREATE UNIQUE INDEX rentals_customer_id_id_idx ON rentals (customer_id, id)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if snap, err = pgstat.Collect(ctx, conn, pgstat.CollectOptions{}); err != nil {
		t.Fatal(err)
	}
	in := inputFor(t, sql)
	for _, c := range Candidates(snap, []Input{in}, DefaultOptions()) {
		if c.Table == "rentals" {
			t.Errorf("served by a longer unique index: candidate %s (extends %q)", c.ID(), c.Extends)
		}
	}
}

// TestBulkReadGetsNoCandidate: a SELECT returning most of its table per
// call gets no index candidate; the same statement returning a few rows
// per call does.
func TestBulkReadGetsNoCandidate(t *testing.T) {
	snap := testSnapshot()
	sql := `SELECT id, status FROM orders WHERE status = $1 ORDER BY id`
	in := inputFor(t, sql)
	rows := snap.RowCount(snap.Table("public", "orders"))
	in.Rows = int64(0.9 * rows * float64(in.Calls))
	if cs := Candidates(snap, []Input{in}, DefaultOptions()); len(cs) != 0 {
		t.Errorf("bulk read (90%% of the rows per call): candidates %v", cs)
	}
	in.Rows = in.Calls * 10
	if cs := Candidates(snap, []Input{in}, DefaultOptions()); len(cs) == 0 {
		t.Error("10 rows per call: no candidate")
	}
}

// TestSelectPruneKeepsWhatRemains: an index buying under 1% of the set's
// benefit is kept when it removes at least 5% of the time the set leaves
// (a statement small before the set, large after it), and dropped when it
// is under both.
func TestSelectPruneKeepsWhatRemains(t *testing.T) {
	big := Candidate{Schema: "public", Table: "t", Method: "btree", Keys: []Key{{Column: "a"}}, EqualityKeys: 1, QueryIDs: []string{"1"}}
	small := Candidate{Schema: "public", Table: "u", Method: "btree", Keys: []Key{{Column: "b"}}, EqualityKeys: 1, QueryIDs: []string{"2"}}
	for _, c := range []struct {
		name    string
		smallMS float64
		want    int
	}{
		// The set saves ~9,980 ms of 10,580: 600 ms remain. 80 ms of it is
		// under 1% of the set's benefit (99.8) but over 5% of what remains (30).
		{"a fifth of what remains", 80, 2},
		// 20 ms: under both.
		{"a trifle", 20, 1},
	} {
		res := &Result{HypoPG: "1.3.1", Options: DefaultOptions(),
			Statements: []StatementCost{{QueryID: "1", Cost: 1000}, {QueryID: "2", Cost: 1000}, {QueryID: "3", Cost: 1000}},
			Candidates: []CandidateCost{{Candidate: big, ID: big.ID(), SizeBytes: 1 << 20}, {Candidate: small, ID: small.ID(), SizeBytes: 1 << 20}},
			Evaluations: []Evaluation{
				{QueryID: "1", Set: []string{big.ID()}, Cost: 10, Used: []string{big.ID()}},
				{QueryID: "2", Set: []string{small.ID()}, Cost: 10, Used: []string{small.ID()}},
			}}
		inputs := []Input{
			{QueryID: "1", Query: "SELECT * FROM t WHERE a = $1", Calls: 1000, TotalMS: 10000},
			{QueryID: "2", Query: "SELECT * FROM u WHERE b = $1", Calls: 1000, TotalMS: c.smallMS},
			{QueryID: "3", Query: "SELECT * FROM v", Calls: 10, TotalMS: 600 - c.smallMS/100},
		}
		if got := Select(nil, inputs, res, DefaultOptions()); len(got) != c.want {
			t.Errorf("%s: chose %d indexes (%v), want %d", c.name, len(got), got, c.want)
		}
	}
}
