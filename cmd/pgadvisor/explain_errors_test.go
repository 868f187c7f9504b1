package main

import (
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
)

// TestExplainServerErrors: a statement that cannot be planned is a clear
// message and exit 3 (the report is still printed), never exit 0 with
// nothing; several statements in one argument are a usage error.
func TestExplainServerErrors(t *testing.T) {
	dsn := pgtest.DB(t)
	execSQL(t, dsn,
		"CREATE TABLE private_notes (id int PRIMARY KEY, body text)",
		"DROP ROLE IF EXISTS explain_reader",
		"CREATE ROLE explain_reader LOGIN",
	)
	t.Cleanup(func() { execSQL(t, dsn, "DROP OWNED BY explain_reader", "DROP ROLE IF EXISTS explain_reader") })
	for _, c := range []struct {
		name, dsn, sql string
		code           int
		stderr         string
	}{
		{"undefined table", dsn, "SELECT * FROM no_such_table WHERE id = 1", exitFailure, `relation "no_such_table" does not exist`},
		{"permission", withUser(dsn, "explain_reader", ""), "SELECT body FROM private_notes WHERE id = 1", exitFailure, "permission denied for table private_notes"},
		{"two statements", dsn, "SELECT 1; SELECT 2", exitUsage, "the text holds 2 statements: explain takes one"},
		{"planned", dsn, "SELECT body FROM private_notes WHERE id = 1", exitClean, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "explain", "--dsn", c.dsn, c.sql)
			if code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, c.code, stderr)
			}
			if c.stderr != "" && !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr %q, want it to contain %q", stderr, c.stderr)
			}
			if c.code == exitClean && !strings.Contains(stdout, "one statement, executed with EXPLAIN ANALYZE") {
				t.Errorf("the header does not say what was done: %q", stdout)
			}
			if c.code == exitClean && !strings.Contains(stdout, "Plan:\n  Index Scan on public.private_notes using private_notes_pkey  est 1 rows") {
				t.Errorf("the plan tree is not shown: %q", stdout)
			}
			if c.code == exitFailure && !strings.Contains(stdout, "one statement, not planned") {
				t.Errorf("no report printed before the failure: %q", stdout)
			}
		})
	}
}

// TestExplainLeavesOutHygiene: explain is about its one statement: the
// database's index hygiene (a duplicate index, a foreign key without an
// index) is not reported unless --rules asks for it.
func TestExplainLeavesOutHygiene(t *testing.T) {
	dsn := pgtest.DB(t)
	execSQL(t, dsn,
		"CREATE TABLE parents (id int PRIMARY KEY)",
		"CREATE TABLE kids (id int PRIMARY KEY, parent_id int REFERENCES parents, name text)",
		"CREATE INDEX kids_name_a ON kids (name)", "CREATE INDEX kids_name_b ON kids (name)",
		"INSERT INTO parents SELECT g FROM generate_series(1, 100) g",
		"INSERT INTO kids SELECT g, g % 100 + 1, 'n' || g FROM generate_series(1, 20000) g",
		"ANALYZE parents, kids",
	)
	q := "SELECT id FROM kids WHERE name = 'n5'"
	_, stdout, stderr := runCLI(t, "explain", "--dsn", dsn, "--format", "json", q)
	for _, rule := range []string{"redundant-index", "fk-missing-index", "unused-index"} {
		if strings.Contains(stdout, `"rule": "`+rule+`"`) {
			t.Errorf("explain reported database-wide %s (stderr %q)", rule, stderr)
		}
	}
	_, stdout, _ = runCLI(t, "explain", "--dsn", dsn, "--format", "json", "--rules", "fk-missing-index,redundant-index", q)
	for _, rule := range []string{"redundant-index", "fk-missing-index"} {
		if !strings.Contains(stdout, `"rule": "`+rule+`"`) {
			t.Errorf("--rules %s: not reported", rule)
		}
	}
}
