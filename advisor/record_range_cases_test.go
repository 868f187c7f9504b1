package advisor

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/whatif"
)

// rangeSetup is a table whose columns do not correlate with the heap (rows
// inserted in random order): created_at over the 200 days before now, kind
// skewed ('d' is 0.2% of the rows), bucket uniform over 5000 values.
const rangeSetup = `CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, kind text NOT NULL, bucket int NOT NULL, payload text) WITH (autovacuum_enabled = off);
SELECT setseed(0.42);
INSERT INTO events SELECT i, now() - (i * 86.4) * interval '1 second',
  CASE WHEN i % 1000 < 600 THEN 'a' WHEN i % 1000 < 900 THEN 'b' WHEN i % 1000 < 998 THEN 'c' ELSE 'd' END,
  i % 5000, repeat('x', 40)
  FROM generate_series(1, 200000) i ORDER BY random();
ANALYZE events`

// rangeCase is one golden case of missing-index for a statement with $n
// parameters whose generic plan misjudges its rows (or, for the control,
// does not): the statement runs with real values, so that pg_stat_statements
// holds its rows per call, and the what-if runs live as in an audit.
type rangeCase struct {
	name, query string
	args        []any
}

var rangeCases = []rangeCase{
	{"missing-index-range-parameter", "SELECT id, payload FROM events WHERE created_at >= $1", []any{time.Now().Add(-9 * time.Hour)}},
	{"missing-index-interval-parameter", "SELECT id, payload FROM events WHERE created_at > now() - $1::interval", []any{"9 hours"}},
	{"missing-index-skewed-equality", "SELECT id, payload FROM events WHERE kind = $1", []any{"d"}},
	{"missing-index-parameter-estimates-agree", "SELECT id, payload FROM events WHERE bucket = $1", []any{int32(7)}},
}

// TestRecordRangeCases records the golden inputs of rangeCases from the
// throwaway PostgreSQL (run with -record, then -update to rewrite want.json).
func TestRecordRangeCases(t *testing.T) {
	if !*record {
		// A tool, not a check: CI runs TestGolden on what it recorded.
		t.Skip("recording only with -record")
	}
	for _, c := range rangeCases {
		t.Run(c.name, func(t *testing.T) { recordRangeCase(t, c) })
	}
}

func recordRangeCase(t *testing.T, c rangeCase) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, one := range strings.Split(rangeSetup, ";\n") {
		mustExec(ctx, t, conn, one)
	}
	if _, err := conn.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS hypopg"); err != nil {
		pgtest.Unavailable(t, "hypopg: %v", err)
	}
	mustExec(ctx, t, conn, "SELECT pg_stat_statements_reset()")
	for i := 0; i < 3; i++ {
		mustExec(ctx, t, conn, c.query, c.args...)
	}
	snap, err := pgstat.Collect(ctx, conn, pgstat.CollectOptions{})
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	var stmt *pgstat.Statement
	for i := range snap.Statements {
		if s := &snap.Statements[i]; strings.HasPrefix(s.Query, strings.Fields(c.query)[0]) && strings.Contains(s.Query, "FROM events WHERE") {
			stmt = s
		}
	}
	if stmt == nil {
		t.Fatalf("no pg_stat_statements entry for %q", c.query)
	}
	scaled := scaleStatement(*stmt, 1000)
	scaled.TotalExecTime, scaled.MeanExecTime = 20000, 20 // the time a sequential scan of it takes, not this machine's
	snap.Statements = []pgstat.Statement{scaled}
	opts := DefaultOptions()
	inputs := WhatIfInputs(snap, opts)
	wopts := WhatIfOptions(opts)
	res, err := whatif.Evaluate(ctx, conn, snap, inputs, whatif.Candidates(snap, inputs, wopts), wopts)
	if err != nil {
		t.Fatal(err)
	}
	if res.HypoPG == "" {
		pgtest.Unavailable(t, "hypopg: %s", res.Unavailable)
	}
	res.DurationMS = 0
	snap.WhatIf = res
	snap.Activity, snap.Timings, snap.Plans = nil, nil, nil
	snap.Database = "recorded"
	snap.CollectedAt = snap.CollectedAt.Truncate(time.Second)
	var buf bytes.Buffer
	if err := snap.Write(&buf); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", c.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "snapshot.json"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.txt"), []byte("missing-index\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
