package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/fixtures/rental"
	"github.com/pgadvisor/pgadvisor/fixtures/shop"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
)

// TestAuditRental audits the third fixture, a DVD-rental store with payment
// partitioned by month: every planted partition problem is found with the
// online recipe, no control is reported, and every fix printed runs on the
// server (the recipes for real, as CREATE INDEX CONCURRENTLY cannot run in
// a transaction), after which the new partitioned indexes are valid. The
// server logs every statement, and the audit reads that log (--log): the
// low-traffic N+1 is found there.
func TestAuditRental(t *testing.T) {
	ctx := context.Background()
	cluster, dsn, conn := loggingCluster(t, ctx, "rental")
	st, err := rental.Load(ctx, conn)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Logf("rental load: %.1f s, rows %v", st.Seconds, st.Rows)
	if st.Seconds > 30 {
		t.Errorf("the rental fixture took %.1f s to load, want well under 30 s", st.Seconds)
	}
	var hypopg bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'hypopg')").Scan(&hypopg); err != nil {
		t.Fatal(err)
	}
	if !hypopg {
		pgtest.Unavailable(t, "hypopg is not installed: the partitioned index sizes are HypoPG's")
	}
	w, err := rental.RunWorkload(ctx, dsn)
	if err != nil {
		t.Fatalf("workload: %v", err)
	}
	t.Logf("rental workload: %.1f s: %v", w.Seconds, w.Calls)
	if w.Calls["rental_payments"] != 140 {
		t.Errorf("the N+1 child ran %d times, want 140 (14 pages of 10 rentals)", w.Calls["rental_payments"])
	}

	reportPath := t.TempDir() + "/report.json"
	args := []string{"audit", "--dsn", dsn, "--format", "json", "--output", reportPath, "--sample-window", "1s",
		"--log", cluster.LogFile(), "--log-format", "stderr"}
	if path := os.Getenv("PGADVISOR_RENTAL_SNAPSHOT"); path != "" {
		args = append(args, "--save-snapshot", path) // for debugging the rules offline
	}
	code, _, stderr := runCLI(t, args...)
	if code != exitClean && code != exitFindings {
		t.Fatalf("audit exit %d: %s", code, stderr)
	}
	r := readReport(t, reportPath)
	checkContract(t, r)
	defer func() {
		if t.Failed() {
			for _, f := range r.Findings {
				t.Logf("finding %s %s %v: %s | %s | fix %q", f.Rule, f.Severity, f.Objects, f.Message, f.Query, fixText(f))
			}
		}
	}()
	for _, p := range rental.Expected() {
		if !foundPlanted(r.Findings, shop.Planted(p)) {
			t.Errorf("planted %s not found by %s (table %s, query %q, fix %q)", p.ID, p.Rule, p.Table, p.QueryContains, p.FixContains)
		}
	}
	for _, c := range rental.Controls() {
		for _, f := range r.Findings {
			switch {
			case c.QueryContains != "" && strings.Contains(f.Query, c.QueryContains),
				c.Index != "" && slices.Contains(f.Objects, c.Index),
				c.Constraint != "" && f.Evidence["constraint"] == c.Constraint:
				t.Errorf("control %s (%s) reported by %s: %s", c.ID, c.Why, f.Rule, f.Message)
			}
		}
	}
	// R4's n-plus-one runs 140 times, under n_plus_one_min_calls, but costs
	// most of the period's time: pg_stat_statements alone proves it (the
	// low-volume gate, issue 9 §5), and the statement log adds its runs.
	if f := findingWith(r.Findings, "n-plus-one", "WHERE rental_id = $1"); f == nil {
		t.Errorf("R4 n-plus-one not found")
	} else {
		if calls, _ := f.Evidence["child_calls"].(float64); calls != 140 {
			t.Errorf("R4 n-plus-one without pg_stat_statements evidence (child_calls %v): %v", f.Evidence["child_calls"], f.Evidence)
		}
		if _, ok := f.Evidence["log_max_repeats"]; !ok {
			t.Errorf("R4 n-plus-one without the statement log's evidence: %v", f.Evidence)
		}
	}

	// The processor_ref index is built on the one partition without one:
	// its estimate covers that partition only.
	ref := findingWith(r.Findings, "missing-index", "WHERE processor_ref = $1")
	if ref == nil {
		t.Fatal("no missing-index finding for processor_ref")
	}
	if v, _ := ref.Evidence["verified"].(bool); !v {
		t.Errorf("processor_ref index not verified with HypoPG: %v", ref.Evidence)
	}
	estimated, _ := ref.Evidence["size_bytes"].(float64)
	if built, ok := ref.Evidence["partitions_built"].([]any); !ok || len(built) != 1 || built[0] != "rental.payment_p2026_04" {
		t.Errorf("processor_ref index built on %v, want only rental.payment_p2026_04", ref.Evidence["partitions_built"])
	}

	runFixes(t, ctx, conn, r.Findings)
	if n := checkAdvisoryFixesRun(t, ctx, conn, r.Findings); n == 0 {
		t.Errorf("no advisory fix SQL ran (the N+1 rewrite at least should)")
	}

	var valid bool
	var builtBytes, allBytes int64
	if err := conn.QueryRow(ctx, `SELECT i.indisvalid,
  pg_relation_size('rental.payment_p2026_04_processor_ref_idx'),
  (SELECT sum(pg_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = i.indexrelid)
FROM pg_index i WHERE i.indexrelid = 'rental.payment_processor_ref_idx'::regclass`).Scan(&valid, &builtBytes, &allBytes); err != nil {
		t.Fatalf("read the processor_ref index after its recipe: %v", err)
	}
	t.Logf("processor_ref index: estimated %.0f bytes, built %d bytes on payment_p2026_04, %d bytes over all four partitions", estimated, builtBytes, allBytes)
	if !valid {
		t.Error("rental.payment_processor_ref_idx is not valid after its recipe: a partition was not attached")
	}
	if estimated <= 0 || estimated > 2*float64(builtBytes) || estimated < float64(builtBytes)/2 {
		t.Errorf("processor_ref index estimated at %.0f bytes, built %d bytes: the estimate must cover only the partition built", estimated, builtBytes)
	}
	// The rental_id index is built on all four partitions: its estimate is theirs.
	byRental := findingWith(r.Findings, "missing-index", "WHERE rental_id = $1")
	if byRental == nil {
		t.Fatal("no missing-index finding for rental_id")
	}
	estimated, _ = byRental.Evidence["size_bytes"].(float64)
	if err := conn.QueryRow(ctx, `SELECT i.indisvalid, (SELECT sum(pg_relation_size(inhrelid))::int8 FROM pg_inherits WHERE inhparent = i.indexrelid)
FROM pg_index i WHERE i.indexrelid = 'rental.payment_rental_id_idx'::regclass`).Scan(&valid, &builtBytes); err != nil {
		t.Fatalf("read the rental_id index after its recipe: %v", err)
	}
	t.Logf("rental_id index: estimated %.0f bytes, built %d bytes over four partitions", estimated, builtBytes)
	if !valid {
		t.Error("rental.payment_rental_id_idx is not valid after its recipe")
	}
	if estimated > 2*float64(builtBytes) || estimated < float64(builtBytes)/2 {
		t.Errorf("rental_id index estimated at %.0f bytes, built %d bytes", estimated, builtBytes)
	}
	var dup bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('rental.payment_p2026_02_customer_id_dup') IS NOT NULL").Scan(&dup); err != nil || dup {
		t.Errorf("the duplicate index is still there after its fix (%v)", err)
	}
}

