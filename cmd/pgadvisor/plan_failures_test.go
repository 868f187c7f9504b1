package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// lockedWorkload creates two tables big enough for index candidates, runs
// several distinct statements on each, and returns the statements on locked.
func lockedWorkload(t *testing.T, dsn string) {
	t.Helper()
	execSQL(t, dsn,
		"CREATE SCHEMA app",
		"CREATE TABLE app.locked (id int PRIMARY KEY, a int, b int, c int, note text)",
		"INSERT INTO app.locked SELECT g, g % 500, g % 700, g % 900, 'n' || g FROM generate_series(1, 30000) g",
		"CREATE TABLE app.free (id int PRIMARY KEY, k int, note text)",
		"INSERT INTO app.free SELECT g, g % 300, 'n' || g FROM generate_series(1, 30000) g",
		"ANALYZE", "/* pgadvisor */ SELECT pg_stat_statements_reset()")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for i := 0; i < 5; i++ {
		for _, q := range []string{
			"SELECT count(*) FROM app.locked WHERE a = $1",
			"SELECT count(*) FROM app.locked WHERE b = $1",
			"SELECT count(*) FROM app.locked WHERE c = $1",
			"SELECT note FROM app.locked WHERE a = $1 AND b = $1",
			"SELECT count(*) FROM app.locked l JOIN app.free f ON f.id = l.id WHERE l.c = $1",
			"SELECT count(*) FROM app.free WHERE k = $1",
		} {
			if _, err := conn.Exec(ctx, q, i); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
}

// holdLock takes lock mode on table in an open transaction of a second
// session and returns its backend pid; the lock is held until the test ends.
func holdLock(t *testing.T, dsn, table, mode string) int {
	t.Helper()
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close(context.Background()) })
	var pid int
	if err := holder.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	if _, err := tx.Exec(ctx, "LOCK TABLE "+table+" IN "+mode+" MODE"); err != nil {
		t.Fatal(err)
	}
	return pid
}

// readSnapshot reads a saved snapshot.
func readSnapshot(t *testing.T, path string) *pgstat.Snapshot {
	t.Helper()
	return readJSON[pgstat.Snapshot](t, path)
}

// lockWaits counts the lock timeouts a snapshot records, in the explain and
// the what-if phase: each is one full --lock-timeout spent waiting.
func lockWaits(t *testing.T, snap *pgstat.Snapshot) (explainWaits, whatIfWaits int) {
	t.Helper()
	isWait := func(msg string) bool { return strings.HasPrefix(msg, "lock timeout") }
	for _, p := range snap.Plans {
		if isWait(p.Error) {
			explainWaits++
		}
	}
	if res := snap.WhatIf; res != nil {
		for _, s := range res.Statements {
			if isWait(s.Error) {
				whatIfWaits++
			}
		}
		for _, e := range res.Evaluations {
			if isWait(e.Error) {
				whatIfWaits++
			}
		}
		for _, c := range res.Candidates {
			if strings.Contains(c.Error, "lock timeout") {
				whatIfWaits++
			}
		}
	}
	return explainWaits, whatIfWaits
}

// TestAuditLockedTable: a second session holds ACCESS EXCLUSIVE on a table
// that five workload statements read. The audit waits for it once, skips the
// table for the rest of the audit (explain and what-if), names the table and
// the holder, and still plans the statements on the other table.
func TestAuditLockedTable(t *testing.T) {
	dsn := pgtest.DB(t)
	lockedWorkload(t, dsn)
	pid := holdLock(t, dsn, "app.locked", "ACCESS EXCLUSIVE")
	snapPath := filepath.Join(t.TempDir(), "snap.json")
	start := time.Now()
	code, out, stderr := runCLI(t, "audit", "--dsn", dsn, "--format", "json", "--sample-window", "0",
		"--lock-timeout", "1s", "--save-snapshot", snapPath)
	t.Logf("audit took %s, exit %d, stderr %q", time.Since(start).Round(time.Millisecond), code, stderr)
	snap := readSnapshot(t, snapPath)
	ew, ww := lockWaits(t, snap)
	recorded := 0
	for _, p := range snap.Problems {
		recorded += p.LockWaits
	}
	t.Logf("lock-timeout waits: %d recorded in problems; plans show explain %d, what-if %d", recorded, ew, ww)
	if recorded != 1 {
		t.Errorf("%d lock-timeout waits recorded, want 1: a locked table costs one timeout", recorded)
	}
	if ew+ww > recorded {
		t.Errorf("plans show %d lock-timeout waits (explain %d, what-if %d), more than the %d recorded", ew+ww, ew, ww, recorded)
	}
	skipped, planned := 0, 0
	for _, p := range snap.Plans {
		switch {
		case p.Skipped != "":
			skipped++
			if !strings.Contains(p.Skipped, "app.locked") {
				t.Errorf("skip reason %q does not name the table", p.Skipped)
			}
		case p.Plan != nil:
			planned++
		}
	}
	if skipped < 3 {
		t.Errorf("%d statements skipped in explain, want the other statements on app.locked (at least 3)", skipped)
	}
	if planned == 0 {
		t.Errorf("the statements on app.free were not planned")
	}
	// Named in every format, with the holder.
	var problem *pgstat.Problem
	for i, p := range snap.Problems {
		if strings.Contains(p.Message, "app.locked") && strings.Contains(p.Message, "lock") {
			problem = &snap.Problems[i]
		}
	}
	if problem == nil {
		t.Fatalf("no problem names the locked table: %+v", snap.Problems)
	}
	for _, want := range []string{fmt.Sprint(pid), "AccessExclusiveLock"} {
		if !strings.Contains(problem.Message, want) {
			t.Errorf("problem %q does not name %s", problem.Message, want)
		}
	}
	if !strings.Contains(problem.Fix, "--lock-timeout") {
		t.Errorf("fix %q names no flag", problem.Fix)
	}
	for _, format := range []string{"table", "markdown"} {
		_, out, _ := runCLI(t, "audit", "--snapshot", snapPath, "--format", format)
		out = strings.Join(strings.Fields(out), " ") // the table printer wraps lines
		if !strings.Contains(out, "app.locked") || !strings.Contains(out, fmt.Sprint(pid)) {
			t.Errorf("%s report does not name the locked table and its holder:\n%s", format, out)
		}
	}
	// The locked table's sizes and index definitions are missing: the
	// collection is incomplete, and says which table it is about.
	expectPartial(t, code, out, stderr, "app.locked")
}

