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
			if c.code == exitFailure && !strings.Contains(stdout, "one statement, not planned") {
				t.Errorf("no report printed before the failure: %q", stdout)
			}
		})
	}
}
