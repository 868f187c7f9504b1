package whatif

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// TestEvaluateShapes checks, on a live server, that HypoPG verifies the
// shapes that need care: quoted mixed-case identifiers, a partitioned
// parent, a view, and that a tiny table gets nothing.
func TestEvaluateShapes(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`CREATE SCHEMA "Bar"`,
		`CREATE TABLE "Bar"."Foo" ("Id" int, "Label" text)`,
		`INSERT INTO "Bar"."Foo" SELECT i, 'l' || (i % 5000) FROM generate_series(1, 100000) i`,
		`CREATE TABLE ev (id int, kind int, at timestamptz) PARTITION BY RANGE (id)`,
		`CREATE TABLE ev1 PARTITION OF ev FOR VALUES FROM (0) TO (50000)`,
		`CREATE TABLE ev2 PARTITION OF ev FOR VALUES FROM (50000) TO (100001)`,
		`INSERT INTO ev SELECT i, i % 3000, now() FROM generate_series(1, 100000) i`,
		`CREATE VIEW v_foo AS SELECT "Id", "Label" FROM "Bar"."Foo"`,
		`CREATE TABLE tiny (id int, code text)`,
		`INSERT INTO tiny SELECT i, 'c' || i FROM generate_series(1, 50) i`,
		`ANALYZE`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	snap := pgstat.New()
	snap.Tables = []pgstat.Table{
		{Schema: "Bar", Name: "Foo", Kind: "r", Rows: 100000, Columns: []pgstat.Column{col("Id", -1), col("Label", 5000)}},
		{Schema: "public", Name: "ev", Kind: "p", Rows: 100000, Columns: []pgstat.Column{col("id", -1), col("kind", 3000), col("at", 1)}},
		{Schema: "public", Name: "ev1", Kind: "r", Parent: "public.ev", Rows: 50000, Columns: []pgstat.Column{col("id", -1), col("kind", 3000), col("at", 1)}},
		{Schema: "public", Name: "ev2", Kind: "r", Parent: "public.ev", Rows: 50000, Columns: []pgstat.Column{col("id", -1), col("kind", 3000), col("at", 1)}},
		{Schema: "public", Name: "tiny", Kind: "r", Rows: 50, Columns: []pgstat.Column{col("id", -1), col("code", -1)}},
	}
	snap.Views = []pgstat.View{{Schema: "public", Name: "v_foo", Definition: `SELECT "Id", "Label" FROM "Bar"."Foo"`}}
	for _, c := range []struct{ sql, want string }{
		{`SELECT * FROM "Bar"."Foo" WHERE "Label" = $1`, `CREATE INDEX CONCURRENTLY IF NOT EXISTS foo_label_idx ON "Bar"."Foo" USING btree ("Label")`},
		{`SELECT * FROM ev WHERE kind = $1`, `CREATE INDEX IF NOT EXISTS ev_kind_idx ON public.ev USING btree (kind)`},
		{`SELECT * FROM v_foo WHERE "Id" = 42`, `CREATE INDEX CONCURRENTLY IF NOT EXISTS foo_id_idx ON "Bar"."Foo" USING btree ("Id")`},
		{`SELECT * FROM tiny WHERE code = $1`, ``},
	} {
		in := inputFor(t, c.sql)
		res, err := Evaluate(ctx, conn, snap, []Input{in}, Candidates(snap, []Input{in}, DefaultOptions()), DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if res.HypoPG == "" {
			pgtest.Unavailable(t, "hypopg not installed")
		}
		got := ""
		for _, r := range Select(snap, []Input{in}, res, DefaultOptions()) {
			if !r.Verified {
				t.Errorf("%s: %s not verified", c.sql, r.ID())
			}
			got += r.CreateSQL()
		}
		if got != c.want {
			t.Errorf("%s\n got: %s\nwant: %s", c.sql, got, c.want)
		}
	}
}
