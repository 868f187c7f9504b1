package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
)

// hostileSchema builds objects that leave evidence when their code runs:
// each writes a row through dblink (a separate connection, so the row stays
// even when the audit rolls back and even under READ ONLY), takes a session
// advisory lock and resets the database's statistics. They hide behind
// everything the gate must see through: lying volatility (STABLE and
// IMMUTABLE), a user operator, a domain's CHECK, a user aggregate's
// transition function, attribute notation, a view, a range type's
// subtype_diff (called by the planner's estimates) and a foreign table
// whose file_fdw program touches a marker file.
func hostileSchema(dsn, marker string) []string {
	conninfo := strings.ReplaceAll(dsn, "'", "''")
	leak := func(name, args, ret, volatility, what, result string) string {
		return fmt.Sprintf(`CREATE FUNCTION %s(%s) RETURNS %s LANGUAGE plpgsql %s AS $f$
BEGIN
  PERFORM dblink_exec('%s', 'INSERT INTO evidence VALUES (''%s'')');
  PERFORM pg_advisory_lock(4242);
  PERFORM pg_stat_reset();
  RETURN %s;
END $f$`, name, args, ret, volatility, strings.ReplaceAll(conninfo, "'", "''"), what, result)
	}
	return []string{
		"CREATE EXTENSION dblink",
		"CREATE EXTENSION file_fdw",
		"CREATE TABLE evidence (what text)",
		"CREATE TABLE hostile (id int PRIMARY KEY, a int, b int, r int4range)",
		"INSERT INTO hostile SELECT g, g % 10, g % 7, int4range(g, g + 10) FROM generate_series(1, 20000) g",
		leak("stable_leak", "", "int", "STABLE", "stable", "1"),
		leak("immutable_leak", "x int", "int", "IMMUTABLE", "immutable", "x"),
		leak("op_leak", "x int, y int", "bool", "VOLATILE", "operator", "x = y"),
		"CREATE OPERATOR ==== (LEFTARG = int, RIGHTARG = int, FUNCTION = op_leak)",
		leak("check_leak", "x int", "bool", "VOLATILE", "domain", "true"),
		"CREATE DOMAIN leaky_int AS int CHECK (check_leak(VALUE))",
		leak("sfunc_leak", "s int, x int", "int", "VOLATILE", "aggregate", "coalesce(s, 0) + x"),
		"CREATE AGGREGATE agg_leak(int) (SFUNC = sfunc_leak, STYPE = int)",
		leak("attr_leak", "h hostile", "int", "VOLATILE", "attribute", "h.a"),
		"CREATE VIEW leaky_view AS SELECT id, stable_leak() AS x FROM hostile",
		leak("diff_leak", "x int, y int", "float8", "IMMUTABLE", "subtype_diff", "x - y"),
		"CREATE TYPE leaky_range AS RANGE (SUBTYPE = int, SUBTYPE_DIFF = diff_leak)",
		"CREATE TABLE ranged (id int, r leaky_range)",
		"INSERT INTO ranged SELECT g, leaky_range(g, g + 5) FROM generate_series(1, 5000) g",
		"ANALYZE hostile, ranged",
		"CREATE SERVER files FOREIGN DATA WRAPPER file_fdw",
		fmt.Sprintf("CREATE FOREIGN TABLE program_output (line text) SERVER files OPTIONS (program 'touch %s; echo x')", marker),
	}
}

// hostileWorkload runs each hostile statement (so pg_stat_statements holds
// it, as an application would leave it), with parameters where an
// application would send them.
var hostileWorkload = []struct {
	sql  string
	args []any
}{
	{"SELECT stable_leak(), a FROM hostile WHERE id = $1", []any{7}},
	{"SELECT immutable_leak(a) FROM hostile WHERE id < $1", []any{3}},
	{"SELECT count(*) FROM hostile WHERE a ==== b AND id < $1", []any{3}},
	{"SELECT CAST(a AS leaky_int) FROM hostile WHERE id < $1", []any{3}},
	{"SELECT agg_leak(a) FROM hostile WHERE id < $1", []any{3}},
	{"SELECT h.attr_leak FROM hostile h WHERE h.id < $1", []any{3}},
	{"SELECT x FROM leaky_view WHERE id = $1", []any{5}},
	{"SELECT count(*) FROM ranged WHERE r && leaky_range(1, 50)", nil},
	{"SELECT count(*) FROM program_output", nil},
	// A plain statement the audit may analyse: the control.
	{"SELECT count(*) FROM hostile WHERE b = $1", []any{3}},
}

