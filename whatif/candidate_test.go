package whatif

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

func f64(v float64) *float64 { return &v }

func col(name string, nd float64) pgstat.Column {
	return pgstat.Column{Name: name, Type: "integer", NDistinct: f64(nd), AvgWidth: 4}
}

// testSnapshot is a small catalog: orders (100k rows), customers (50k),
// products (20k, sku indexed), "Bar"."Foo", a tiny table, a partitioned
// table with two partitions, a foreign table and a view.
func testSnapshot() *pgstat.Snapshot {
	s := pgstat.New()
	s.Tables = []pgstat.Table{
		{Schema: "public", Name: "orders", Kind: "r", Rows: 100000, Columns: []pgstat.Column{
			col("id", -1), col("customer_id", -0.01), col("status", 5), col("created_at", -0.9), col("total", -0.5), col("product_id", 2000)}},
		{Schema: "public", Name: "customers", Kind: "r", Rows: 50000, Columns: []pgstat.Column{
			col("id", -1), col("email", -1), col("country", 40), col("name", -0.8)}},
		{Schema: "public", Name: "products", Kind: "r", Rows: 20000, Columns: []pgstat.Column{
			col("id", -1), col("sku", -1), col("name", -0.9), col("category", 30)}},
		{Schema: "Bar", Name: "Foo", Kind: "r", Rows: 30000, Columns: []pgstat.Column{col("Id", -1), col("Label", 100)}},
		{Schema: "public", Name: "tiny", Kind: "r", Rows: 40, Columns: []pgstat.Column{col("id", -1), col("code", -1)}},
		{Schema: "public", Name: "events", Kind: "p", Rows: -1, Partitions: 2, Columns: []pgstat.Column{col("id", -1), col("kind", 10), col("at", -1)}},
		{Schema: "public", Name: "events_2024", Kind: "r", Parent: "public.events", Rows: 60000, Columns: []pgstat.Column{col("id", -1), col("kind", 10), col("at", -1)}},
		{Schema: "public", Name: "events_2025", Kind: "r", Parent: "public.events", Rows: 50000, Columns: []pgstat.Column{col("id", -1), col("kind", 10), col("at", -1)}},
		{Schema: "public", Name: "remote", Kind: "f", Rows: 100000, Columns: []pgstat.Column{col("id", -1), col("x", 10)}},
		{Schema: "public", Name: "fresh", Kind: "r", Rows: -1, SizeBytes: 8 << 20, Columns: []pgstat.Column{{Name: "k", Type: "integer"}}},
	}
	s.Indexes = []pgstat.Index{
		{Schema: "public", Table: "orders", Name: "orders_pkey", Method: "btree", Columns: []string{"id"}, Unique: true, Primary: true, Valid: true},
		{Schema: "public", Table: "customers", Name: "customers_pkey", Method: "btree", Columns: []string{"id"}, Unique: true, Primary: true, Valid: true},
		{Schema: "public", Table: "products", Name: "products_sku_idx", Method: "btree", Columns: []string{"sku"}, Valid: true},
		{Schema: "public", Table: "orders", Name: "orders_product_id_idx", Method: "btree", Columns: []string{"product_id"}, Valid: true},
		{Schema: "public", Table: "products", Name: "products_cat_partial", Method: "btree", Columns: []string{"category"}, Predicate: "(id > 0)", Valid: true},
	}
	s.Views = []pgstat.View{{Schema: "public", Name: "v_orders", Definition: "SELECT o.id, o.customer_id, o.status FROM orders o WHERE o.status <> 'deleted'"}}
	return s
}

func inputFor(t *testing.T, sql string) Input {
	t.Helper()
	f, err := sqlfacts.Analyze(sql)
	if err != nil {
		t.Fatalf("analyze %q: %v", sql, err)
	}
	return Input{QueryID: "1", Query: sql, Calls: 100, TotalMS: 1000, MeanMS: 10, Facts: f}
}

