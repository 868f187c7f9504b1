package audit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// TestCheckFixes: a live audit PREPAREs the batched INSERT of a 30-row loop
// and shows it; when the table changed between collection and check (a
// column renamed), the rewrite does not prepare, is not shown as SQL, and
// the finding says why. Nothing is written either way.
func TestCheckFixes(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	execAll(t, conn, "CREATE TABLE readings (id bigserial PRIMARY KEY, sensor int NOT NULL, taken_at timestamptz NOT NULL, value float8 NOT NULL)",
		"SELECT pg_stat_force_next_flush()", "SELECT pg_stat_reset()", "SELECT pg_stat_statements_reset()")
	for x := 0; x < 10; x++ {
		execAll(t, conn, "BEGIN")
		for i := 0; i < 30; i++ {
			if _, err := conn.Exec(ctx, "INSERT INTO readings (sensor, taken_at, value) VALUES ($1, now() - interval '5 minutes', $2)", i, float64(x*i)); err != nil {
				t.Fatal(err)
			}
		}
		execAll(t, conn, "COMMIT")
	}
	execAll(t, conn, "SELECT pg_stat_force_next_flush()", "SELECT 1")

	admin, err := pgstat.Connect(ctx, dsn, pgstat.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	snap, err := pgstat.Collect(ctx, admin, pgstat.CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts := advisor.DefaultOptions()
	if err := CheckFixes(ctx, admin, snap, opts); err != nil {
		t.Fatal(err)
	}
	if len(snap.FixChecks) != 1 || snap.FixChecks[0].Error != "" || !strings.Contains(snap.FixChecks[0].SQL, "$3::interval[]") {
		t.Fatalf("want one rewrite prepared without error, with the typed literal as an interval array: %+v", snap.FixChecks)
	}
	finding := func() advisor.Finding {
		t.Helper()
		res := advisor.Run(snap, []*advisor.Rule{advisor.UnbatchedWrites}, opts)
		if len(res.Findings) != 1 {
			t.Fatalf("want one unbatched-writes finding, got %+v", res.Findings)
		}
		return res.Findings[0]
	}
	f := finding()
	if f.Fix == nil || len(f.Fix.SQL) == 0 || advisor.FixStatement(f.Fix.SQL[0]) != snap.FixChecks[0].SQL {
		t.Errorf("the prepared rewrite is not the finding's first fix: %+v", f.Fix)
	}
	if _, ok := f.Evidence["rewrite_error"]; ok {
		t.Errorf("rewrite_error on a rewrite that prepared: %v", f.Evidence)
	}

	execAll(t, conn, "ALTER TABLE readings RENAME COLUMN value TO reading")
	snap.FixChecks = nil
	if err := CheckFixes(ctx, admin, snap, opts); err != nil {
		t.Fatal(err)
	}
	if len(snap.FixChecks) != 1 || !strings.Contains(snap.FixChecks[0].Error, `column "value"`) {
		t.Fatalf("want the rewrite to fail on the renamed column: %+v", snap.FixChecks)
	}
	f = finding()
	for _, sql := range f.Fix.SQL {
		if strings.Contains(sql, "unnest(") {
			t.Errorf("a rewrite that did not prepare is shown as SQL:\n%s", sql)
		}
	}
	if !strings.Contains(f.Message, "did not prepare") || !strings.Contains(f.Message, `column "value"`) {
		t.Errorf("the finding does not say why the rewrite is not shown: %s", f.Message)
	}
	var n int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM readings").Scan(&n); err != nil || n != 300 {
		t.Errorf("readings has %d rows (%v), want the loop's 300: the check wrote", n, err)
	}
	var prepared int
	if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_prepared_statements WHERE name = 'pgadvisor_fix'").Scan(&prepared); err != nil || prepared != 0 {
		t.Errorf("%d prepared statements left behind (%v)", prepared, err)
	}
}
