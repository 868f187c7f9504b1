package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/report"
)

// exec runs SQL on a DSN.
func execSQL(t *testing.T, dsn string, sqls ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range sqls {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// withUser returns dsn with another user (and password).
func withUser(dsn, user, password string) string {
	var parts []string
	for _, f := range strings.Fields(dsn) {
		if !strings.HasPrefix(f, "user=") && !strings.HasPrefix(f, "password=") {
			parts = append(parts, f)
		}
	}
	parts = append(parts, "user="+user)
	if password != "" {
		parts = append(parts, "password="+password)
	}
	return strings.Join(parts, " ")
}

// expectPartial checks a failure that still reports: exit 3, one stderr line
// naming the fix, and a complete JSON report on stdout.
func expectPartial(t *testing.T, code int, stdout, stderr, wantInMessage string) *report.Report {
	t.Helper()
	if code != exitFailure {
		t.Errorf("exit %d, want %d (stderr %q)", code, exitFailure, stderr)
	}
	line := strings.TrimSpace(stderr)
	if strings.Contains(line, "\n") {
		t.Errorf("want one line on stderr, got %q", stderr)
	}
	if !strings.Contains(line, wantInMessage) {
		t.Errorf("stderr %q does not name %q", line, wantInMessage)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("no report on stdout after the failure: %v\n%s", err, stdout)
	}
	if len(r.Problems) == 0 {
		t.Errorf("report lists no problems")
	}
	return &r
}

func TestAuditWithoutStatStatements(t *testing.T) {
	dsn := pgtest.DB(t)
	execSQL(t, dsn, "CREATE TABLE u (id int PRIMARY KEY)", "INSERT INTO u SELECT generate_series(1, 100)",
		"CREATE TABLE t (id int PRIMARY KEY, fk int REFERENCES u(id))",
		"INSERT INTO t SELECT g, g % 100 + 1 FROM generate_series(1, 50000) g", "ANALYZE", "DROP EXTENSION pg_stat_statements")
	code, out, stderr := runCLI(t, "audit", "--dsn", dsn, "--format", "json", "--sample-window", "0")
	r := expectPartial(t, code, out, stderr, "CREATE EXTENSION pg_stat_statements")
	// Catalog rules still ran on what was collected.
	found := false
	for _, f := range r.Findings {
		found = found || f.Rule == "fk-missing-index"
	}
	if !found {
		t.Errorf("catalog findings lost: %+v", r.Findings)
	}
}

func TestAuditWithoutPrivileges(t *testing.T) {
	dsn := pgtest.DB(t)
	execSQL(t, dsn, "DROP ROLE IF EXISTS nopriv", "CREATE ROLE nopriv LOGIN", "CREATE TABLE t (id int)", "SELECT count(*) FROM t")
	code, out, stderr := runCLI(t, "audit", "--dsn", withUser(dsn, "nopriv", ""), "--format", "json", "--sample-window", "0")
	expectPartial(t, code, out, stderr, "pg_read_all_stats")
}

func TestAuditStatementTimeout(t *testing.T) {
	dsn := pgtest.DB(t)
	execSQL(t, dsn, "CREATE TABLE t (id int PRIMARY KEY)")
	// A session holding an exclusive lock makes pgadvisor's catalog reads of
	// t wait; the statement timeout (shorter than the lock timeout) ends them.
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "LOCK TABLE t IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runCLI(t, "audit", "--dsn", dsn, "--format", "json", "--sample-window", "0", "--statement-timeout", "300ms", "--lock-timeout", "10s")
	expectPartial(t, code, out, stderr, "--statement-timeout")
}

func TestAuditWrongPassword(t *testing.T) {
	cluster := pgtest.Shared(t)
	if cluster == nil {
		// Only with PGADVISOR_TEST_DSN (never set by CI); under CI the
		// shared cluster exists or AdminDSN has already failed the test.
		t.Skip("PGADVISOR_TEST_DSN server: pg_hba.conf is not ours to change")
	}
	dsn := pgtest.DB(t)
	execSQL(t, dsn, "DROP ROLE IF EXISTS pwuser", "CREATE ROLE pwuser LOGIN PASSWORD 'right-password'", "GRANT pg_read_all_stats TO pwuser")
	hba := filepath.Join(cluster.DataDir, "pg_hba.conf")
	orig, err := os.ReadFile(hba)
	if err != nil {
		t.Fatal(err)
	}
	// Password authentication for pwuser only, ahead of the trust lines.
	if err := os.WriteFile(hba, append([]byte("local all pwuser scram-sha-256\n"), orig...), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.WriteFile(hba, orig, 0o600)
		execSQL(t, pgtest.AdminDSN(t), "SELECT pg_reload_conf()")
	})
	execSQL(t, pgtest.AdminDSN(t), "SELECT pg_reload_conf()")
	time.Sleep(200 * time.Millisecond)
	code, out, stderr := runCLI(t, "audit", "--dsn", withUser(dsn, "pwuser", "s3cret-wrong"), "--format", "json")
	if code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	if strings.Contains(stderr+out, "s3cret-wrong") {
		t.Errorf("password leaked: %q", stderr)
	}
	if !strings.Contains(stderr, "password") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
		t.Errorf("want one line about the password, got %q", stderr)
	}
	// The right password from a .pgpass file (PGPASSFILE), no password in the DSN.
	pgpass := filepath.Join(t.TempDir(), "pgpass")
	if err := os.WriteFile(pgpass, []byte("*:*:*:pwuser:right-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PGPASSFILE", pgpass)
	code, _, stderr = runCLI(t, "audit", "--dsn", withUser(dsn, "pwuser", ""), "--format", "json", "--sample-window", "0", "--no-what-if")
	if code != exitClean {
		t.Errorf("with the password from PGPASSFILE: exit %d: %s", code, stderr)
	}
}

// TestAuditFromPGEnvironment: no --dsn, the connection comes from PG* variables.
func TestAuditFromPGEnvironment(t *testing.T) {
	dsn := pgtest.DB(t)
	for _, kv := range strings.Fields(dsn) {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "host":
			t.Setenv("PGHOST", v)
		case "port":
			t.Setenv("PGPORT", v)
		case "user":
			t.Setenv("PGUSER", v)
		case "dbname":
			t.Setenv("PGDATABASE", v)
		}
	}
	t.Setenv("DATABASE_URL", "")
	code, out, stderr := runCLI(t, "audit", "--format", "json", "--sample-window", "0")
	if code != exitClean {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Database != strings.TrimPrefix(dsn[strings.Index(dsn, "dbname="):], "dbname=") {
		t.Errorf("audited database %q (err %v), want the one of PGDATABASE", r.Database, err)
	}
}

func TestAuditConnectionLost(t *testing.T) {
	dsn := pgtest.DB(t)
	execSQL(t, dsn, "CREATE TABLE t (id int PRIMARY KEY)", "SELECT * FROM t WHERE id = 1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Kill pgadvisor's session while it samples pg_stat_activity.
	go func() {
		conn, err := pgx.Connect(ctx, pgtest.AdminDSN(t))
		if err != nil {
			return
		}
		defer conn.Close(context.Background())
		for ctx.Err() == nil {
			conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pgadvisor' AND pid <> pg_backend_pid() AND now() - backend_start > interval '500 ms'")
			time.Sleep(100 * time.Millisecond)
		}
	}()
	code, out, stderr := runCLI(t, "audit", "--dsn", dsn, "--format", "json", "--sample-window", "4s")
	cancel()
	r := expectPartial(t, code, out, stderr, "")
	if r.Summary.Statements == 0 && len(r.Findings) == 0 && r.Server.VersionNum == 0 {
		t.Errorf("nothing collected before the connection was lost was reported")
	}
	if !strings.Contains(strings.ToLower(stderr), "connection") {
		t.Errorf("stderr does not say the connection was lost: %q", stderr)
	}
}

func TestAuditInterrupted(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(1500*time.Millisecond, cancel) // what SIGINT does to run's context
	var out, errOut strings.Builder
	start := time.Now()
	code := run(ctx, []string{"pgadvisor", "audit", "--dsn", dsn, "--format", "json", "--sample-window", "30s"}, strings.NewReader(""), &out, &errOut)
	if time.Since(start) > 20*time.Second {
		t.Errorf("cancellation took %s", time.Since(start))
	}
	r := expectPartial(t, code, out.String(), errOut.String(), "interrupted")
	if r.Server.VersionNum == 0 {
		t.Error("what was collected before the interruption is not reported")
	}
}

// TestOwnStatementsMarked: after two audits (EXPLAIN ANALYZE with sampled
// parameters, what-if), every statement pgadvisor sent is marked in
// pg_stat_statements, so none of them can become a workload statement.
func TestOwnStatementsMarked(t *testing.T) {
	dsn := pgtest.DB(t)
	execSQL(t, dsn, "CREATE TABLE t (id int PRIMARY KEY, code int, note text)",
		"INSERT INTO t SELECT g, g % 100, 'n' || g FROM generate_series(1, 20000) g", "ANALYZE t",
		"SELECT pg_stat_statements_reset()")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for i := 0; i < 5; i++ {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM t WHERE code = $1", i).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		if code, _, stderr := runCLI(t, "audit", "--dsn", dsn, "--format", "json", "--sample-window", "0"); code != exitClean {
			t.Fatalf("audit %d: exit %d: %s", i, code, stderr)
		}
	}
	rows, err := conn.Query(ctx, "SELECT query FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var q string
		if err := rows.Scan(&q); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.Contains(q, "/* pgadvisor */"):
		case q == "SELECT count(*) FROM t WHERE code = $1": // the workload (also run inside EXPLAIN ANALYZE)
		case strings.HasPrefix(q, "SELECT pg_stat_statements_reset()"), strings.HasPrefix(q, "SELECT query FROM pg_stat_statements"):
		default:
			t.Errorf("unmarked statement in pg_stat_statements: %q", q)
		}
	}
}
