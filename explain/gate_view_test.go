package explain

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// TestGateFollowsViews: a volatile function reached through a view (nested
// views included) or a table with row-level security rules out ANALYZE, and
// the advisory lock the view would take is never taken.
func TestGateFollowsViews(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range []string{
		"CREATE TABLE items (id int PRIMARY KEY, name text)",
		"INSERT INTO items SELECT g, 'n' || g FROM generate_series(1, 100) g",
		"CREATE VIEW locking AS SELECT pg_try_advisory_lock(4242) AS got",
		"CREATE VIEW outer_view AS SELECT * FROM locking",
		"CREATE VIEW upper_names AS SELECT id, upper(name) AS name FROM items",
		"CREATE TABLE secret (id int)", "ALTER TABLE secret ENABLE ROW LEVEL SECURITY",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		sql     string
		analyze bool
		reason  string
	}{
		{"SELECT * FROM locking", false, "pg_try_advisory_lock"},
		{"SELECT * FROM outer_view", false, "pg_try_advisory_lock"},
		{"SELECT * FROM upper_names WHERE id = 3", true, ""},
		{"SELECT * FROM secret", false, "row-level security"},
		{"SELECT * FROM no_such_table", false, "does not resolve"},
	} {
		facts, err := sqlfacts.Analyze(c.sql)
		if err != nil {
			t.Fatal(err)
		}
		ok, reason, err := Gate(ctx, conn, c.sql, facts)
		if err != nil {
			t.Fatalf("%s: %v", c.sql, err)
		}
		if ok != c.analyze || !strings.Contains(reason, c.reason) {
			t.Errorf("%s: analyze=%v reason=%q, want analyze=%v reason containing %q", c.sql, ok, reason, c.analyze, c.reason)
		}
		res := Run(ctx, conn, c.sql, facts, Options{Analyze: true})
		if res.Error == "" && (res.Mode == ModeAnalyze) != c.analyze {
			t.Errorf("%s: Run mode %s", c.sql, res.Mode)
		}
	}
	var held int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").Scan(&held); err != nil {
		t.Fatal(err)
	}
	if held != 0 {
		t.Errorf("the view's advisory lock was taken: %d held", held)
	}
}
