package advisor

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/whatif"
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

// TestIncompletePartitionedIndex leaves an index ON ONLY a partitioned table
// attached in one partition of three (another has an identical index of its
// own, the third none): invalid-index names the two and its fix, run on the
// server, attaches the one, builds the other concurrently and leaves the
// parent's index valid.
func TestIncompletePartitionedIndex(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, q := range []string{
		`CREATE TABLE reading (station int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at)`,
		`CREATE TABLE reading_2026_01 PARTITION OF reading FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')`,
		`CREATE TABLE reading_2026_02 PARTITION OF reading FOR VALUES FROM ('2026-02-01') TO ('2026-03-01')`,
		`CREATE TABLE reading_2026_03 PARTITION OF reading FOR VALUES FROM ('2026-03-01') TO ('2026-04-01')`,
		`INSERT INTO reading SELECT g % 50, date '2026-01-01' + g % 90 FROM generate_series(1, 9000) g`,
		`CREATE INDEX reading_station ON ONLY reading (station)`,
		`CREATE INDEX reading_2026_01_station ON reading_2026_01 (station)`,
		`ALTER INDEX reading_station ATTACH PARTITION reading_2026_01_station`,
		`CREATE INDEX reading_2026_02_station ON reading_2026_02 (station)`,
		`ANALYZE reading`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	snap, err := pgstat.Collect(ctx, conn, pgstat.CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res := Run(snap, []*Rule{InvalidIndex}, DefaultOptions())
	if len(res.Findings) != 1 {
		t.Fatalf("findings %+v, want one", res.Findings)
	}
	f := res.Findings[0]
	if missing, _ := f.Evidence["partitions_missing"].([]string); strings.Join(missing, ",") != "public.reading_2026_02,public.reading_2026_03" {
		t.Errorf("partitions missing %v", f.Evidence["partitions_missing"])
	}
	sql := strings.Join(f.Fix.SQL, ";\n")
	t.Logf("fix:\n%s", sql)
	// The index advisor's candidate with the same keys completes it too.
	c := whatif.WithPartitions(snap, whatif.Candidate{Schema: "public", Table: "reading", Method: "btree", Partitioned: true, Keys: []whatif.Key{{Column: "station"}}})
	if got := strings.Join(c.FixSQL(), ";\n"); got != sql {
		t.Errorf("the candidate on (station) does not complete reading_station:\n%s", got)
	}
	for _, want := range []string{
		"ALTER INDEX public.reading_station ATTACH PARTITION public.reading_2026_02_station",
		"CREATE INDEX CONCURRENTLY IF NOT EXISTS reading_2026_03_station_idx ON public.reading_2026_03 USING btree (station)",
		"ALTER INDEX public.reading_station ATTACH PARTITION public.reading_2026_03_station_idx",
	} {
		if !strings.Contains(sql, want) {
			t.Errorf("fix lacks %q", want)
		}
	}
	if strings.Contains(sql, "reading_2026_01") || strings.Contains(sql, "DROP") {
		t.Error("the fix touches the partition already attached, or drops the index")
	}
	for _, s := range f.Fix.SQL {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	var valid bool
	if err := conn.QueryRow(ctx, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'reading_station'::regclass").Scan(&valid); err != nil || !valid {
		t.Errorf("reading_station after the fix: valid %v (%v)", valid, err)
	}
}

// TestForeignKeyOnSomePartitions declares a foreign key on one partition of
// two, without an index: fk-missing-index reports it once for the
// partitioned table, and as not every partition has the key, the fix indexes
// that partition concurrently. The fix runs for real, the ALTER TABLE of the
// evidence in a rolled-back transaction.
func TestForeignKeyOnSomePartitions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, q := range []string{
		`CREATE TABLE station (id int PRIMARY KEY)`,
		`INSERT INTO station SELECT generate_series(0, 49)`,
		`CREATE TABLE reading (station int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at)`,
		`CREATE TABLE reading_2026_01 PARTITION OF reading FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')`,
		`CREATE TABLE reading_2026_02 PARTITION OF reading FOR VALUES FROM ('2026-02-01') TO ('2026-03-01')`,
		`INSERT INTO reading SELECT g % 50, date '2026-01-01' + g % 31 FROM generate_series(1, 12000) g`,
		`ALTER TABLE reading_2026_01 ADD FOREIGN KEY (station) REFERENCES station (id)`,
		`ANALYZE reading`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	snap, err := pgstat.Collect(ctx, conn, pgstat.CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res := Run(snap, []*Rule{FKMissingIndex}, DefaultOptions())
	if len(res.Findings) != 1 {
		t.Fatalf("findings %+v, want one", res.Findings)
	}
	f := res.Findings[0]
	want := "CREATE INDEX CONCURRENTLY IF NOT EXISTS reading_2026_01_station_idx ON public.reading_2026_01 USING btree (station)"
	if len(f.Fix.SQL) != 1 || f.Fix.SQL[0] != want || !slices.Contains(f.Objects, "public.reading") {
		t.Errorf("finding %v fix %q, want %q", f.Objects, f.Fix.SQL, want)
	}
	if _, err := conn.Exec(ctx, f.Fix.SQL[0]); err != nil {
		t.Errorf("%s: %v", f.Fix.SQL[0], err)
	}
	declare, _ := f.Evidence["declare_on_parent_sql"].(string)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, declare); err != nil {
		t.Errorf("%q: %v", declare, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	// With the key on both partitions, February (unindexed) gets the
	// parent's index through the online recipe, January's index attached.
	if _, err := conn.Exec(ctx, `ALTER TABLE reading_2026_02 ADD FOREIGN KEY (station) REFERENCES station (id)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO reading SELECT g % 50, date '2026-02-01' + g % 28 FROM generate_series(1, 12000) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE reading`); err != nil {
		t.Fatal(err)
	}
	if snap, err = pgstat.Collect(ctx, conn, pgstat.CollectOptions{}); err != nil {
		t.Fatal(err)
	}
	res = Run(snap, []*Rule{FKMissingIndex}, DefaultOptions())
	if len(res.Findings) != 1 {
		t.Fatalf("findings %+v, want one", res.Findings)
	}
	recipe := strings.Join(res.Findings[0].Fix.SQL, ";\n")
	for _, want := range []string{
		"CREATE INDEX IF NOT EXISTS reading_station_idx ON ONLY public.reading USING btree (station)",
		"ALTER INDEX public.reading_station_idx ATTACH PARTITION public.reading_2026_01_station_idx",
		"CREATE INDEX CONCURRENTLY IF NOT EXISTS reading_2026_02_station_idx ON public.reading_2026_02 USING btree (station)",
	} {
		if !strings.Contains(recipe, want) {
			t.Errorf("recipe lacks %q:\n%s", want, recipe)
		}
	}
	for _, s := range res.Findings[0].Fix.SQL {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	var valid bool
	if err := conn.QueryRow(ctx, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'reading_station_idx'::regclass").Scan(&valid); err != nil || !valid {
		t.Errorf("reading_station_idx after the recipe: valid %v (%v)", valid, err)
	}
}

// TestOldSnapshotDropsNoPartitionIndex reads the rental snapshot as a
// snapshot saved before index attachments were recorded (no parent on any
// index): no index of a partition is proposed for a drop, since it may be
// attached to its table's index, while with attachments the duplicate is.
func TestOldSnapshotDropsNoPartitionIndex(t *testing.T) {
	data, err := os.ReadFile("testdata/partitions-rental/snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	drops := func(snap *pgstat.Snapshot) []string {
		var out []string
		for _, f := range Run(snap, []*Rule{RedundantIndex, UnusedIndex}, DefaultOptions()).Findings {
			out = append(out, f.Fix.SQL...)
		}
		return out
	}
	snap, err := pgstat.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := drops(snap); len(got) != 1 || !strings.Contains(got[0], "payment_p2026_02_customer_id_dup") {
		t.Errorf("with attachments: drops %q, want the duplicate's", got)
	}
	for i := range snap.Indexes {
		snap.Indexes[i].Parent = ""
	}
	if got := drops(snap); len(got) != 0 {
		t.Errorf("without attachments: drops %q, want none", got)
	}
}
