package explain

import (
	"strings"
	"testing"
	"time"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// TestRunFixedTexts: whatever the statement, the texts Run sends that
// pg_stat_statements keys by text (EXPLAIN, SET LOCAL, BEGIN …) are the same,
// sampled values never reach pg_stat_statements, and the plan made with
// sampled values passed through settings is still a custom plan for them.
func TestRunFixedTexts(t *testing.T) {
	ctx, conn, _ := testDB(t)
	// 9,900 rows 'done', 100 spread over ten other statuses: the most common
	// value is 'done', and a plan for it expects many more rows than the
	// generic plan does.
	mustExec(t, conn, `CREATE TABLE skew (id int PRIMARY KEY, status text NOT NULL);
INSERT INTO skew SELECT g, CASE WHEN g <= 9900 THEN 'done' ELSE 'st' || (g % 10) END FROM generate_series(1, 10000) g;
CREATE INDEX skew_status ON skew (status);
ANALYZE skew;
SELECT pg_stat_statements_reset();`)
	opts := Options{Analyze: true, StatementTimeout: 7 * time.Second, LockTimeout: 3 * time.Second}
	analyzed := func(query string) Result {
		t.Helper()
		facts, err := sqlfacts.Analyze(query)
		if err != nil {
			t.Fatal(err)
		}
		res := Run(ctx, conn, query, facts, opts)
		assertIdle(t, conn)
		if res.Error != "" {
			t.Fatalf("%s: %s", query, res.Error)
		}
		return res
	}
	custom := analyzed("SELECT id FROM skew WHERE status = $1")
	if custom.Mode != ModeAnalyze || !strings.Contains(custom.Reason, "most common value of public.skew.status") {
		t.Fatalf("mode %q reason %q, want ANALYZE with the most common value", custom.Mode, custom.Reason)
	}
	facts, _ := sqlfacts.Analyze("SELECT id FROM skew WHERE status = $1")
	generic := Run(ctx, conn, "SELECT id FROM skew WHERE status = $1", facts, Options{})
	if generic.Mode != ModeGeneric || generic.Error != "" {
		t.Fatalf("generic: mode %q error %q", generic.Mode, generic.Error)
	}
	// The custom plan for 'done' expects about 9,900 rows and reads them;
	// the generic plan expects about 10,000/11.
	if rows := custom.Plan.Plan.PlanRows; rows < 9000 {
		t.Errorf("plan with the sampled value estimates %v rows, want about 9900 (a custom plan for 'done')", rows)
	}
	if rows := custom.Plan.Plan.TotalActualRows(); rows != 9900 {
		t.Errorf("EXPLAIN ANALYZE with the sampled value returned %v rows, want 9900", rows)
	}
	if rows := generic.Plan.Plan.PlanRows; rows > 2000 {
		t.Errorf("generic plan estimates %v rows, want about 909", rows)
	}

	// More statements: two more with a text parameter, two without.
	analyzed("SELECT count(*) FROM skew WHERE status = $1")
	analyzed("SELECT id, status FROM skew WHERE status = $1 AND id > 5")
	analyzed("SELECT count(*) FROM skew")
	analyzed("SELECT max(id) FROM skew WHERE status = 'st1'")

	rows, err := conn.Query(ctx, `SELECT query FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query LIKE '%/* pgadvisor */%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var explains []string
	for rows.Next() {
		var q string
		if err := rows.Scan(&q); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(q, "done") || strings.Contains(q, "pgadvisor_") {
			t.Errorf("pg_stat_statements holds a sampled value or a numbered statement: %q", q)
		}
		if strings.Contains(q, "EXPLAIN") && !strings.Contains(q, "PREPARE") {
			explains = append(explains, q)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// One EXPLAIN text for the three text-parameter statements, one for the
	// two without parameters, one for the generic plan.
	want := map[string]bool{
		Marker + "EXPLAIN (ANALYZE, BUFFERS, VERBOSE, SETTINGS, FORMAT JSON) EXECUTE pgadvisor(pg_catalog.current_setting('pgadvisor.p1')::text)": true,
		Marker + "EXPLAIN (ANALYZE, BUFFERS, VERBOSE, SETTINGS, FORMAT JSON) EXECUTE pgadvisor":                                                   true,
		Marker + "EXPLAIN (VERBOSE, SETTINGS, FORMAT JSON) EXECUTE pgadvisor(NULL)":                                                               true,
	}
	for _, q := range explains {
		if !want[q] {
			t.Errorf("unexpected EXPLAIN text in pg_stat_statements: %q", q)
		}
	}
	if len(explains) != len(want) {
		t.Errorf("%d EXPLAIN entries, want %d: %q", len(explains), len(want), explains)
	}
}
