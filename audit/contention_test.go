package audit

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

var recordContention = flag.Bool("record", false, "record the pgbench snapshots as golden cases of lock-contention in ../advisor/testdata/")

// TestPgbenchContention audits pgbench's own workloads while they run, on
// pgbench -i -s 10 (10 branches, 100 tellers, 1M accounts): the built-in
// TPC-B at 8 clients queues on the rows of pgbench_branches and
// pgbench_tellers, and lock-contention names them, with the share of active
// time spent waiting and the blockers' statements. The controls, on the
// same tables with the statistics reset: simple-update (writes, but to one
// of 1M accounts each) and select-only give no lock-contention finding, and
// select-only no error-level finding from any rule.
func TestPgbenchContention(t *testing.T) {
	dsn := pgtest.DB(t)
	start := time.Now()
	pgtest.PgbenchInit(t, dsn, 10)
	t.Logf("pgbench -i -s 10: %.1f s", time.Since(start).Seconds())
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var accounts int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pgbench_accounts").Scan(&accounts); err != nil || accounts != 1000000 {
		t.Fatalf("pgbench_accounts holds %d rows (%v), want 1000000", accounts, err)
	}
	resetStats := func() {
		execAll(t, conn, "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)",
			"SELECT pg_stat_reset()")
	}

	t.Run("tpcb-like", func(t *testing.T) {
		resetStats()
		snap, findings, bench := auditUnderPgbench(ctx, t, dsn, "-b", "tpcb-like", "-c", "8", "-j", "2", "-T", "120", "-n")
		recordCase(t, "lock-contention-tpcb-like", snap)
		w := snap.Waits
		var lockSamples int64
		for _, e := range w.Entries {
			if e.WaitEventType == "Lock" && (e.WaitEvent == "transactionid" || e.WaitEvent == "tuple") {
				lockSamples += e.Samples
			}
		}
		t.Logf("wait profile: %d ticks in %.1f s (%.2f ms of queries a tick), %d active samples, %.0f%% of them on Lock:transactionid or Lock:tuple",
			w.Ticks, w.WindowMS/1000, w.QueryMS/float64(w.Ticks), w.ActiveSamples, 100*float64(lockSamples)/float64(w.ActiveSamples))
		var contention []advisor.Finding
		for _, f := range findings {
			if f.Rule == advisor.LockContention.Name {
				contention = append(contention, f)
			} else {
				t.Logf("other rule: %s %s: %s", f.Severity, f.Rule, f.Message)
			}
		}
		if len(contention) == 0 {
			t.Fatalf("no lock-contention finding under TPC-B; wait entries %+v", w.Entries)
		}
		for _, f := range contention {
			share, _ := f.Evidence["active_wait_share"].(float64)
			t.Logf("%s %s: %s (objects %v, statement_wait_share %v, blockers %v)", f.Severity, f.Rule, f.Message, f.Objects, f.Evidence["statement_wait_share"], f.Evidence["blockers"])
			if len(f.Objects) != 1 || (f.Objects[0] != "public.pgbench_branches" && f.Objects[0] != "public.pgbench_tellers") {
				t.Errorf("contention on %v, want pgbench_branches or pgbench_tellers", f.Objects)
			}
			if !strings.HasPrefix(f.Query, "UPDATE pgbench_") || f.QueryID == "" || f.Evidence["table_from"] != "pg_locks" {
				t.Errorf("finding not tied to its UPDATE through pg_locks: query %q, queryid %q, table from %v", f.Query, f.QueryID, f.Evidence["table_from"])
			}
			if share < 0.05 {
				t.Errorf("active_wait_share %v, want >= 0.05", share)
			}
			if bl, ok := f.Evidence["blockers"]; !ok || fmt.Sprint(bl) == "[]" {
				t.Errorf("no blockers named")
			}
			if f.Fix == nil || !f.Fix.Advisory || !strings.Contains(f.Fix.Summary, "spread a counter") {
				t.Errorf("fix: %+v", f.Fix)
			}
		}
		// The fix's query runs, and while the load goes on it shows a
		// waiter on a pgbench table with its blocker.
		sqls := contention[0].Fix.SQL
		inspect := sqls[len(sqls)-1]
		if strings.Contains(inspect, "--") {
			t.Fatalf("the query block holds a comment: %s", inspect)
		}
		seen := false
		for i := 0; i < 50 && !seen; i++ {
			rows, err := conn.Query(ctx, inspect)
			if err != nil {
				t.Fatalf("the fix's query does not run: %v\n%s", err, inspect)
			}
			for rows.Next() {
				vals, err := rows.Values()
				if err != nil {
					t.Fatal(err)
				}
				if table := fmt.Sprint(vals[2]); strings.HasPrefix(table, "pgbench_") && vals[4] != nil {
					seen = true
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !seen {
			t.Errorf("the fix's query showed no waiter on a pgbench table in 50 tries under TPC-B")
		}
		bench.Stop()
	})

	// Writes without hot rows: each transaction updates one of 1M accounts.
	t.Run("simple-update", func(t *testing.T) {
		resetStats()
		snap, findings, _ := auditUnderPgbench(ctx, t, dsn, "-b", "simple-update", "-c", "8", "-j", "2", "-T", "120", "-n")
		t.Logf("wait profile: %d ticks, %d active samples", snap.Waits.Ticks, snap.Waits.ActiveSamples)
		for _, f := range findings {
			t.Logf("%s %s: %s", f.Severity, f.Rule, f.Message)
			if f.Rule == advisor.LockContention.Name {
				t.Errorf("lock-contention without hot rows: %s", f.Message)
			}
		}
	})

	t.Run("select-only", func(t *testing.T) {
		resetStats()
		snap, findings, _ := auditUnderPgbench(ctx, t, dsn, "-b", "select-only", "-c", "8", "-j", "2", "-T", "120", "-n")
		recordCase(t, "lock-contention-control-select-only", snap)
		t.Logf("wait profile: %d ticks, %d active samples", snap.Waits.Ticks, snap.Waits.ActiveSamples)
		for _, f := range findings {
			t.Logf("%s %s: %s", f.Severity, f.Rule, f.Message)
			if f.Severity == advisor.SeverityError {
				t.Errorf("error-level finding under select-only: %s: %s", f.Rule, f.Message)
			}
			if f.Rule == advisor.LockContention.Name {
				t.Errorf("lock-contention under select-only: %s", f.Message)
			}
		}
	})
}

// auditUnderPgbench starts pgbench with args, lets it run 3 s, audits the
// database with the default options but a 5 s sample window, and returns the snapshot, the findings
// of every rule and pgbench, still running (it is stopped when the test ends).
func auditUnderPgbench(ctx context.Context, t *testing.T, dsn string, args ...string) (*pgstat.Snapshot, []advisor.Finding, *pgtest.Pgbench) {
	t.Helper()
	bench := pgtest.StartPgbench(t, dsn, args...)
	time.Sleep(3 * time.Second)
	if !bench.Running() {
		out, err := bench.Wait()
		t.Fatalf("pgbench ended early: %v\n%s", err, out)
	}
	opts := DefaultOptions()
	opts.DSN = dsn
	// Longer than the default 3 s (with which six runs passed too), so that
	// a machine loaded by other work still gives enough samples.
	opts.SampleWindow = 5 * time.Second
	start := time.Now()
	snap, err := Collect(ctx, opts)
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	if !bench.Running() {
		out, err := bench.Wait()
		t.Fatalf("pgbench ended during the audit: %v\n%s", err, out)
	}
	t.Logf("audit under pgbench %s: %.1f s", strings.Join(args, " "), time.Since(start).Seconds())
	if snap.Waits == nil || snap.Waits.ActiveSamples == 0 {
		t.Fatalf("no active session sampled under pgbench: %+v", snap.Waits)
	}
	return snap, advisor.Run(snap, advisor.All(), opts.Advisor).Findings, bench
}

// recordCase writes, with -record, the parts of snap that lock-contention
// reads as a golden case of the advisor (then: go test ./advisor -run
// TestGolden -update, and review want.json).
func recordCase(t *testing.T, name string, snap *pgstat.Snapshot) {
	t.Helper()
	if !*recordContention {
		return
	}
	c := *snap
	c.Activity, c.Plans, c.WhatIf, c.Verify, c.Views, c.Timings, c.Problems = nil, nil, nil, nil, nil, nil, nil
	c.ForeignKeys, c.Indexes = []pgstat.ForeignKey{}, []pgstat.Index{}
	c.Database = "pgbench"
	for i := range c.Waits.Entries {
		c.Waits.Entries[i].Database = c.Database
	}
	dir := filepath.Join("..", "advisor", "testdata", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "snapshot.json"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.txt"), []byte("lock-contention\npool-exhaustion\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