// TestAuditHostileSchema: after a full default audit of a database holding
// each hostile object, with each in pg_stat_statements, no row was written
// through dblink, no program ran, no advisory lock is held and stats_reset
// is unchanged; each hostile statement is planned without ANALYZE or not
// planned at all, with the reason, and the control is analysed.
func TestAuditHostileSchema(t *testing.T) {
	dsn := pgtest.DB(t)
	dir := t.TempDir()
	// The server (the postgres OS user when tests run as root) must be able
	// to write the marker: a directory of its own outside t.TempDir's 0700 one.
	markerDir, err := os.MkdirTemp("", "pgadvisor-hostile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(markerDir) })
	if err := os.Chmod(markerDir, 0o777); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(markerDir, "program-ran")
	execSQL(t, dsn, hostileSchema(dsn, marker)...)

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for i := 0; i < 3; i++ {
		for _, w := range hostileWorkload {
			if _, err := conn.Exec(ctx, w.sql, w.args...); err != nil {
				t.Fatalf("workload %s: %v", w.sql, err)
			}
		}
	}
	// The workload left its evidence: the objects really do what they claim.
	var before int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM evidence").Scan(&before); err != nil {
		t.Fatal(err)
	}
	if before == 0 {
		t.Fatal("the hostile workload left no evidence: the test objects do not work")
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the foreign table's program did not run during the workload: %v", err)
	}
	execSQL(t, dsn, "TRUNCATE evidence", "SELECT pg_advisory_unlock_all()")
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	statsReset := func() string {
		var s *string
		if err := conn.QueryRow(ctx, "SELECT stats_reset::text FROM pg_stat_database WHERE datname = current_database()").Scan(&s); err != nil {
			t.Fatal(err)
		}
		if s == nil {
			return ""
		}
		return *s
	}
	resetBefore := statsReset()
	conn.Close(ctx)

	snapPath := filepath.Join(dir, "snap.json")
	code, stdout, stderr := runCLI(t, "audit", "--dsn", dsn, "--format", "json", "--sample-window", "0", "--save-snapshot", snapPath)
	if code != exitClean && code != exitFindings && code != exitFailure {
		t.Fatalf("audit exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, `"schema_version"`) {
		t.Fatalf("no report: %s", stderr)
	}

	conn, err = pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	r, err := conn.Query(ctx, "SELECT what FROM evidence")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := pgx.CollectRows(r, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) > 0 {
		t.Errorf("the audit ran hostile code: evidence rows %v", rows)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the audit ran the foreign table's program")
	}
	var locks int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").Scan(&locks); err != nil {
		t.Fatal(err)
	}
	if locks != 0 {
		t.Errorf("%d advisory locks held after the audit", locks)
	}
	if after := statsReset(); after != resetBefore {
		t.Errorf("stats_reset changed during the audit: %q → %q", resetBefore, after)
	}

	snap := readSnapshot(t, snapPath)
	byQuery := map[string]string{}
	for _, p := range snap.Plans {
		byQuery[p.Query] = fmt.Sprintf("mode=%s reason=%s error=%s", p.Mode, p.Reason, p.Error)
	}
	for _, c := range []struct{ query, want string }{
		{"stable_leak", "not planned: PostgreSQL may run function public.stable_leak (user code, declared STABLE)"},
		{"immutable_leak", "not planned: PostgreSQL may run function public.immutable_leak (user code, declared IMMUTABLE)"},
		{"====", "through operator public.===="},
		{"leaky_int", "public.check_leak (user code, declared VOLATILE; through the CHECK of domain public.leaky_int)"},
		{"agg_leak", "aggregate public.agg_leak"},
		{"attr_leak", "public.attr_leak (user code, declared VOLATILE; through attribute notation)"},
		{"leaky_view", "through view public.leaky_view"},
		{"leaky_range", "public.diff_leak"},
		{"program_output", "foreign table public.program_output"},
		{"b = $1", "mode=analyze"},
	} {
		found := false
		for q, got := range byQuery {
			if strings.Contains(q, c.query) {
				found = true
				if !strings.Contains(got, c.want) {
					t.Errorf("%s: %s; want it to contain %q", q, got, c.want)
				}
				if c.want != "mode=analyze" && strings.Contains(got, "mode=analyze") {
					t.Errorf("%s was analysed", q)
				}
			}
		}
		if !found {
			t.Errorf("no plan recorded for the statement with %q (plans: %v)", c.query, byQuery)
		}
	}
}
