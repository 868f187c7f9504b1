package whatif

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// TestPartitionRecipeRuns builds the online recipe of an index on a
// two-level partitioned table on the server, for real: partitions with the
// same index of their own get it attached, one with a different index (DESC)
// and one without get a new one, the sub-partitioned partition gets its own
// ON ONLY index. Afterwards every level's index is valid, the matching
// indexes were attached rather than rebuilt, and the estimate counted only
// the partitions built.
func TestPartitionRecipeRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, q := range []string{
		`CREATE SCHEMA "Sensor"`,
		`CREATE TABLE "Sensor".reading (station int NOT NULL, at date NOT NULL, value float8) PARTITION BY RANGE (at)`,
		`CREATE TABLE "Sensor".reading_2026_01 PARTITION OF "Sensor".reading FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')`,
		`CREATE TABLE "Sensor".reading_2026_02 PARTITION OF "Sensor".reading FOR VALUES FROM ('2026-02-01') TO ('2026-03-01')`,
		`CREATE TABLE "Sensor".reading_2026_03 PARTITION OF "Sensor".reading FOR VALUES FROM ('2026-03-01') TO ('2026-04-01')`,
		`CREATE TABLE "Sensor".reading_2026_q2 PARTITION OF "Sensor".reading FOR VALUES FROM ('2026-04-01') TO ('2026-07-01') PARTITION BY LIST (station)`,
		`CREATE TABLE "Sensor".reading_2026_q2_even PARTITION OF "Sensor".reading_2026_q2 FOR VALUES IN (0, 2, 4, 6, 8)`,
		`CREATE TABLE "Sensor".reading_2026_q2_odd PARTITION OF "Sensor".reading_2026_q2 FOR VALUES IN (1, 3, 5, 7, 9)`,
		`INSERT INTO "Sensor".reading SELECT g % 10, date '2026-01-01' + g % 180, g FROM generate_series(1, 36000) g`,
		`CREATE INDEX reading_2026_01_station ON "Sensor".reading_2026_01 (station, at)`,
		`CREATE INDEX reading_2026_02_station_desc ON "Sensor".reading_2026_02 (station, at DESC)`,
		`CREATE INDEX reading_2026_q2_odd_station ON "Sensor".reading_2026_q2_odd (station, at)`,
		`ANALYZE "Sensor".reading`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	snap, err := pgstat.Collect(ctx, conn, pgstat.CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := WithPartitions(snap, Candidate{Schema: "Sensor", Table: "reading", Method: "btree", Partitioned: true,
		Keys: []Key{{Column: "station"}, {Column: "at"}}})
	if len(c.Partitions) != 6 {
		t.Fatalf("steps %+v, want 6 (five partitions and one sub-partitioned)", c.Partitions)
	}
	var builds []string
	for _, s := range c.Partitions {
		if s.Builds() {
			builds = append(builds, s.Table)
		}
	}
	if strings.Join(builds, ",") != "reading_2026_02,reading_2026_03,reading_2026_q2_even" {
		t.Errorf("built on %v, want the DESC-indexed, the unindexed and the even partitions", builds)
	}
	// February 5,600 rows, March 6,200, the even stations of April–June 9,000.
	if rows, want := c.BuildRows(), 20800.0; rows < want*0.9 || rows > want*1.1 {
		t.Errorf("BuildRows %.0f, want about %.0f", rows, want)
	}
	sql := c.FixSQL()
	t.Logf("recipe:\n%s", strings.Join(sql, "\n"))
	if !strings.HasPrefix(sql[0], `CREATE INDEX IF NOT EXISTS reading_station_at_idx ON ONLY "Sensor".reading `) {
		t.Errorf("first statement %q, want the index ON ONLY the parent", sql[0])
	}
	for _, s := range sql {
		if strings.Contains(s, "CREATE INDEX") && !strings.Contains(s, "ON ONLY") && !strings.Contains(s, "CONCURRENTLY") {
			t.Errorf("%q builds an index without CONCURRENTLY", s)
		}
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	var invalid []string
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = 'Sensor' AND NOT i.indisvalid`)
	if err == nil {
		invalid, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil || len(invalid) > 0 {
		t.Errorf("invalid indexes after the recipe: %v (%v)", invalid, err)
	}
	var attached int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_inherits WHERE inhrelid IN ('"Sensor".reading_2026_01_station'::regclass, '"Sensor".reading_2026_q2_odd_station'::regclass)`).Scan(&attached); err != nil || attached != 2 {
		t.Errorf("existing matching indexes attached: %d (%v), want 2", attached, err)
	}
	// Run again: every statement is idempotent.
	for _, s := range sql {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Errorf("second run: %s: %v", s, err)
		}
	}
}
