package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/report"
)

// statMax is pg_stat_statements.max of the footprint cluster: the lowest
// PostgreSQL accepts, so that a workload fills it.
const statMax = 100

// footprintCluster starts a cluster of its own with pg_stat_statements.max =
// 100 and track = top (the shared one keeps 5000 entries and tracks all),
// and returns the superuser DSN of its database w, holding 60 tables of 200
// rows and the role auditor (pg_read_all_stats and pg_read_all_data, not a
// superuser: it cannot turn tracking off).
func footprintCluster(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{
		"pg_stat_statements.max":   fmt.Sprint(statMax),
		"pg_stat_statements.track": "top",
	}})
	if err != nil {
		pgtest.Unavailable(t, "%v", err)
	}
	t.Cleanup(func() { c.Stop() })
	dsn, err := c.CreateDatabase(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	admin := untrackedConn(t, dsn)
	var setup strings.Builder
	for i := 1; i <= 60; i++ {
		fmt.Fprintf(&setup, "CREATE TABLE t%d (id int PRIMARY KEY, v int NOT NULL); INSERT INTO t%[1]d SELECT g, g %% 7 FROM generate_series(1, 200) g;\n", i)
	}
	setup.WriteString("ANALYZE; CREATE ROLE auditor LOGIN; GRANT pg_read_all_stats, pg_read_all_data TO auditor;")
	if _, err := admin.Exec(ctx, setup.String()); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// untrackedConn is a superuser connection whose own statements
// pg_stat_statements does not track, for the test's setup and checks.
func untrackedConn(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, "SET pg_stat_statements.track = 'none'; SET pg_stat_statements.track_utility = off"); err != nil {
		t.Fatal(err)
	}
	return conn
}

// statState is pg_stat_statements as the test sees it.
type statState struct {
	entries int
	dealloc int64
	keys    map[string]bool // userid/queryid of every entry
}

func readStatState(t *testing.T, conn *pgx.Conn) statState {
	t.Helper()
	ctx := context.Background()
	s := statState{keys: map[string]bool{}}
	if err := conn.QueryRow(ctx, "SELECT dealloc FROM pg_stat_statements_info").Scan(&s.dealloc); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, "SELECT userid::int8, queryid, toplevel FROM pg_stat_statements")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var user, id int64
		var top bool
		if err := rows.Scan(&user, &id, &top); err != nil {
			t.Fatal(err)
		}
		s.entries++
		s.keys[fmt.Sprint(user, "/", id, "/", top)] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return s
}

// auditFootprint runs a default audit (ANALYZE, what-if) on dsn as user and
// returns its report.
func auditFootprint(t *testing.T, dsn, user string) report.Report {
	t.Helper()
	code, out, stderr := runCLI(t, "audit", "--dsn", dsn+" user="+user, "--format", "json", "--sample-window", "0")
	if code != 0 {
		t.Fatalf("audit as %s: exit %d: %s", user, code, stderr)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("audit as %s: %v", user, err)
	}
	if r.Summary.PlansByMode["analyze"] == 0 {
		t.Fatalf("audit as %s analysed no statement (plans %v, problems %v): the footprint of ANALYZE is not tested", user, r.Summary.PlansByMode, r.Problems)
	}
	if r.Summary.Footprint == nil {
		t.Fatalf("audit as %s: the report has no pg_stat_statements footprint", user)
	}
	return r
}

