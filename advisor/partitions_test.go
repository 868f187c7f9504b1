package advisor

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// TestPartitionIndexHygiene collects a partitioned table from the server and
// runs the index-hygiene rules: an index a partition has of its own and never
// scans is unused and dropped concurrently; a partitioned index scanned in
// one partition only is used; one scanned in none is unused, dropped on the
// parent; a partition's attached index is never reported alone. The drops
// printed run on the server.
func TestPartitionIndexHygiene(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, q := range []string{
		`CREATE TABLE reading (station int NOT NULL, at date NOT NULL, value float8, note text) PARTITION BY RANGE (at)`,
		`CREATE TABLE reading_2026_01 PARTITION OF reading FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')`,
		`CREATE TABLE reading_2026_02 PARTITION OF reading FOR VALUES FROM ('2026-02-01') TO ('2026-03-01')`,
		`INSERT INTO reading SELECT g % 50, date '2026-01-01' + g % 59, g, 'n' || g FROM generate_series(1, 20000) g`,
		`CREATE INDEX reading_station_idx ON reading (station)`, // scanned in January only
		`CREATE INDEX reading_value_idx ON reading (value)`,     // never scanned
		`CREATE INDEX reading_2026_02_note_idx ON reading_2026_02 (note)`,
		`ANALYZE reading`,
		`SET enable_seqscan = off`,
		`SELECT count(*) FROM reading WHERE station = 3 AND at < '2026-02-01'`,
		`RESET enable_seqscan`,
		`SELECT count(*) FROM reading WHERE at >= '2026-02-01'`,
		`SELECT pg_stat_force_next_flush()`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	snap, err := pgstat.Collect(ctx, conn, pgstat.CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res := Run(snap, []*Rule{UnusedIndex, RedundantIndex}, DefaultOptions())
	got := map[string]string{}
	for _, f := range res.Findings {
		if f.Rule != "unused-index" {
			t.Errorf("unexpected %s: %s", f.Rule, f.Message)
			continue
		}
		got[f.Objects[0]] = strings.Join(f.Fix.SQL, ";")
	}
	want := map[string]string{
		"public.reading_value_idx":        "DROP INDEX IF EXISTS public.reading_value_idx",
		"public.reading_2026_02_note_idx": "DROP INDEX CONCURRENTLY IF EXISTS public.reading_2026_02_note_idx",
	}
	for name, sql := range want {
		if got[name] != sql {
			t.Errorf("unused %s: fix %q, want %q", name, got[name], sql)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s reported unused", name)
		}
	}
	names := make([]string, 0, len(got))
	for name := range got {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, err := conn.Exec(ctx, got[name]); err != nil {
			t.Errorf("%s: %v", got[name], err)
		}
	}
}
