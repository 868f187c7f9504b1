package whatif

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// liveOrders creates orders (200k rows) with a primary key and returns a
// connection and a snapshot of it.
func liveOrders(t *testing.T, extra ...string) (*pgx.Conn, *pgstat.Snapshot) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	setup := append([]string{
		`CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL, total numeric)`,
		`INSERT INTO orders (customer_id, status, created_at, total)
		 SELECT i % 5000, (ARRAY['new','paid','shipped','done'])[1 + i % 4], now() - i * interval '1 minute', i % 100
		 FROM generate_series(1, 200000) i`,
	}, extra...)
	setup = append(setup, `ANALYZE orders`)
	for _, q := range setup {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	snap := pgstat.New()
	snap.Server.VersionNum = 150000
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&snap.Server.VersionNum); err != nil {
		t.Fatal(err)
	}
	snap.Tables = []pgstat.Table{{Schema: "public", Name: "orders", Kind: "r", Rows: 200000, Columns: []pgstat.Column{
		col("id", -1), col("customer_id", 5000), col("status", 4), col("created_at", -1), col("total", 100)}}}
	rows, err := conn.Query(ctx, `SELECT c.relname, array_agg(a.attname ORDER BY k.n)::text[], ix.indisunique
		FROM pg_index ix JOIN pg_class c ON c.oid = ix.indexrelid
		CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY k(attnum, n)
		JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
		WHERE ix.indrelid = 'orders'::regclass GROUP BY c.relname, ix.indisunique`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		ix := pgstat.Index{Schema: "public", Table: "orders", Method: "btree", Valid: true}
		if err := rows.Scan(&ix.Name, &ix.Columns, &ix.Unique); err != nil {
			t.Fatal(err)
		}
		snap.Indexes = append(snap.Indexes, ix)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return conn, snap
}

func TestEvaluateCompositeCutsCost(t *testing.T) {
	conn, snap := liveOrders(t)
	ctx := context.Background()
	in := inputFor(t, `SELECT * FROM orders WHERE customer_id = $1 AND status = $2 ORDER BY created_at DESC LIMIT 20`)
	cands := Candidates(snap, []Input{in}, DefaultOptions())
	if len(cands) == 0 {
		t.Fatal("no candidates")
	}
	res, err := Evaluate(ctx, conn, snap, []Input{in}, cands, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if res.HypoPG == "" {
		pgtest.Unavailable(t, "hypopg not installed: %s", res.Unavailable)
	}
	if res.PlannerCalls == 0 || res.CandidatesTried == 0 {
		t.Errorf("planner calls %d, candidates tried %d", res.PlannerCalls, res.CandidatesTried)
	}
	recs := Select(snap, []Input{in}, res, DefaultOptions())
	if len(recs) != 1 {
		t.Fatalf("got %d recommendations, want 1: %+v", len(recs), recs)
	}
	r := recs[0]
	if !r.Verified || r.KeyList() != "customer_id, status, created_at DESC" {
		t.Errorf("recommendation %s verified=%v", r.ID(), r.Verified)
	}
	if r.CostAfter > r.CostBefore*0.5 || r.SizeBytes <= 0 {
		t.Errorf("cost %.1f -> %.1f, size %d: want at least a halving and a size", r.CostBefore, r.CostAfter, r.SizeBytes)
	}
	// The recorded result re-runs offline to the same choice.
	data, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	again := Select(snap, []Input{in}, &back, DefaultOptions())
	if len(again) != 1 || again[0].ID() != r.ID() || again[0].CostAfter != r.CostAfter {
		t.Errorf("offline selection differs: %+v", again)
	}
	// Nothing hypothetical is left behind.
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM hypopg_list_indexes").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d hypothetical indexes left", n)
	}
}

func TestEvaluateExistingIndexSuppresses(t *testing.T) {
	conn, snap := liveOrders(t, `CREATE INDEX IF NOT EXISTS orders_customer_status ON orders (customer_id, status)`)
	in := inputFor(t, `SELECT * FROM orders WHERE status = $1 AND customer_id = $2`)
	if cands := Candidates(snap, []Input{in}, DefaultOptions()); len(cands) != 0 {
		t.Errorf("existing (customer_id, status) should suppress the candidate, got %s", cands[0].ID())
	}
	// A wider candidate the planner has no use for is not recommended.
	in2 := inputFor(t, `SELECT * FROM orders WHERE customer_id = $1 AND status = $2 AND total = $3`)
	cands := Candidates(snap, []Input{in2}, DefaultOptions())
	res, err := Evaluate(context.Background(), conn, snap, []Input{in2}, cands, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if res.HypoPG == "" {
		pgtest.Unavailable(t, "hypopg not installed")
	}
	if recs := Select(snap, []Input{in2}, res, DefaultOptions()); len(recs) != 0 {
		t.Errorf("got %s: the existing index already serves the statement", recs[0].ID())
	}
}

func TestSelectOneCompositeForTwoStatements(t *testing.T) {
	conn, snap := liveOrders(t)
	a := inputFor(t, `SELECT * FROM orders WHERE customer_id = $1`)
	a.TotalMS = 5000
	b := inputFor(t, `SELECT * FROM orders WHERE customer_id = $1 AND status = $2`)
	b.QueryID = "2"
	b.TotalMS = 3000
	inputs := []Input{a, b}
	cands := Candidates(snap, inputs, DefaultOptions())
	res, err := Evaluate(context.Background(), conn, snap, inputs, cands, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if res.HypoPG == "" {
		pgtest.Unavailable(t, "hypopg not installed")
	}
	recs := Select(snap, inputs, res, DefaultOptions())
	if len(recs) != 1 {
		var ids []string
		for _, r := range recs {
			ids = append(ids, r.ID())
		}
		t.Fatalf("got %q, want one composite for both statements", ids)
	}
	if len(recs[0].Statements) != 2 {
		t.Errorf("the index serves %d statements, want 2", len(recs[0].Statements))
	}
}

func TestEvaluateWithoutHypoPG(t *testing.T) {
	conn, snap := liveOrders(t, `DROP EXTENSION IF EXISTS hypopg`)
	in := inputFor(t, `SELECT * FROM orders WHERE customer_id = $1`)
	res, err := Evaluate(context.Background(), conn, snap, []Input{in}, Candidates(snap, []Input{in}, DefaultOptions()), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if res.HypoPG != "" || res.Install == "" {
		t.Fatalf("want an unavailable result with an install hint, got %+v", res)
	}
	recs := Select(snap, []Input{in}, res, DefaultOptions())
	if len(recs) != 1 || recs[0].Verified || recs[0].KeyList() != "customer_id" {
		t.Errorf("want one unverified (customer_id) recommendation, got %+v", recs)
	}
}

func TestVerifyMeasures(t *testing.T) {
	conn, snap := liveOrders(t)
	in := inputFor(t, `SELECT * FROM orders WHERE customer_id = $1`)
	ctx := context.Background()
	cands := Candidates(snap, []Input{in}, DefaultOptions())
	res, err := Evaluate(ctx, conn, snap, []Input{in}, cands, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if res.HypoPG == "" {
		pgtest.Unavailable(t, "hypopg not installed")
	}
	recs := Select(snap, []Input{in}, res, DefaultOptions())
	ms, err := Verify(ctx, conn, recs, []Input{in}, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Skipped != "" || !ms[0].UsedIndex || ms[0].BeforeMS <= 0 {
		t.Fatalf("measurement %+v", ms)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_indexes WHERE tablename = 'orders'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d indexes on orders after Verify, want only the primary key (rolled back)", n)
	}
}
