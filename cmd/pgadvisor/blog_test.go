package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/fixtures/blog"
	"github.com/pgadvisor/pgadvisor/fixtures/shop"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// TestAuditBlog audits a second fixture the rules were not tuned on: the blog
// schema with its planted problems and controls. Every planted problem must
// be found by its rule with its fix, and no control may be reported.
func TestAuditBlog(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	st, err := blog.Load(ctx, conn)
	conn.Close(ctx)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Logf("blog load: %.1f s, rows %v", st.Seconds, st.Rows)
	release, err := blog.HoldIdleInTransaction(ctx, dsn, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	// A fixed number of requests (not a duration), so that the calls each
	// threshold sees do not depend on how busy the machine is.
	w, err := blog.RunWorkload(ctx, dsn, 4, 2*time.Minute, 550)
	if err != nil {
		t.Fatalf("workload: %v", err)
	}
	t.Logf("blog workload: %d requests in %.1f s: %v", w.Requests, w.Seconds, w.Calls)
	time.Sleep(1500 * time.Millisecond) // the held transactions age past the idle threshold (1 s)

	reportPath := t.TempDir() + "/report.json"
	snapPath := t.TempDir() + "/snap.json"
	if path := os.Getenv("PGADVISOR_BLOG_SNAPSHOT"); path != "" {
		snapPath = path // for debugging the rules offline
	}
	args := []string{"audit", "--dsn", dsn, "--format", "json", "--output", reportPath, "--sample-window", "1s", "--save-snapshot", snapPath}
	code, _, stderr := runCLI(t, args...)
	if code != exitClean {
		t.Fatalf("audit exit %d: %s", code, stderr)
	}
	r := readReport(t, reportPath)
	checkContract(t, r)
	checkFixtureRewrites(t, dsn, readJSON[pgstat.Snapshot](t, snapPath), []fixtureLoop{{
		table: "blog.page_views", loop: blog.SQLInsertPageView,
		rows: [][]any{{int64(1), int64(10), "C1", "R1", "L1", "TZ1", "CUR1", "https://a.example/"}, {int64(1), int64(10), "C1", "R1", "L1", "TZ1", "CUR1", "https://b.example/"}, {int64(2), int64(11), "C2", "R2", "L2", "TZ2", "CUR2", ""}},
	}})
	for _, p := range blog.Expected() {
		if !foundPlanted(r.Findings, shop.Planted(p)) {
			t.Errorf("planted %s not found by %s (table %s, query %q, fix %q)", p.ID, p.Rule, p.Table, p.QueryContains, p.FixContains)
		}
	}
	for _, c := range blog.Controls() {
		for _, f := range r.Findings {
			if f.Query != "" && strings.Contains(f.Query, c.QueryContains) {
				t.Errorf("control %s (%s) reported by %s: %s", c.ID, c.Why, f.Rule, f.Message)
			}
		}
	}
	// Every printed fix runs: the index builds for real (CONCURRENTLY needs
	// the planted idle transactions gone), the rest in a rolled-back
	// transaction, the advisory rewrites prepared.
	release()
	fixConn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer fixConn.Close(ctx)
	runFixes(t, ctx, fixConn, r.Findings)
	if n := checkAdvisoryFixesRun(t, ctx, fixConn, r.Findings); n < 3 {
		t.Errorf("%d advisory fix statements ran, want at least 3 (keyset, N+1, batched insert)", n)
	}
	if t.Failed() {
		for _, f := range r.Findings {
			t.Logf("finding %s %s %v: %s | %s | fix %q", f.Rule, f.Severity, f.Objects, f.Message, f.Query, fixText(f))
		}
	}
}
