package whatif

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/whatif/record"
)

func TestDedupRatio(t *testing.T) {
	for _, tc := range []struct {
		name           string
		rows, distinct float64
		width          int
		lo, hi         float64
	}{
		{"unique keys", 1e5, 1e5, 8, 1, 1},
		{"nothing known", 1e5, 0, 8, 1, 1},
		{"half the keys seen twice", 1e5, 7.5e4, 4, 0.8, 0.95},
		{"4 values of a short text", 1e5, 4, 5, 0.3, 0.45},
		{"5,000 customers", 2e5, 5e3, 4, 0.3, 0.45},
		{"a key too wide for posting lists", 1e5, 10, 2000, 1, 1},
	} {
		got := record.DedupRatio(tc.rows, tc.distinct, tc.width)
		if got < tc.lo || got > tc.hi {
			t.Errorf("%s: DedupRatio(%v, %v, %d) = %.3f, want in [%.2f, %.2f]", tc.name, tc.rows, tc.distinct, tc.width, got, tc.lo, tc.hi)
		}
	}
}

// TestDedupSizeMatchesBuiltIndex builds index shapes for real on the
// throwaway cluster and compares their size with HypoPG's estimate and
// with the estimate corrected for deduplication: the corrected one is
// within dedupFactor of the built size for every shape, and HypoPG's alone
// is not for the shapes with many duplicates.
func TestDedupSizeMatchesBuiltIndex(t *testing.T) {
	const dedupFactor = 1.5
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var hypo bool
	if err := conn.QueryRow(ctx, `SELECT count(*) > 0 FROM pg_extension WHERE extname = 'hypopg'`).Scan(&hypo); err != nil {
		t.Fatal(err)
	}
	if !hypo {
		if _, err := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS hypopg`); err != nil {
			pgtest.Unavailable(t, "hypopg not installed: %v", err)
		}
	}
	for _, q := range []string{
		`CREATE TABLE views (id int NOT NULL, customer_id int NOT NULL, status text NOT NULL,
			created_at timestamp NOT NULL, total numeric NOT NULL, country text NOT NULL, region text NOT NULL)`,
		`INSERT INTO views SELECT i, (i * 7919) % 5000, (ARRAY['new','paid','shipped','done'])[1 + i % 4],
			timestamp '2026-01-01' + i * interval '1 minute', i % 100,
			'c' || (i % 40), 'r' || (i % 40)
		 FROM generate_series(1, 150000) i`,
		`ANALYZE views`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var version int
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < 130000 {
		t.Skip("btree deduplication is PostgreSQL 13+")
	}
	tbl := pgstat.Table{Schema: "public", Name: "views", Kind: "r", Rows: 150000}
	rows, err := conn.Query(ctx, `SELECT attname::text, n_distinct::float8, avg_width FROM pg_stats WHERE tablename = 'views'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c pgstat.Column
		var nd float64
		if err := rows.Scan(&c.Name, &nd, &c.AvgWidth); err != nil {
			t.Fatal(err)
		}
		c.NDistinct = &nd
		tbl.Columns = append(tbl.Columns, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	snap := pgstat.New()
	snap.Server.VersionNum = version
	snap.Tables = []pgstat.Table{tbl}
	cat := &catalog{snap: snap}
	e := &evaluator{ctx: ctx, conn: conn, versionNum: version}
	for _, tc := range []struct {
		name     string
		keys     []Key
		include  []string
		disabled bool // PostgreSQL does not deduplicate it
		oldOff   bool // HypoPG's size is off by more than dedupFactor
	}{
		{name: "unique key", keys: []Key{{Column: "id"}}},
		{name: "low-cardinality key", keys: []Key{{Column: "status"}}, oldOff: true},
		{name: "composite", keys: []Key{{Column: "customer_id"}, {Column: "status"}}, oldOff: true},
		{name: "correlated composite", keys: []Key{{Column: "country"}, {Column: "region"}}, oldOff: true},
		{name: "expression", keys: []Key{{Expression: "date(created_at)"}}, oldOff: true},
		// No duplicates at all (created_at is unique): nothing to
		// deduplicate, yet HypoPG's size is far above the built one.
		{name: "unique composite", keys: []Key{{Column: "customer_id"}, {Column: "status"}, {Column: "created_at", Desc: true}}, oldOff: true},
		{name: "INCLUDE", keys: []Key{{Column: "customer_id"}}, include: []string{"status"}, disabled: true},
		{name: "numeric", keys: []Key{{Column: "total"}}, disabled: true},
	} {
		c := Candidate{Schema: "public", Table: "views", Method: "btree", Keys: tc.keys, Include: tc.include, RowsEstimate: 150000}
		c.KeyWidth = cat.keysWidth(&tbl, append(append([]Key(nil), tc.keys...), columnKeys(tc.include)...))
		var oid uint32
		if err := conn.QueryRow(ctx, `SELECT indexrelid FROM hypopg_create_index($1)`, hypoSQL(c)).Scan(&oid); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var hypoSize, built int64
		if err := conn.QueryRow(ctx, `SELECT hypopg_relation_size($1)`, oid).Scan(&hypoSize); err != nil {
			t.Fatal(err)
		}
		size, d := e.dedupSize(snap, c, hypoSize)
		if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE INDEX size_probe ON views USING btree (%s)%s", c.KeyList(), c.Tail())); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := conn.QueryRow(ctx, `SELECT pg_relation_size('size_probe')`).Scan(&built); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `DROP INDEX size_probe; SELECT hypopg_reset()`); err != nil {
			t.Fatal(err)
		}
		within := func(v int64) bool { r := float64(v) / float64(built); return r <= dedupFactor && r >= 1/dedupFactor }
		t.Logf("| %s | `%s` | %s | %s | %s |", tc.name, c.ID(), mbText(built), mbText(hypoSize), mbText(size))
		if d == nil {
			t.Errorf("%s: no deduplication note", tc.name)
			continue
		}
		if !within(size) {
			t.Errorf("%s: estimate %d bytes, built %d (HypoPG %d; %+v): not within %.1f×", tc.name, size, built, hypoSize, *d, dedupFactor)
		}
		if tc.oldOff && within(hypoSize) {
			t.Errorf("%s: HypoPG's %d bytes is already within %.1f× of %d: the shape does not test deduplication", tc.name, hypoSize, dedupFactor, built)
		}
		if tc.disabled != (d.Disabled != "") || tc.disabled && size != hypoSize {
			t.Errorf("%s: disabled %q, size %d (HypoPG %d), want disabled %v", tc.name, d.Disabled, size, hypoSize, tc.disabled)
		}
	}
}

// The distinct-key sample executes the keys: an expression calling user
// code (here an IMMUTABLE-marked PL/pgSQL function that advances a
// sequence each time it runs) is never sampled, whatever its volatility
// marking says; the estimate falls back to the statistics.
func TestDedupSampleRunsNoUserCode(t *testing.T) {
	ctx := context.Background()
	conn := liveDB(t,
		`CREATE SEQUENCE calls`,
		`CREATE FUNCTION bucket(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
		 BEGIN PERFORM nextval('calls'); RETURN i % 10; END $$`,
		`CREATE FUNCTION modulo(i int, m int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
		 BEGIN PERFORM nextval('calls'); RETURN i % m; END $$`,
		`CREATE OPERATOR ### (LEFTARG = int, RIGHTARG = int, FUNCTION = modulo)`,
		`CREATE TABLE hostile (id int NOT NULL, n int NOT NULL)`,
		`INSERT INTO hostile SELECT i, i FROM generate_series(1, 1000) i`,
		`ANALYZE hostile`,
	)
	var version int
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	e := &evaluator{ctx: ctx, conn: conn, versionNum: version}
	snap := pgstat.New()
	snap.Server.VersionNum = version
	snap.Tables = []pgstat.Table{{Schema: "public", Name: "hostile", Kind: "r", Rows: 1000}}
	c := Candidate{Schema: "public", Table: "hostile", Method: "btree", Keys: []Key{{Expression: "bucket(n)"}}, RowsEstimate: 1000}
	kts, err := e.keyTypes(c)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := e.sampleDistinct(c, kts, 1000); ok {
		t.Errorf("the sample ran bucket(n), a user function: %v distinct keys", d)
	}
	e.dedupSize(snap, c, 100000)
	// A user operator is user code too, though the expression names no function.
	op := Candidate{Schema: "public", Table: "hostile", Method: "btree", Keys: []Key{{Expression: "n ### 10"}}, RowsEstimate: 1000}
	if kts, err := e.keyTypes(op); err != nil {
		t.Fatal(err)
	} else if d, ok := e.sampleDistinct(op, kts, 1000); ok {
		t.Errorf("the sample ran n ### 10, a user operator: %v distinct keys", d)
	}
	var called bool
	if err := conn.QueryRow(ctx, `SELECT is_called FROM calls`).Scan(&called); err != nil {
		t.Fatal(err)
	}
	if called {
		t.Errorf("a size estimate executed user code (bucket() or the ### operator's function)")
	}
	// The control: a built-in expression is sampled.
	c.Keys = []Key{{Expression: "abs(n)"}}
	if kts, err = e.keyTypes(c); err != nil {
		t.Fatal(err)
	}
	if d, ok := e.sampleDistinct(c, kts, 1000); !ok || d < 900 {
		t.Errorf("abs(n) was not sampled (%v, %v): the test proves nothing", d, ok)
	}
}

func columnKeys(cols []string) []Key {
	var out []Key
	for _, c := range cols {
		out = append(out, Key{Column: c})
	}
	return out
}

func mbText(b int64) string { return fmt.Sprintf("%.2f MB", float64(b)/(1<<20)) }

func TestStatsDedupSize(t *testing.T) {
	nd := func(v float64) *float64 { return &v }
	snap := pgstat.New()
	snap.Server.VersionNum = 150000
	snap.Tables = []pgstat.Table{{Schema: "s", Name: "t", Kind: "r", Rows: 1e5, Columns: []pgstat.Column{
		{Name: "status", Type: "text", NDistinct: nd(4), AvgWidth: 5},
		{Name: "id", Type: "bigint", NDistinct: nd(-1), AvgWidth: 8},
		{Name: "amount", Type: "numeric", NDistinct: nd(50), AvgWidth: 5},
	}}}
	cand := func(keys ...Key) Candidate {
		return Candidate{Schema: "s", Table: "t", Method: "btree", Keys: keys, RowsEstimate: 1e5, KeyWidth: 8}
	}
	for _, tc := range []struct {
		name     string
		c        Candidate
		smaller  bool
		disabled bool
		noted    bool
	}{
		{"4 values", cand(Key{Column: "status"}), true, false, true},
		{"unique", cand(Key{Column: "id"}), false, false, true},
		{"numeric", cand(Key{Column: "amount"}), false, true, true},
		{"expression: nothing known", cand(Key{Expression: "lower(status)"}), false, false, false},
	} {
		before := tc.c.EstimatedSize()
		got, d := statsDedupSize(snap, tc.c, before)
		if (got < before) != tc.smaller || (d != nil) != tc.noted || d != nil && (d.Disabled != "") != tc.disabled {
			t.Errorf("%s: %d → %d, %+v", tc.name, before, got, d)
		}
	}
}