// TestAuditTimeout: --timeout bounds the whole audit; what was collected is
// reported and the exit code is 3 with a message naming --timeout.
func TestAuditTimeout(t *testing.T) {
	dsn := pgtest.DB(t)
	lockedWorkload(t, dsn)
	start := time.Now()
	code, out, stderr := runCLI(t, "audit", "--dsn", dsn, "--format", "json", "--sample-window", "10s", "--timeout", "1s")
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("the audit took %s with --timeout 1s", d)
	}
	r := expectPartial(t, code, out, stderr, "--timeout")
	if r.Server.VersionNum == 0 {
		t.Error("what was collected before the timeout is not reported")
	}
	found := false
	for _, p := range r.Problems {
		found = found || strings.Contains(p.Message+p.Fix, "--timeout")
	}
	if !found {
		t.Errorf("no problem names --timeout: %+v", r.Problems)
	}
}

// testRole creates a login role unique to the test's database (roles are
// cluster-wide) and drops it when the test ends.
func testRole(t *testing.T, dsn, prefix string, grants ...string) string {
	t.Helper()
	db := dsn[strings.Index(dsn, "dbname=")+len("dbname="):]
	if i := strings.IndexByte(db, ' '); i >= 0 {
		db = db[:i]
	}
	role := prefix + "_" + db
	if len(role) > 63 {
		role = role[:63]
	}
	execSQL(t, dsn, append([]string{"DROP ROLE IF EXISTS " + role, "CREATE ROLE " + role + " LOGIN"}, grants...)...)
	t.Cleanup(func() { execSQL(t, dsn, "DROP OWNED BY "+role, "DROP ROLE "+role) })
	return role
}