// assertNothingEvicted checks that every entry of before is still there and
// that pg_stat_statements deallocated nothing.
func assertNothingEvicted(t *testing.T, who string, before, after statState, f *pgstat.Footprint) {
	t.Helper()
	if after.dealloc != before.dealloc {
		t.Errorf("%s: pg_stat_statements_info.dealloc %d → %d: the audit caused evictions", who, before.dealloc, after.dealloc)
	}
	lost := 0
	for k := range before.keys {
		if !after.keys[k] {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%s: %d of %d workload entries were evicted", who, lost, len(before.keys))
	}
	if f.CausedEvictions() || f.Evicted != 0 {
		t.Errorf("%s: the report says %q", who, f.Summary())
	}
}

// TestAuditFootprintNearMax: with pg_stat_statements filled to one entry
// below its max, a superuser's audit adds no entry at all, and a role that
// cannot turn tracking off evicts nothing (its texts are fixed: after its
// first audit, the next adds none), and the report says so.
func TestAuditFootprintNearMax(t *testing.T) {
	dsn := footprintCluster(t)
	admin := untrackedConn(t, dsn)
	ctx := context.Background()
	reset := func() {
		t.Helper()
		if _, err := admin.Exec(ctx, "SELECT pg_stat_statements_reset()"); err != nil {
			t.Fatal(err)
		}
	}

	// Superuser: the workload fills pg_stat_statements to max - 1.
	reset()
	fillTo(t, dsn, statMax-1, admin)
	before := readStatState(t, admin)
	if before.entries != statMax-1 {
		t.Fatalf("workload filled %d entries, want %d", before.entries, statMax-1)
	}
	r := auditFootprint(t, dsn, "postgres")
	after := readStatState(t, admin)
	f := r.Summary.Footprint
	if !f.Untracked() || f.Added != 0 || after.entries != before.entries {
		t.Errorf("superuser audit: footprint %+v, entries %d → %d; want tracking off and no entry added", f, before.entries, after.entries)
	}
	assertNothingEvicted(t, "superuser", before, after, f)

	// A role without the right to turn tracking off: its first audit adds
	// its fixed texts, a number that does not grow with the workload.
	reset()
	fillTo(t, dsn, 20, admin)
	first := auditFootprint(t, dsn, "auditor").Summary.Footprint
	if first.Untracked() || first.Added == 0 {
		t.Fatalf("first audit as auditor: footprint %+v; want a tracked session that adds its texts", first)
	}
	t.Logf("first audit as a role that cannot turn tracking off added %d entries", first.Added)
	if first.Added > 60 {
		t.Errorf("first audit as auditor added %d entries, want at most 60 (fixed texts)", first.Added)
	}
	// Fill to max - 1 with more statements (of the same shapes), then audit.
	fillTo(t, dsn, statMax-1, admin)
	before = readStatState(t, admin)
	if before.entries != statMax-1 {
		t.Fatalf("workload filled %d entries, want %d", before.entries, statMax-1)
	}
	r = auditFootprint(t, dsn, "auditor")
	after = readStatState(t, admin)
	f = r.Summary.Footprint
	if f.Untracked() || f.Added != 0 || after.entries != before.entries {
		t.Errorf("second audit as auditor: footprint %+v, entries %d → %d; want no entry added", f, before.entries, after.entries)
	}
	assertNothingEvicted(t, "auditor", before, after, f)

	// The table report says it.
	code, out, _ := runCLI(t, "audit", "--dsn", dsn+" user=auditor", "--sample-window", "0")
	if code != 0 || !strings.Contains(out, "The audit added 0 pg_stat_statements entries and caused no evictions") {
		t.Errorf("table report (exit %d) does not state the footprint:\n%s", code, out)
	}
}

// fillTo runs distinct workload statements (three shapes on each table,
// three calls each, as the superuser with tracking on) until
// pg_stat_statements holds want entries.
func fillTo(t *testing.T, dsn string, want int, admin *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for i := 1; i <= 60; i++ {
		for _, q := range []string{"SELECT v FROM t%d WHERE id = $1", "SELECT count(*) FROM t%d WHERE v = $1", "SELECT max(v) FROM t%d WHERE id < $1"} {
			if readStatState(t, admin).entries >= want {
				return
			}
			var v any
			for k := 1; k <= 3; k++ {
				if err := conn.QueryRow(ctx, fmt.Sprintf(q, i), k).Scan(&v); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	t.Fatalf("could not fill pg_stat_statements to %d entries", want)
}
