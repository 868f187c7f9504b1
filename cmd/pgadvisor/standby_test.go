package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/report"
)

// TestAuditStandby audits a real streaming replica (pg_basebackup -R -X
// stream) whose workload ran on the standby itself: a table with an index no
// one scans there, and a lookup that needs an index. The report must name
// the standby in every format, propose no DROP INDEX from the standby's own
// counters (the unused index is reported as a check to make on the primary
// and every replica), mark every fix to run on the primary, and still give
// the HypoPG-verified missing-index advice (HypoPG creates nothing in the
// catalog, so it works on a standby).
func TestAuditStandby(t *testing.T) {
	start := time.Now()
	primaryDSN, standbyDSN, standby := pgtest.StandbyDB(t)
	t.Logf("standby started in %s", time.Since(start).Round(time.Millisecond))
	ctx := context.Background()

	execSQL(t, primaryDSN,
		"CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, note text, created_at timestamptz NOT NULL)",
		"INSERT INTO orders SELECT g, g % 2000, 'note ' || g, now() - g * interval '1 minute' FROM generate_series(1, 200000) g",
		"CREATE INDEX orders_note_idx ON orders (note)",
		"VACUUM ANALYZE orders")
	if err := standby.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}

	// The workload runs on the standby: its pg_stat_statements and table
	// counters see it; orders_note_idx is never scanned there.
	conn, err := pgx.Connect(ctx, standbyDSN)
	if err != nil {
		t.Fatal(err)
	}
	var hypopg string
	if err := conn.QueryRow(ctx, "SELECT COALESCE((SELECT extversion FROM pg_extension WHERE extname = 'hypopg'), '')").Scan(&hypopg); err != nil {
		t.Fatal(err)
	}
	if hypopg == "" {
		pgtest.Unavailable(t, "hypopg is not installed (the what-if engine on a standby needs it): apt-get install postgresql-15-hypopg")
	}
	if _, err := conn.Exec(ctx, "SELECT pg_stat_statements_reset()"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		rows, err := conn.Query(ctx, "SELECT id, created_at FROM orders WHERE customer_id = $1", i*7%2000)
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close(ctx)
	waitStandbyReads(t, standbyDSN, "orders", 300)

	dir := t.TempDir()
	snapPath := filepath.Join(dir, "snap.json")
	reportPath := filepath.Join(dir, "report.json")
	auditStart := time.Now()
	code, _, stderr := runCLI(t, "audit", "--dsn", standbyDSN, "--format", "json", "--output", reportPath, "--save-snapshot", snapPath, "--sample-window", "0")
	t.Logf("live audit of the standby took %s", time.Since(auditStart).Round(time.Millisecond))
	if code != exitClean {
		t.Fatalf("audit of the standby: exit %d: %s", code, stderr)
	}
	defer keepOnFailure(t, snapPath)
	jsonOut, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	r := readReport(t, reportPath)
	if !r.Server.InRecovery || r.Server.Role != report.RoleStandby {
		t.Errorf("json: server.in_recovery %v, server.role %q; want true, %q", r.Server.InRecovery, r.Server.Role, report.RoleStandby)
	}
	for _, p := range r.Problems {
		t.Errorf("problem on the standby: %s: %s (fix: %s)", p.Phase, p.Message, p.Fix)
	}

	// The what-if engine ran with HypoPG on the standby and verified the index.
	data, err := os.ReadFile(snapPath)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := pgstat.Read(data)
	if err != nil {
		t.Fatalf("read the standby's snapshot: %v", err)
	}
	if !snap.Server.InRecovery {
		t.Errorf("snapshot: server.in_recovery is false on a standby")
	}
	if snap.WhatIf == nil {
		t.Fatal("snapshot: no what-if result on the standby")
	}
	wi := snap.WhatIf
	if wi.HypoPG == "" || wi.Unavailable != "" || wi.CandidatesTried == 0 {
		t.Errorf("what-if on the standby: hypopg %q, unavailable %q, %d candidates tried", wi.HypoPG, wi.Unavailable, wi.CandidatesTried)
	}
	var missing, unused *advisor.Finding
	for i := range r.Findings {
		f := &r.Findings[i]
		switch {
		case f.Rule == "missing-index" && contains(f.Objects, "public.orders") && f.Fix != nil && strings.Contains(strings.Join(f.Fix.SQL, " "), "customer_id"):
			missing = f
		case f.Rule == "unused-index" && contains(f.Objects, "public.orders_note_idx"):
			unused = f
		}
		if f.Fix != nil && len(f.Fix.SQL) > 0 && f.Fix.RunOn == "" {
			t.Errorf("%s: fix %q is not marked with where to run it", f.Rule, f.Fix.Summary)
		}
	}
	if missing == nil {
		t.Errorf("no missing-index advice on orders (customer_id) from the standby; findings: %s", ruleList(r.Findings))
	} else {
		if missing.Fix.RunOn != advisor.RunOnPrimary || !strings.Contains(missing.Fix.Summary, "run on the primary") {
			t.Errorf("missing-index fix not marked for the primary: run_on %q, summary %q", missing.Fix.RunOn, missing.Fix.Summary)
		}
		if missing.Evidence["verified"] != true {
			t.Errorf("missing-index on the standby not verified with HypoPG: evidence %v", missing.Evidence)
		}
	}
	// The control: the unused index is seen, but only as a check to make.
	if unused == nil {
		t.Errorf("orders_note_idx (never scanned on the standby) is not reported at all; findings: %s", ruleList(r.Findings))
	} else if unused.Fix == nil || len(unused.Fix.SQL) != 0 || !unused.Fix.Advisory ||
		!strings.Contains(unused.Fix.Summary, "primary") || !strings.Contains(unused.Fix.Summary, "every replica") {
		t.Errorf("unused-index on a standby must be an advisory check of the primary and every replica without SQL, got %+v", unused.Fix)
	}

	// --verify builds real indexes: on a standby it cannot, and says why.
	code, out, stderr := runCLI(t, "audit", "--dsn", standbyDSN, "--format", "json", "--sample-window", "0", "--verify")
	if code != exitFailure || !strings.Contains(stderr, "hot standby") || !strings.Contains(stderr, "staging primary") {
		t.Errorf("--verify on a standby: exit %d, stderr %q; want exit %d naming the standby and the fix", code, stderr, exitFailure)
	}
	if strings.Contains(strings.ToUpper(out), "DROP INDEX") {
		t.Errorf("--verify on a standby: the report proposes DROP INDEX")
	}

	// Every format names the standby and none proposes a DROP INDEX.
	outputs := map[string]string{"json": string(jsonOut)}
	code, outputs["table"], stderr = runCLI(t, "audit", "--dsn", standbyDSN, "--format", "table", "--sample-window", "0")
	if code != exitClean {
		t.Errorf("table audit of the standby: exit %d: %s", code, stderr)
	}
	code, outputs["markdown"], stderr = runCLI(t, "audit", "--snapshot", snapPath, "--format", "markdown")
	if code != exitClean {
		t.Errorf("markdown from the standby's snapshot: exit %d: %s", code, stderr)
	}
	for format, out := range outputs {
		if format != "json" && !strings.Contains(out, "hot standby") {
			t.Errorf("%s output does not say the server is a hot standby:\n%s", format, head(out, 5))
		}
		if strings.Contains(strings.ToUpper(out), "DROP INDEX") {
			t.Errorf("%s output proposes DROP INDEX on a standby", format)
		}
		if !strings.Contains(out, "run on the primary") {
			t.Errorf("%s output marks no fix to run on the primary", format)
		}
		if !strings.Contains(out, "CREATE INDEX") {
			t.Errorf("%s output has no CREATE INDEX fix", format)
		}
	}
}

// waitStandbyReads waits until the standby's statistics count at least
// reads scans of table (flushed by the sessions that ran them).
func waitStandbyReads(t *testing.T, dsn, table string, reads int64) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT COALESCE(seq_scan, 0) + COALESCE(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = $1", table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n >= reads {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby counts %d reads of %s after 20s, want %d", n, table, reads)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func ruleList(fs []advisor.Finding) string {
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.Rule+" "+strings.Join(f.Objects, ","))
	}
	return strings.Join(ids, "; ")
}

func head(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