func TestCandidates(t *testing.T) {
	snap := testSnapshot()
	for _, c := range []struct {
		name, sql string
		want      []string // the primary candidates' CreateSQL, in order
	}{
		{"equality", `SELECT * FROM orders WHERE customer_id = $1`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON public.orders USING btree (customer_id)"}},
		{"equality most selective first", `SELECT * FROM orders WHERE status = $1 AND customer_id = $2`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_status_idx ON public.orders USING btree (customer_id, status)"}},
		{"equality then range", `SELECT * FROM orders WHERE customer_id = $1 AND created_at >= $2`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_created_at_idx ON public.orders USING btree (customer_id, created_at)"}},
		{"one range only", `SELECT * FROM orders WHERE total > $1 AND created_at >= $2 AND status = 'paid'`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_status_total_idx ON public.orders USING btree (status, total)"}},
		{"equality order by desc limit", `SELECT * FROM orders WHERE customer_id = $1 AND status = $2 ORDER BY created_at DESC LIMIT 20`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_status_created_at_idx ON public.orders USING btree (customer_id, status, created_at DESC)"}},
		{"mixed directions", `SELECT * FROM orders WHERE customer_id = $1 ORDER BY created_at DESC, id ASC LIMIT 10`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_created_at_id_idx ON public.orders USING btree (customer_id, created_at DESC, id)"}},
		{"range is the order key", `SELECT * FROM orders WHERE customer_id = $1 AND created_at > $2 ORDER BY created_at LIMIT 5`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_created_at_idx ON public.orders USING btree (customer_id, created_at)"}},
		{"order by alone with limit", `SELECT * FROM orders ORDER BY created_at DESC LIMIT 20`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_created_at_idx ON public.orders USING btree (created_at DESC)"}},
		{"order by alone without limit", `SELECT * FROM orders ORDER BY created_at DESC`, nil},
		{"join inner side", `SELECT o.id FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.country = $1`,
			[]string{
				"CREATE INDEX CONCURRENTLY IF NOT EXISTS customers_country_idx ON public.customers USING btree (country)",
				"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON public.orders USING btree (customer_id)",
			}},
		{"update", `UPDATE orders SET status = 'x' WHERE customer_id = $1`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON public.orders USING btree (customer_id)"}},
		{"delete", `DELETE FROM orders WHERE created_at < $1`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_created_at_idx ON public.orders USING btree (created_at)"}},
		{"view", `SELECT * FROM v_orders WHERE customer_id = $1`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON public.orders USING btree (customer_id)"}},
		{"plain cte", `WITH x AS (SELECT * FROM orders) SELECT * FROM x WHERE customer_id = 3`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON public.orders USING btree (customer_id)"}},
		{"not materialized cte", `WITH x AS NOT MATERIALIZED (SELECT * FROM orders) SELECT * FROM x WHERE customer_id = 3`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON public.orders USING btree (customer_id)"}},
		{"materialized cte fences", `WITH x AS MATERIALIZED (SELECT * FROM orders) SELECT * FROM x WHERE customer_id = 3`, nil},
		{"materialized cte inner predicate", `WITH x AS MATERIALIZED (SELECT * FROM orders WHERE customer_id = $1) SELECT * FROM x WHERE status = 'new'`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON public.orders USING btree (customer_id)"}},
		{"small sort after an index", `SELECT * FROM orders WHERE product_id = $1 ORDER BY created_at LIMIT 10`, nil},
		{"equality without index then order", `SELECT * FROM orders WHERE status = $1 ORDER BY created_at LIMIT 10`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_status_created_at_idx ON public.orders USING btree (status, created_at)"}},
		{"partitioned parent", `SELECT * FROM events WHERE kind = $1`,
			[]string{"CREATE INDEX IF NOT EXISTS events_kind_idx ON public.events USING btree (kind)"}},
		{"partition resolves to parent", `SELECT * FROM events_2024 WHERE kind = $1`,
			[]string{"CREATE INDEX IF NOT EXISTS events_kind_idx ON public.events USING btree (kind)"}},
		{"quoted mixed case", `SELECT * FROM "Bar"."Foo" WHERE "Label" = $1`,
			[]string{`CREATE INDEX CONCURRENTLY IF NOT EXISTS foo_label_idx ON "Bar"."Foo" USING btree ("Label")`}},
		{"catalog", `SELECT * FROM pg_class WHERE relname = $1`, nil},
		{"information_schema", `SELECT * FROM information_schema.tables WHERE table_name = $1`, nil},
		{"primary key covers", `SELECT * FROM orders WHERE id = $1`, nil},
		{"unique key covers wider equality", `SELECT * FROM orders WHERE id = $1 AND status = $2`, nil},
		{"indexed column", `SELECT * FROM products WHERE sku = $1`, nil},
		{"partial index does not cover", `SELECT * FROM products WHERE category = $1`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS products_category_idx ON public.products USING btree (category)"}},
		{"tiny table", `SELECT * FROM tiny WHERE code = $1`, nil},
		{"never analysed but large", `SELECT * FROM fresh WHERE k = $1`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS fresh_k_idx ON public.fresh USING btree (k)"}},
		{"foreign table", `SELECT * FROM remote WHERE x = $1`, nil},
		{"leading wildcard", `SELECT * FROM products WHERE name ILIKE '%phone%'`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS products_name_trgm_idx ON public.products USING gin (name gin_trgm_ops)"}},
		{"prefix like", `SELECT * FROM products WHERE name LIKE 'pho%'`, nil},
		{"lower expression", `SELECT * FROM customers WHERE lower(email) = $1`,
			[]string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS customers_lower_email_idx ON public.customers USING btree ((lower(email)))"}},
		{"or is not indexable alone", `SELECT * FROM orders WHERE customer_id = $1 OR status = $2`, nil},
		{"insert values", `INSERT INTO orders (customer_id) VALUES ($1)`, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := []string{}
			for _, cand := range Candidates(snap, []Input{inputFor(t, c.sql)}, DefaultOptions()) {
				if !cand.Alternative {
					got = append(got, cand.CreateSQL())
				}
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("%s\n got: %q\nwant: %q", c.sql, got, c.want)
			}
		})
	}
}

func TestCandidatesTrigramNeedsExtension(t *testing.T) {
	cs := Candidates(testSnapshot(), []Input{inputFor(t, `SELECT * FROM products WHERE name LIKE '%x%'`)}, DefaultOptions())
	if len(cs) != 1 {
		t.Fatalf("got %d candidates, want 1", len(cs))
	}
	fix := cs[0].FixSQL()
	if len(fix) != 2 || fix[0] != "CREATE EXTENSION IF NOT EXISTS pg_trgm" {
		t.Errorf("fix SQL = %q, want CREATE EXTENSION IF NOT EXISTS pg_trgm first", fix)
	}
}

func TestCandidatesMergeSharedPrefix(t *testing.T) {
	snap := testSnapshot()
	a := inputFor(t, `SELECT * FROM orders WHERE customer_id = $1`)
	b := inputFor(t, `SELECT * FROM orders WHERE customer_id = $1 AND status = $2 ORDER BY created_at DESC LIMIT 20`)
	b.QueryID = "2"
	var prim []Candidate
	for _, c := range Candidates(snap, []Input{a, b}, DefaultOptions()) {
		if !c.Alternative {
			prim = append(prim, c)
		}
	}
	if len(prim) != 1 {
		t.Fatalf("got %d primary candidates, want one composite: %+v", len(prim), prim)
	}
	if got := prim[0].KeyList(); got != "customer_id, status, created_at DESC" {
		t.Errorf("keys = %s", got)
	}
	if strings.Join(prim[0].QueryIDs, ",") != "2,1" && strings.Join(prim[0].QueryIDs, ",") != "1,2" {
		t.Errorf("queryids = %v, want both statements", prim[0].QueryIDs)
	}
}

func TestCandidatesReorderForSmallerEquality(t *testing.T) {
	// status alone and (customer_id, status): one index (status, customer_id) serves both.
	a := inputFor(t, `SELECT * FROM orders WHERE status = $1 AND customer_id = $2`)
	b := inputFor(t, `SELECT * FROM orders WHERE status = $1`)
	b.QueryID = "2"
	cs := Candidates(testSnapshot(), []Input{a, b}, DefaultOptions())
	if len(cs) != 1 || cs[0].KeyList() != "status, customer_id" {
		var got []string
		for _, c := range cs {
			got = append(got, c.ID())
		}
		t.Errorf("got %q, want one candidate (status, customer_id)", got)
	}
}

func TestCreateSQLQuoting(t *testing.T) {
	nf := true
	for _, c := range []struct {
		cand Candidate
		want string
	}{
		{Candidate{Schema: "Bar", Table: "Foo", Method: "btree", Keys: []Key{{Column: "Id"}}},
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS foo_id_idx ON "Bar"."Foo" USING btree ("Id")`},
		{Candidate{Schema: "public", Table: "user", Method: "btree", Keys: []Key{{Column: "order"}, {Column: "select", Desc: true}}},
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS user_order_select_idx ON public."user" USING btree ("order", "select" DESC)`},
		{Candidate{Schema: "s", Table: "t", Method: "btree", Keys: []Key{{Column: "a", NullsFirst: &nf}}},
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON s.t USING btree (a NULLS FIRST)`},
		{Candidate{Schema: "s", Table: "t", Method: "btree", Keys: []Key{{Column: "a", Desc: true, NullsFirst: &nf}}},
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON s.t USING btree (a DESC)`},
		{Candidate{Schema: "s", Table: "t", Method: "gin", Keys: []Key{{Expression: "lower(name)", Opclass: "gin_trgm_ops"}}},
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS t_lower_name_trgm_idx ON s.t USING gin ((lower(name)) gin_trgm_ops)`},
	} {
		if got := c.cand.CreateSQL(); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}

func TestNameLength(t *testing.T) {
	c := Candidate{Schema: "s", Table: strings.Repeat("very_long_table_name_", 3), Method: "btree",
		Keys: []Key{{Column: strings.Repeat("column_one_", 3)}, {Column: strings.Repeat("column_two_", 3)}}}
	n := c.Name()
	if len(n) > 63 {
		t.Errorf("name %q is %d bytes, want <= 63", n, len(n))
	}
	c2 := c
	c2.Keys = []Key{c.Keys[1], c.Keys[0]}
	if c2.Name() == n {
		t.Errorf("different keys got the same truncated name %q", n)
	}
	if c.Name() != n {
		t.Error("name is not deterministic")
	}
}

func TestCoveredByBackwardScanAndEqualityOrder(t *testing.T) {
	ix := &pgstat.Index{Method: "btree", Valid: true, Columns: []string{"b", "a", "c"}, Descending: []bool{false, false, false}}
	cand := Candidate{Method: "btree", EqualityKeys: 2, Keys: []Key{{Column: "a"}, {Column: "b"}, {Column: "c", Desc: true}}}
	if !coveredBy(cand, ix) {
		t.Error("(b, a, c) should cover equality {a, b} then c DESC (backward scan)")
	}
	cand.Keys = []Key{{Column: "a"}, {Column: "b"}, {Column: "d"}}
	if coveredBy(cand, ix) {
		t.Error("(b, a, c) must not cover (a, b, d)")
	}
	mixed := Candidate{Method: "btree", Keys: []Key{{Column: "c", Desc: true}, {Column: "a"}}}
	ix2 := &pgstat.Index{Method: "btree", Valid: true, Columns: []string{"c", "a"}, Descending: []bool{false, false}}
	if coveredBy(mixed, ix2) {
		t.Error("(c, a) must not cover the mixed order (c DESC, a)")
	}
	expr := Candidate{Method: "btree", EqualityKeys: 1, Keys: []Key{{Expression: "lower(email)"}}}
	ix3 := &pgstat.Index{Method: "btree", Valid: true, Columns: []string{"lower((email)::text)"}, Expressions: []bool{true}}
	if !coveredBy(expr, ix3) {
		t.Error("an index on lower((email)::text) should cover lower(email)")
	}
}

func TestNameNonASCII(t *testing.T) {
	a := Candidate{Schema: "public", Table: "заказы", Method: "btree", Keys: []Key{{Column: "клиент"}}}
	b := Candidate{Schema: "public", Table: "заказы", Method: "btree", Keys: []Key{{Column: "статус"}}}
	if a.Name() == b.Name() {
		t.Errorf("two indexes on different columns share the name %q", a.Name())
	}
	long := Candidate{Schema: "public", Table: strings.Repeat("таблица", 10), Method: "btree", Keys: []Key{{Column: "колонка"}}}
	if n := long.Name(); len(n) > 63 || !utf8.ValidString(n) {
		t.Errorf("long name %q: %d bytes, valid UTF-8 %v", n, len(n), utf8.ValidString(n))
	}
	if sql := a.CreateSQL(); !strings.Contains(sql, `"заказы_клиент_idx"`) {
		t.Errorf("non-ASCII name not quoted: %s", sql)
	}
}
