package whatif

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// TestEvaluateSampledSkew: a product page asked for the popular products
// (2,000 reviews each) where the average product has 12. Costed with the
// generic plan, the covering variant of the existing reviews (product_id)
// index saves a few cost units a call and is not proposed; with the
// values pg_qualstats sampled, the statement is costed for a popular
// product and the covering index is proposed, replacing the existing one.
func TestEvaluateSampledSkew(t *testing.T) {
	conn := liveDB(t,
		`SET synchronous_commit = on`,
		`CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL)`,
		`INSERT INTO products SELECT g, 'p' || g FROM generate_series(1, 5000) g`,
		`CREATE TABLE reviews (id int PRIMARY KEY, product_id int NOT NULL, rating int NOT NULL, body text)`,
		`INSERT INTO reviews SELECT g, CASE WHEN g <= 40000 THEN 1 + g % 20 ELSE 21 + g % 4980 END, g % 5, repeat('r', 120) FROM generate_series(1, 60000) g`,
		`CREATE INDEX reviews_product_id_idx ON reviews (product_id)`,
		`VACUUM ANALYZE products`, `VACUUM ANALYZE reviews`,
		`SELECT pg_stat_force_next_flush()`, `SELECT 1`, `SELECT pg_stat_reset()`,
		`SELECT pg_stat_statements_reset()`,
	)
	ctx := context.Background()
	pgtest.RequireQualstats(t, conn)
	const sql = `SELECT p.id, p.name, count(r.id), avg(r.rating) FROM products p LEFT JOIN reviews r ON r.product_id = p.id WHERE p.id = $1 GROUP BY p.id`
	run := func(ids ...int) {
		for _, q := range []string{`SELECT pg_qualstats_reset()`, `SET pg_qualstats.enabled = on`, `SET pg_qualstats.sample_rate = 1`} {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		for _, id := range ids {
			rows, err := conn.Query(ctx, sql, id)
			if err != nil {
				t.Fatal(err)
			}
			rows.Close()
		}
		if _, err := conn.Exec(ctx, `SET pg_qualstats.enabled = off`); err != nil {
			t.Fatal(err)
		}
	}
	choose := func() (string, *StatementCost) {
		snap, err := pgstat.Collect(ctx, conn, pgstat.CollectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		in := inputFor(t, sql)
		for _, st := range snap.Statements {
			if st.Query == sql {
				in.QueryID = strconv.FormatInt(st.QueryID, 10)
			}
		}
		if in.QueryID == "1" {
			t.Fatal("statement not in pg_stat_statements")
		}
		got, _, res := chosenFor(t, conn, snap, in)
		return got, &res.Statements[0]
	}
	// Popular products (ids 1 to 20), five calls: custom plans, sampled.
	run(1, 2, 3, 1, 4)
	got, sc := choose()
	want := `CREATE INDEX CONCURRENTLY IF NOT EXISTS reviews_product_id_incl_id_rating_idx ON public.reviews USING btree (product_id) INCLUDE (id, rating)`
	if got != want || sc.Mode != "custom" || sc.Representative == nil || !strings.Contains(sc.Representative.Summary, "pg_qualstats") {
		t.Errorf("popular products sampled: got %q, statement %+v %+v; want %s costed with a sampled value", got, sc, sc.Representative, want)
	} else {
		t.Logf("%s", sc.Representative.Summary)
	}
	// Average products sampled: the generic plan is representative.
	run(100, 200, 300, 400, 500)
	got, sc = choose()
	if got != "" || sc.Mode == "custom" {
		t.Errorf("average products sampled: got %q, mode %s (%+v); want no index, the generic plan", got, sc.Mode, sc.Representative)
	}
}