// TestAuditPrivileges: the README's "Privileges" section, tested with roles
// holding exactly what it lists. With pg_read_all_stats only, statistics are
// read but no statement can be planned: exit 3, the GRANT on stderr, and one
// problem per table (not per statement) in every format. With SELECT on the
// tables too, plans and the what-if work and the audit is complete (exit 0);
// a schema the role may not use is a warning naming GRANT USAGE.
func TestAuditPrivileges(t *testing.T) {
	dsn := pgtest.DB(t)
	execSQL(t, dsn,
		"CREATE TABLE orders (id int PRIMARY KEY, a int, b int, c int, d int)",
		"INSERT INTO orders SELECT g, g % 500, g % 700, g % 900, g % 1100 FROM generate_series(1, 100000) g",
		"CREATE TABLE customers (id int PRIMARY KEY, email text)",
		"INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 20000) g",
		"CREATE SCHEMA hidden", "CREATE TABLE hidden.notes (id int PRIMARY KEY, k int)",
		"INSERT INTO hidden.notes SELECT g, g % 10 FROM generate_series(1, 1000) g",
		"ANALYZE", "/* pgadvisor */ SELECT pg_stat_statements_reset()")
	// Fifteen distinct statements on orders (every subset of its columns
	// filtered), one on customers and one on hidden.notes.
	var onOrders []string
	cols := []string{"a", "b", "c", "d"}
	for mask := 1; mask < 16; mask++ {
		var conds []string
		for i, c := range cols {
			if mask&(1<<i) != 0 {
				conds = append(conds, fmt.Sprintf("%s = $%d", c, len(conds)+1))
			}
		}
		onOrders = append(onOrders, "SELECT count(*) FROM orders WHERE "+strings.Join(conds, " AND "))
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Enough calls that every statement costs the advisor's 10 ms minimum.
	for i := 0; i < 6; i++ {
		for _, q := range onOrders {
			args := make([]any, strings.Count(q, "$"))
			for j := range args {
				args[j] = i
			}
			if _, err := conn.Exec(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		for _, q := range []string{"SELECT email FROM customers WHERE email = $1", "SELECT count(*) FROM hidden.notes WHERE k = $1"} {
			if _, err := conn.Exec(ctx, q, fmt.Sprint(i)); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	role := testRole(t, dsn, "stats_only")
	execSQL(t, dsn, "GRANT pg_read_all_stats TO "+role)
	roleDSN := withUser(dsn, role, "")

	// pg_read_all_stats only: nothing can be planned.
	snapPath := filepath.Join(t.TempDir(), "stats-only.json")
	code, out, stderr := runCLI(t, "audit", "--dsn", roleDSN, "--format", "json", "--sample-window", "0", "--save-snapshot", snapPath)
	t.Logf("stderr with pg_read_all_stats only: %s", stderr)
	r := expectPartial(t, code, out, stderr, "GRANT SELECT ON ")
	for _, want := range []string{"public.orders", "public.customers", " TO " + role, "GRANT pg_read_all_data TO " + role} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q does not name %q", stderr, want)
		}
	}
	if r.Summary.Statements < 17 {
		t.Errorf("statistics of %d statements read with pg_read_all_stats, want the 17 of the workload", r.Summary.Statements)
	}
	perTable := map[string]int{}
	for _, p := range r.Problems {
		for _, o := range p.Objects {
			if p.Severity == pgstat.SeverityWarning {
				perTable[o]++
				if o == "public.orders" && strings.Contains(p.Fix, "GRANT SELECT ON public.orders TO "+role) {
					if p.Statements != len(onOrders) {
						t.Errorf("problem on public.orders counts %d statements, want %d: %+v", p.Statements, len(onOrders), p)
					}
					if len(p.QueryIDs) == 0 || !strings.Contains(p.Message, p.QueryIDs[0]) {
						t.Errorf("problem on public.orders does not name its statements: %+v", p)
					}
				}
			}
		}
	}
	if perTable["public.orders"] != 1 || perTable["public.customers"] != 1 {
		t.Errorf("want one problem per denied table, got %v in %+v", perTable, r.Problems)
	}
	for _, format := range []string{"table", "markdown"} {
		_, out, _ := runCLI(t, "audit", "--snapshot", snapPath, "--format", format)
		out = strings.Join(strings.Fields(out), " ") // the table printer wraps lines
		if !strings.Contains(out, "GRANT SELECT ON public.orders TO "+role) || strings.Count(out, "GRANT SELECT ON public.orders TO") > 2 {
			t.Errorf("%s report does not name the GRANT once per table:\n%s", format, out)
		}
	}

	// pg_monitor (which includes pg_read_all_stats) is no different.
	monitor := testRole(t, dsn, "monitor")
	execSQL(t, dsn, "GRANT pg_monitor TO "+monitor)
	code, out, stderr = runCLI(t, "audit", "--dsn", withUser(dsn, monitor, ""), "--format", "json", "--sample-window", "0", "--no-what-if")
	expectPartial(t, code, out, stderr, "GRANT SELECT ON public.customers, public.orders TO "+monitor)

	// pg_read_all_stats and SELECT on the tables: plans and what-if work.
	execSQL(t, dsn, "GRANT SELECT ON orders, customers TO "+role)
	snapPath = filepath.Join(t.TempDir(), "with-select.json")
	code, _, stderr = runCLI(t, "audit", "--dsn", roleDSN, "--format", "json", "--sample-window", "0", "--save-snapshot", snapPath)
	if code != exitClean {
		t.Errorf("with SELECT on the tables: exit %d, want %d: %s", code, exitClean, stderr)
	}
	snap := readSnapshot(t, snapPath)
	planned := 0
	for _, p := range snap.Plans {
		if p.Plan != nil {
			planned++
		}
	}
	if planned < len(onOrders)+1 {
		t.Errorf("%d statements planned with SELECT on the tables, want at least %d", planned, len(onOrders)+1)
	}
	schemaWarned := false
	for _, p := range snap.Problems {
		if strings.Contains(p.Fix, "GRANT USAGE ON SCHEMA hidden TO "+role) {
			schemaWarned = p.Severity == pgstat.SeverityWarning
		}
	}
	if !schemaWarned {
		t.Errorf("the statement on hidden.notes is not a warning naming GRANT USAGE ON SCHEMA hidden: %+v", snap.Problems)
	}
	if snap.Server.HypoPG != "" {
		res := snap.WhatIf
		if res == nil {
			t.Fatal("HypoPG is installed but the snapshot has no what-if result")
		}
		costed := 0
		for _, s := range res.Statements {
			if s.Error == "" && s.Cost > 0 {
				costed++
			}
		}
		if costed == 0 || res.PlannerCalls == 0 {
			t.Errorf("what-if planned nothing with SELECT on the tables: %+v", *res)
		}
	} else if pgtest.InCI() {
		t.Error("HypoPG is not installed in the test database: the what-if privileges are untested")
	}
}
