package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// secretMark starts every password below; no output may contain it. Forms
// that spell the password with escapes or split it still write it whole.
const secretMark = "Kx9Top"

// credentialStatements are the ways a password reaches the server's texts,
// each with a distinct password (secretMark + "Pw" + n). conninfo is the
// test database's own connection string, so that dblink really connects.
func credentialStatements(conninfo string) []string {
	ci := func(n int) string {
		return strings.ReplaceAll(fmt.Sprintf("%s password=%sPw%d", conninfo, secretMark, n), "'", "''")
	}
	return []string{
		fmt.Sprintf("CREATE ROLE secret_r1 LOGIN PASSWORD '%sPw1'", secretMark),
		fmt.Sprintf("ALTER ROLE secret_r1 PASSWORD $$%sPw2$$", secretMark),
		fmt.Sprintf("ALTER ROLE secret_r1 PASSWORD $q$%sPw3'$q$", secretMark),
		fmt.Sprintf(`ALTER ROLE secret_r1 PASSWORD U&'%sP\0077\0034'`, secretMark),
		fmt.Sprintf("ALTER ROLE secret_r1 PASSWORD /* it's rotated */ '%sPw5'", secretMark),
		fmt.Sprintf("-- rotation\nALTER USER secret_r1 WITH ENCRYPTED PASSWORD E'%sPw\\066'", secretMark),
		fmt.Sprintf("DO $$BEGIN PERFORM dblink_connect('c7', '%s'); PERFORM dblink_disconnect('c7'); END$$", ci(7)),
		fmt.Sprintf("ALTER SYSTEM SET primary_conninfo = 'host=primary user=rep password=%sPw8'", secretMark),
		fmt.Sprintf(`ALTER SYSTEM SET primary_conninfo = "host=p password=%sPw9"`, secretMark),
		fmt.Sprintf("SELECT * FROM dblink('%s', 'SELECT 1') AS t(a int)", ci(10)),
		fmt.Sprintf("SELECT dblink_connect('c11', '%s'), dblink_disconnect('c11')", ci(11)),
		fmt.Sprintf("CREATE SERVER secret_s FOREIGN DATA WRAPPER plain_fdw OPTIONS (host 'h', password '%sPw12')", secretMark),
		fmt.Sprintf("ALTER SERVER secret_s OPTIONS (SET password $$%sPw13$$)", secretMark),
		fmt.Sprintf("CREATE USER MAPPING FOR secret_r1 SERVER secret_s OPTIONS (user 'r1', password '%sPw14')", secretMark),
		fmt.Sprintf("ALTER USER MAPPING FOR secret_r1 SERVER secret_s OPTIONS (SET password $x$%sPw15$x$)", secretMark),
		fmt.Sprintf("CREATE SUBSCRIPTION secret_sub CONNECTION 'host=h password=%sPw16' PUBLICATION p WITH (connect = false)", secretMark),
		fmt.Sprintf("CREATE VIEW remote_rows AS SELECT * FROM dblink('%s', 'SELECT 1') AS t(a int)", ci(17)),
		fmt.Sprintf("ALTER ROLE secret_r1 PASSWORD '%s'\n'Pw18'", secretMark),
	}
}

