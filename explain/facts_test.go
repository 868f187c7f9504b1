package explain

import (
	"strings"
	"testing"
	"time"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// TestRunWithAnalyzedFacts runs the gate end to end on facts from
// sqlfacts.Analyze rather than hand-built ones.
func TestRunWithAnalyzedFacts(t *testing.T) {
	ctx, conn, _ := testDB(t)
	opts := Options{Analyze: true, StatementTimeout: 10 * time.Second}
	for _, c := range []struct {
		query  string
		mode   Mode
		reason string
	}{
		// User functions are untrusted whatever they declare; non-volatile
		// ones may even run while planning: not planned at all.
		{"SELECT id, twice(v) FROM items WHERE category = 7 AND item_count() > 0", "", "not planned: PostgreSQL may run function public.item_count (user code, declared STABLE), function public.twice"},
		{"SELECT lower(note), now(), random() FROM items WHERE id < 10", ModeAnalyze, ""},
		{"SELECT EXTRACT(year FROM now()), substring(note FROM 2) FROM items WHERE id = 1", ModeAnalyze, ""},
		{"SELECT log_call() FROM items WHERE id < 5", ModePlain, "function public.log_call (user code, declared VOLATILE): plain EXPLAIN only"},
		{"SELECT * FROM items WHERE id IN (SELECT log_call())", ModePlain, "public.log_call"},
		{"SELECT nextval('s')", ModePlain, "pg_catalog.nextval (a VOLATILE built-in)"},
		{"UPDATE items SET v = v + 1 WHERE id = 1", ModePlain, "not a plain SELECT (UPDATE)"},
		{"DELETE FROM items WHERE id = 1", ModePlain, "not a plain SELECT (DELETE)"},
		{"INSERT INTO calls VALUES (now())", ModePlain, "not a plain SELECT (INSERT)"},
		{"SELECT * FROM items WHERE id = 1 FOR UPDATE", ModePlain, "FOR UPDATE"},
		{"SELECT * FROM items WHERE id = 1 FOR KEY SHARE", ModePlain, "FOR UPDATE/SHARE"},
		{"WITH d AS (DELETE FROM items WHERE id < 100 RETURNING id) SELECT count(*) FROM d", ModePlain, "WITH clause modifies data"},
		{"SELECT * INTO items_copy FROM items", ModePlain, "SELECT INTO"},
		{"SELECT * FROM items WHERE id = $1", ModeAnalyze, "the histogram of public.items.id"},
		{"SELECT v + $1::int FROM items WHERE id = 3", ModeGeneric, "no sample value for $1"},
		{"SELECT log_call() FROM items WHERE id = $1", ModeGeneric, "public.log_call (user code, declared VOLATILE): generic plan only"},
		{"SELECT * FROM items WHERE category = $1 ORDER BY id LIMIT $2", ModeAnalyze, "analysed with sampled parameters"},
	} {
		t.Run(c.query, func(t *testing.T) {
			facts, err := sqlfacts.Analyze(c.query)
			if err != nil {
				t.Fatalf("sqlfacts.Analyze: %v", err)
			}
			res := Run(ctx, conn, c.query, facts, opts)
			assertIdle(t, conn)
			if c.mode == "" {
				if res.Plan != nil || !strings.Contains(res.Error, c.reason) {
					t.Errorf("plan %v error %q; want no plan and an error containing %q", res.Plan != nil, res.Error, c.reason)
				}
				return
			}
			if res.Error != "" {
				t.Fatalf("Run: %s", res.Error)
			}
			if res.Mode != c.mode || !strings.Contains(res.Reason, c.reason) {
				t.Errorf("mode %q reason %q; want %q containing %q (functions %v)", res.Mode, res.Reason, c.mode, c.reason, facts.Functions)
			}
		})
	}
	if n := count(t, conn, "SELECT count(*) FROM calls"); n != 0 {
		t.Errorf("calls has %d rows", n)
	}
	if n := count(t, conn, "SELECT count(*) FROM items"); n != 10000 {
		t.Errorf("items has %d rows", n)
	}
}
