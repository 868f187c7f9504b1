package audit

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func execAll(t *testing.T, conn *pgx.Conn, sqls ...string) {
	t.Helper()
	for _, sql := range sqls {
		if _, err := conn.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// TestLockTakenAfterCollect: the table is locked only once the statistics
// are collected, so the first statement on it waits in the explain phase;
// the guard finds the holder in pg_locks, the other statements on it (and
// on a view over it) are skipped in explain and in what-if, and the
// statement on another table is still planned.
func TestLockTakenAfterCollect(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DB(t)
	setup, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer setup.Close(ctx)
	execAll(t, setup,
		"CREATE TABLE big (id int PRIMARY KEY, a int, b int)",
		"INSERT INTO big SELECT g, g % 500, g % 700 FROM generate_series(1, 50000) g",
		"CREATE VIEW big_view AS SELECT id, a FROM big",
		"CREATE TABLE other (id int PRIMARY KEY, k int)",
		"INSERT INTO other SELECT g, g % 100 FROM generate_series(1, 50000) g",
		"ANALYZE", "/* pgadvisor */ SELECT pg_stat_statements_reset()")
	for i := 0; i < 5; i++ {
		for _, q := range []string{
			"SELECT count(*) FROM big WHERE a = $1",
			"SELECT count(*) FROM big WHERE b = $1",
			"SELECT count(*) FROM big WHERE a = $1 AND b = $1",
			"SELECT count(*) FROM big_view WHERE a = $1",
			"SELECT count(*) FROM other WHERE k = $1",
		} {
			if _, err := setup.Exec(ctx, q, i); err != nil {
				t.Fatal(err)
			}
		}
	}
	opts := DefaultOptions()
	opts.LockTimeout = 500 * 1e6
	conn, err := pgstat.Connect(ctx, dsn, pgstat.ConnectOptions{StatementTimeout: opts.StatementTimeout, LockTimeout: opts.LockTimeout})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	opts.guard = explain.NewGuard(0)
	snap, err := pgstat.Collect(ctx, conn, pgstat.CollectOptions{Guard: opts.guard})
	if err != nil {
		t.Fatal(err)
	}
	opts.guard.SetServerVersion(snap.Server.VersionNum)

	holder, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	var pid int
	if err := holder.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	execAll(t, tx.Conn(), "LOCK TABLE big IN ACCESS EXCLUSIVE MODE")

	stmts, total := model.Statements(snap)
	if err := ExplainTop(ctx, conn, snap, stmts, opts); err != nil {
		t.Fatal(err)
	}
	model.AttachPlans(snap, stmts)
	if err := WhatIf(ctx, conn, snap, stmts, total, opts); err != nil {
		t.Fatal(err)
	}
	recordPlanFailures(snap, opts.guard, opts)

	if n := opts.guard.LockWaits(); n != 1 {
		t.Errorf("%d lock-timeout waits, want 1", n)
	}
	skipped, planned := 0, 0
	for _, p := range snap.Plans {
		switch {
		case p.Skipped != "":
			skipped++
		case p.Plan != nil:
			planned++
			if strings.Contains(p.Query, "big") {
				t.Errorf("a statement on the locked table was planned: %s", p.Query)
			}
		}
	}
	if skipped != 3 || planned != 1 {
		t.Errorf("explain: %d skipped (want the 3 others on big, the view's included), %d planned (want 1): %+v", skipped, planned, snap.Plans)
	}
	if snap.Server.HypoPG != "" {
		if snap.WhatIf == nil {
			t.Fatal("HypoPG is installed but the snapshot has no what-if result")
		}
		for _, s := range snap.WhatIf.Statements {
			if strings.HasPrefix(s.Error, "lock timeout") {
				t.Errorf("what-if waited for the lock again: %+v", s)
			}
		}
	}
	var lock *pgstat.Problem
	for i, p := range snap.Problems {
		if p.LockWaits > 0 {
			lock = &snap.Problems[i]
		}
	}
	if lock == nil {
		t.Fatalf("no lock problem: %+v", snap.Problems)
	}
	for _, want := range []string{"public.big", "AccessExclusiveLock", "pid " + itoa(pid), "--lock-timeout"} {
		if !strings.Contains(lock.Message, want) {
			t.Errorf("lock problem %q does not say %q", lock.Message, want)
		}
	}
	if lock.Statements != 4 || lock.Severity != pgstat.SeverityWarning {
		t.Errorf("lock problem: %d statements (want 4), severity %q: %+v", lock.Statements, lock.Severity, lock)
	}
	t.Logf("%s — fix: %s", lock.Message, lock.Fix)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