func findingWith(fs []advisor.Finding, rule, query string) *advisor.Finding {
	for i := range fs {
		if fs[i].Rule == rule && strings.Contains(fs[i].Query, query) {
			return &fs[i]
		}
	}
	return nil
}

// runFixes executes the fix SQL of every finding on the server, each
// distinct fix once, in the report's order. A fix with a CONCURRENTLY
// statement (an online recipe) runs for real, statement by statement, as
// CONCURRENTLY cannot run in a transaction; any other runs in a transaction
// that is rolled back. SQL shown as evidence (declare_on_parent_sql) runs
// rolled back too.
var alterSystem = regexp.MustCompile(`^\s*ALTER SYSTEM SET (\w+)`)

func runFixes(t *testing.T, ctx context.Context, conn *pgx.Conn, fs []advisor.Finding) {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range fs {
		var scripts [][]string
		if f.Fix != nil && !f.Fix.Advisory && len(f.Fix.SQL) > 0 {
			scripts = append(scripts, f.Fix.SQL)
		}
		if s, ok := f.Evidence["declare_on_parent_sql"].(string); ok {
			scripts = append(scripts, []string{s})
		}
		for _, sqls := range scripts {
			key := strings.Join(sqls, ";\n")
			if seen[key] {
				continue
			}
			seen[key] = true
			if err := runFix(ctx, conn, sqls); err != nil {
				t.Errorf("fix of %s (%s) does not run: %v", f.Rule, f.Message, err)
			}
		}
	}
}

func runFix(ctx context.Context, conn *pgx.Conn, sqls []string) error {
	// ALTER SYSTEM cannot run in a transaction block: such a fix runs as
	// it is, and the setting is reset afterwards (the cluster is shared).
	online := slices.ContainsFunc(sqls, func(s string) bool {
		return strings.Contains(s, "CONCURRENTLY") || strings.HasPrefix(strings.TrimSpace(s), "ALTER SYSTEM")
	})
	for _, s := range sqls {
		if m := alterSystem.FindStringSubmatch(s); m != nil {
			defer conn.Exec(ctx, "SELECT pg_reload_conf()")
			defer conn.Exec(ctx, "ALTER SYSTEM RESET "+m[1])
		}
	}
	if online {
		for _, s := range sqls {
			if _, err := conn.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for _, s := range sqls {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}