// TestAuditRedactsCredentials puts every credential form into a real
// server's pg_stat_statements, pg_stat_activity (one idle session per form,
// whose last statement it is) and statement log (an N+1 loop whose parent
// opens a dblink connection with a password and whose children look up
// e-mail addresses by literal), then audits through the CLI in every format
// and from the saved snapshot: the password appears in no stdout, stderr,
// report file or snapshot file, and no e-mail address in an N+1 finding.
func TestAuditRedactsCredentials(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cluster, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{
		"log_min_duration_statement": "0",
		"log_line_prefix":            "'%m [%p] %c %q%u@%d '",
	}})
	if err != nil {
		pgtest.Unavailable(t, "%v", err)
	}
	defer cluster.Stop()
	dsn, err := cluster.CreateDatabase(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	execSQL(t, dsn,
		"CREATE EXTENSION dblink",
		"CREATE FOREIGN DATA WRAPPER plain_fdw",
		"CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL)",
		"CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL)",
		"INSERT INTO customers SELECT g, 'person' || g || '@mail.example.com' FROM generate_series(1, 200) g",
		"INSERT INTO orders SELECT g, g % 200 + 1 FROM generate_series(1, 2000) g",
		"ANALYZE customers, orders",
	)

	// One session per form, left idle with the form as its last statement.
	forms := credentialStatements(dsn)
	for i, sql := range forms {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol); err != nil {
			t.Fatalf("form %d: %s: %v", i+1, sql, err)
		}
	}
	// The N+1 loop, with literals as an ORM that does not bind would send them.
	loop, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer loop.Close(context.Background())
	conninfo := strings.ReplaceAll(dsn+" password="+secretMark+"PwLoop", "'", "''")
	for round := 0; round < 4; round++ {
		var ids []int
		rows, err := loop.Query(ctx, fmt.Sprintf("SELECT * FROM dblink('%s', 'SELECT id FROM orders WHERE customer_id = %d') AS t(id int)", conninfo, round+1),
			pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if len(ids) < 5 {
			t.Fatalf("round %d: %d orders, want at least 5 for a run", round, len(ids))
		}
		for _, id := range ids {
			var email string
			q := fmt.Sprintf("SELECT c.email FROM customers c JOIN orders o ON o.customer_id = c.id WHERE o.id = %d AND c.email <> 'person%d@mail.example.com'", id, id)
			if err := loop.QueryRow(ctx, q, pgx.QueryExecModeSimpleProtocol).Scan(&email); err != nil {
				t.Fatal(err)
			}
		}
	}

	// The test can fail: the server really holds the passwords.
	rawStatements := countRaw(t, ctx, dsn, "SELECT count(*) FROM pg_stat_statements WHERE query LIKE '%"+secretMark+"%'")
	rawActivity := countRaw(t, ctx, dsn, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%"+secretMark+"%' AND pid <> pg_backend_pid()")
	logText, err := os.ReadFile(cluster.LogFile())
	if err != nil {
		t.Fatal(err)
	}
	rawLog := strings.Count(string(logText), secretMark)
	t.Logf("texts holding the password on the server: pg_stat_statements %d, pg_stat_activity %d, log %d", rawStatements, rawActivity, rawLog)
	if rawStatements == 0 || rawActivity < len(forms)-1 || rawLog < len(forms) {
		t.Fatalf("the server does not hold the passwords the test means to hide: statements %d, activity %d, log %d", rawStatements, rawActivity, rawLog)
	}

	dir := t.TempDir()
	snapPath := filepath.Join(dir, "snapshot.json")
	for _, format := range []string{"table", "json", "markdown"} {
		out := filepath.Join(dir, "report."+format)
		args := []string{"audit", "--dsn", dsn, "--format", format, "--sample-window", "0",
			"--log", cluster.LogFile(), "--log-format", "stderr", "--log-min-ms", "0.001"}
		if format == "json" {
			args = append(args, "--save-snapshot", snapPath)
		} else {
			args = append(args, "--no-what-if")
		}
		code, stdout, stderr := runCLI(t, args...)
		if code != exitClean && code != exitFindings {
			t.Fatalf("%s: exit %d: %s", format, code, stderr)
		}
		noSecret(t, format+" stdout", stdout)
		noSecret(t, format+" stderr", stderr)
		code, stdout, stderr = runCLI(t, append(args, "--output", out)...)
		if code != exitClean && code != exitFindings {
			t.Fatalf("%s --output: exit %d: %s", format, code, stderr)
		}
		noSecret(t, format+" stdout with --output", stdout)
		noSecret(t, format+" stderr with --output", stderr)
		report, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		noSecret(t, format+" report file", string(report))
		if format == "json" && !strings.Contains(string(report), `"rule": "n-plus-one"`) {
			t.Errorf("no n-plus-one finding from the log: the loop's texts were not tested\n%s", report)
		}
		if strings.Contains(string(report), "mail.example.com") {
			t.Errorf("%s report quotes an e-mail address", format)
		}
	}

	snapText, err := os.ReadFile(snapPath)
	if err != nil {
		t.Fatal(err)
	}
	noSecret(t, "snapshot file", string(snapText))
	// Plans analysed with values sampled from customers.email show them
	// as literals: masked before they are stored.
	if strings.Contains(string(snapText), "mail.example.com") {
		t.Errorf("the snapshot holds an e-mail address of the customers table")
	}
	snap, err := pgstat.Read(snapText)
	if err != nil {
		t.Fatal(err)
	}
	// Redacted, not lost: the statements and sessions are still there.
	redacted := 0
	for _, s := range snap.Statements {
		if strings.Contains(s.Query, "PASSWORD $") || strings.Contains(s.Query, "dblink_connect($") || strings.Contains(s.Query, "primary_conninfo = $") {
			redacted++
		}
	}
	sessions := 0
	for _, a := range snap.Activity {
		for _, s := range a.Sessions {
			if strings.Contains(s.Query, "PASSWORD $") || strings.Contains(s.Query, "OPTIONS (") || strings.Contains(s.Query, "dblink") {
				sessions++
			}
		}
	}
	t.Logf("snapshot: %d statements, %d redacted credential statements, %d redacted sessions", len(snap.Statements), redacted, sessions)
	if redacted == 0 || sessions < len(forms)/2 {
		t.Errorf("credential statements dropped instead of redacted: %d statements, %d sessions", redacted, sessions)
	}
	if snap.Log == nil || len(snap.Log.Sequences) == 0 {
		t.Fatalf("the snapshot holds no N+1 sequence from the log")
	}
	for _, seq := range snap.Log.Sequences {
		if strings.Contains(seq.ChildQuery, "mail.example.com") || strings.Contains(seq.ParentQuery, "mail.example.com") {
			t.Errorf("a log sequence quotes an e-mail address: %+v", seq)
		}
	}
	// Offline re-runs print from the snapshot only.
	for _, format := range []string{"table", "json", "markdown"} {
		code, stdout, stderr := runCLI(t, "audit", "--snapshot", snapPath, "--format", format)
		if code != exitClean && code != exitFindings {
			t.Fatalf("offline %s: exit %d: %s", format, code, stderr)
		}
		noSecret(t, "offline "+format+" stdout", stdout)
		noSecret(t, "offline "+format+" stderr", stderr)
	}
}

func countRaw(t *testing.T, ctx context.Context, dsn, sql string) int {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func noSecret(t *testing.T, where, text string) {
	t.Helper()
	if i := strings.Index(text, secretMark); i >= 0 {
		from, to := max(0, i-120), min(len(text), i+60)
		t.Errorf("%s holds a password: …%s…", where, text[from:to])
	}
}
