package whatif

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// liveRentals creates rentals (200k rows: return_date NULL for 2.5%,
// status 'open' for 2%, archived false for 3%), vacuumed and analysed, and
// statistics counters reset, and returns a connection and the snapshot
// pgstat collects of it.
func liveRentals(t *testing.T) (*pgx.Conn, *pgstat.Snapshot) {
	t.Helper()
	conn := liveDB(t,
		// The test cluster commits asynchronously; VACUUM marks a page
		// all-visible only once its rows' commit is flushed.
		`SET synchronous_commit = on`,
		`CREATE TABLE rentals (id int PRIMARY KEY, customer_id int NOT NULL, rental_date timestamptz NOT NULL,
			return_date timestamptz, status text NOT NULL, archived boolean NOT NULL, amount numeric(6,2) NOT NULL, note text)`,
		`INSERT INTO rentals SELECT g, 1 + (g * 31) % 5000, timestamptz '2026-01-01' + g * interval '1 minute',
			CASE WHEN g % 40 = 0 THEN NULL ELSE timestamptz '2026-01-04' + g * interval '1 minute' END,
			CASE WHEN g % 50 = 0 THEN 'open' WHEN g % 2 = 0 THEN 'closed' ELSE 'returned' END,
			g % 33 <> 0, g % 100, repeat('x', 200)
		 FROM generate_series(1, 200000) g`,
		`VACUUM ANALYZE rentals`,
		`SELECT pg_stat_reset()`, // the load's inserts are not the workload's writes
	)
	snap, err := pgstat.Collect(context.Background(), conn, pgstat.CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return conn, snap
}

// chosen evaluates one statement with HypoPG and returns the CREATE INDEX of
// each recommendation, and the recommendations.
func chosen(t *testing.T, conn *pgx.Conn, snap *pgstat.Snapshot, sql string) (string, []Recommendation) {
	t.Helper()
	got, recs, _ := chosenFor(t, conn, snap, inputFor(t, sql))
	return got, recs
}

// chosenFor is chosen for a statement input of the test's own (its
// queryid, rows per call), with the what-if result.
func chosenFor(t *testing.T, conn *pgx.Conn, snap *pgstat.Snapshot, in Input) (string, []Recommendation, *Result) {
	t.Helper()
	sql := in.Query
	res, err := Evaluate(context.Background(), conn, snap, []Input{in}, Candidates(snap, []Input{in}, DefaultOptions()), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if res.HypoPG == "" {
		pgtest.Unavailable(t, "hypopg not installed: %s", res.Unavailable)
	}
	for _, cc := range res.Candidates {
		if cc.Error != "" {
			t.Errorf("%s: candidate %s: %s", sql, cc.ID, cc.Error)
		}
	}
	recs := Select(snap, []Input{in}, res, DefaultOptions())
	var got []string
	for _, r := range recs {
		if !r.Verified {
			t.Errorf("%s: %s not verified", sql, r.ID())
		}
		got = append(got, r.CreateSQL())
	}
	return strings.Join(got, "; "), recs, res
}

// buildAndUse runs the fix of r for real (CREATE INDEX CONCURRENTLY), checks
// that the index is valid and that the planner uses it for sql (a generic
// plan, each $n = 1: the predicate of a partial index is proved implied by
// the statement's WHERE), then drops it. It returns the plan.
func buildAndUse(t *testing.T, conn *pgx.Conn, r Recommendation, sql string, params int) string {
	t.Helper()
	ctx := context.Background()
	for _, q := range r.FixSQL() {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	defer func() {
		if _, err := conn.Exec(ctx, "DROP INDEX "+r.Name()); err != nil {
			t.Error(err)
		}
	}()
	var valid bool
	if err := conn.QueryRow(ctx, "SELECT indisvalid FROM pg_index WHERE indexrelid = $1::regclass", r.Name()).Scan(&valid); err != nil || !valid {
		t.Fatalf("%s: valid %v, %v", r.Name(), valid, err)
	}
	args := make([]string, params)
	for i := range args {
		args[i] = "1"
	}
	exec := "EXPLAIN EXECUTE s"
	if params > 0 {
		exec += "(" + strings.Join(args, ", ") + ")"
	}
	for _, q := range []string{"SET plan_cache_mode = force_generic_plan", "PREPARE s AS " + sql} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	defer conn.Exec(ctx, "DEALLOCATE s")
	rows, err := conn.Query(ctx, exec)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(lines, "\n")
	if !strings.Contains(plan, r.Name()) || r.Covering() && !strings.Contains(plan, "Index Only Scan") {
		t.Errorf("%s: the built index %s is not used (by an index-only scan when covering):\n%s", sql, r.Name(), plan)
	}
	var size int64
	if err := conn.QueryRow(ctx, "SELECT pg_relation_size($1::regclass)", r.Name()).Scan(&size); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: built %d bytes, HypoPG %d", r.Name(), size, r.SizeBytes)
	return plan
}

// TestEvaluatePartial checks that a constant predicate selecting a few
// percent of the rows gets a partial index, far smaller than the plain one
// the statement got before, and that a parameter or a predicate selecting
// most rows does not.
func TestEvaluatePartial(t *testing.T) {
	conn, snap := liveRentals(t)
	for _, c := range []struct{ sql, want string }{
		// No other key: the primary key is the key.
		{`SELECT id, customer_id, rental_date FROM rentals WHERE return_date IS NULL`,
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS rentals_id_where_return_date_is_null_idx ON public.rentals USING btree (id) WHERE return_date IS NULL`},
		// The other equality key, and the constant of the statement.
		{`SELECT id, rental_date FROM rentals WHERE customer_id = $1 AND status = 'open'`,
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS rentals_customer_id_where_status_open_idx ON public.rentals USING btree (customer_id) WHERE status = 'open'`},
		// A boolean column; the ORDER BY is the key.
		{`SELECT id, note FROM rentals WHERE NOT archived ORDER BY rental_date DESC LIMIT 20`,
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS rentals_rental_date_where_not_archived_idx ON public.rentals USING btree (rental_date DESC) WHERE NOT archived`},
		// Controls: a parameter cannot be a predicate; IS NOT NULL selects
		// 97.5%. (note is too wide for a covering index.)
		{`SELECT id, note FROM rentals WHERE customer_id = $1 AND status = $2`,
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS rentals_customer_id_status_idx ON public.rentals USING btree (customer_id, status)`},
		{`SELECT id, note FROM rentals WHERE customer_id = $1 AND return_date IS NOT NULL`,
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS rentals_customer_id_idx ON public.rentals USING btree (customer_id)`},
	} {
		got, recs := chosen(t, conn, snap, c.sql)
		if got != c.want {
			t.Errorf("%s\n got: %s\nwant: %s", c.sql, got, c.want)
			continue
		}
		buildAndUse(t, conn, recs[0], c.sql, strings.Count(c.sql, "$"))
		if r := recs[0]; r.Partial() {
			// Its size is the predicate's rows', not the table's: under a
			// tenth of the plain index on the same keys.
			plain := r.Candidate
			plain.Where = ""
			var full int64
			if err := conn.QueryRow(context.Background(), "SELECT hypopg_relation_size(indexrelid) FROM hypopg_create_index($1)", hypoSQL(plain)).Scan(&full); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(context.Background(), "SELECT hypopg_reset()"); err != nil {
				t.Fatal(err)
			}
			if r.SizeBytes <= 0 || r.SizeBytes*10 > full {
				t.Errorf("%s: partial index %d bytes, plain one %d: want under a tenth", c.sql, r.SizeBytes, full)
			}
			t.Logf("%s: partial %d bytes, plain %d bytes", r.Name(), r.SizeBytes, full)
		}
	}
}

// TestPartialCandidatesCredit checks, without a server, that a partial
// candidate is credited only to the statements that have its predicate,
// with their constant, and never merges with a plain candidate.
func TestPartialCandidatesCredit(t *testing.T) {
	snap := pgstat.New()
	nf := func(f float64) *float64 { return &f }
	snap.Tables = []pgstat.Table{{Schema: "public", Name: "rentals", Kind: "r", Rows: 200000, Pages: 4000, Columns: []pgstat.Column{
		{Name: "id", Type: "integer", NDistinct: nf(-1), NullFrac: nf(0), AvgWidth: 4},
		{Name: "customer_id", Type: "integer", NDistinct: nf(5000), NullFrac: nf(0), AvgWidth: 4},
		{Name: "status", Type: "text", NDistinct: nf(3), NullFrac: nf(0), AvgWidth: 6,
			MostCommonValues: []string{"closed", "returned", "open"}, MostCommonFreqs: []float64{0.49, 0.49, 0.02}},
	}}}
	in := func(id, sql string) Input { i := inputFor(t, sql); i.QueryID = id; return i }
	inputs := []Input{
		in("1", `SELECT id FROM rentals WHERE customer_id = $1 AND status = 'open'`),
		in("2", `SELECT id FROM rentals WHERE customer_id = $1`),
		in("3", `SELECT id FROM rentals WHERE customer_id = $1 AND status = 'closed'`), // 49%: no partial
		in("4", `SELECT id FROM rentals WHERE customer_id = $1 AND status = 'open' ORDER BY id`),
		in("5", `SELECT id FROM rentals WHERE customer_id = $1 AND status = 'today'`), // a word read at build time
	}
	byID := map[string]Candidate{}
	for _, c := range Candidates(snap, inputs, DefaultOptions()) {
		byID[c.ID()] = c
	}
	// Statement 1's (customer_id) merges into statement 4's longer one,
	// which has the same predicate; statements 2 and 3 lack it.
	p, ok := byID[`public.rentals btree (customer_id, id) WHERE status = 'open'`]
	if !ok {
		t.Fatalf("no partial candidate on (customer_id, id) WHERE status = 'open': %v", keysOf(byID))
	}
	if strings.Join(p.QueryIDs, ",") != "4,1" || !p.Alternative || p.Fraction != 0.02 {
		t.Errorf("partial candidate %+v: want statements 4 and 1, an alternative, fraction 0.02", p)
	}
	for id, c := range byID {
		if c.Partial() && c.Where != `status = 'open'` {
			t.Errorf("%s: a partial candidate for another predicate", id)
		}
	}
	if e := p.EstimatedSize(); e <= 0 || e*10 > (Candidate{Schema: "public", Table: "rentals", Method: "btree", Keys: p.Keys, RowsEstimate: 200000, KeyWidth: 4}).EstimatedSize() {
		t.Errorf("partial estimate %d: want a fiftieth of the plain one", e)
	}
}

func keysOf(m map[string]Candidate) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
