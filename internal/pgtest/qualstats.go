package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

// RequireQualstats creates pg_qualstats in conn's database and checks that
// the server preloads it (the throwaway cluster does where it is
// installed: make deps); else the test is Unavailable (a failure under
// CI=true). Sampling stays off until the test's session turns it on.
func RequireQualstats(t testing.TB, conn *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_qualstats`); err != nil {
		Unavailable(t, "pg_qualstats is not installed (make deps): %v", err)
	}
	var loaded bool
	if err := conn.QueryRow(ctx, `SELECT 'pg_qualstats' = ANY(string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ','))`).Scan(&loaded); err != nil || !loaded {
		Unavailable(t, "pg_qualstats is not in shared_preload_libraries of the test server (%v)", err)
	}
}
