package whatif

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/fixtures/blog"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// TestEvaluateOrderAndGroup checks, on the blog fixture, two statements an
// expert serves with a plain btree where pgadvisor proposed none:
//
//   - the title search (ILIKE '%' || $1 || '%' ORDER BY published_at DESC
//     LIMIT 20; calls return their 20 rows) gets the index on the ORDER BY,
//     which the planner walks newest first until the 20th match, and not
//     the trigram index as well;
//   - the top commenters (count(DISTINCT post_id) … GROUP BY author_id over
//     the whole table) get (author_id, post_id): an index-only scan feeds
//     the aggregate in group order instead of a sort of the table.
//
// Each chosen index is built for real and the planner must use it.
func TestEvaluateOrderAndGroup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := blog.Load(ctx, conn); err != nil {
		t.Fatal(err)
	}
	// The fixture commits asynchronously; VACUUM marks a page all-visible
	// only once its rows' commit is flushed (what an index-only scan costs).
	for _, q := range []string{"SET synchronous_commit = on", "VACUUM blog.posts, blog.comments", "SET search_path = blog, public"} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := pgstat.Collect(ctx, conn, pgstat.CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ sql, want, scan string }{
		{blog.SQLTitleSearch,
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_published_at_idx ON blog.posts USING btree (published_at DESC)`, "Index Scan"},
		{blog.SQLTopCommenters,
			`CREATE INDEX CONCURRENTLY IF NOT EXISTS comments_author_id_post_id_idx ON blog.comments USING btree (author_id, post_id)`, "Index Only Scan"},
	} {
		in := inputFor(t, c.sql)
		in.Rows = 20 * in.Calls // each call returned its LIMIT's rows
		res, err := Evaluate(ctx, conn, snap, []Input{in}, Candidates(snap, []Input{in}, DefaultOptions()), DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if res.HypoPG == "" {
			pgtest.Unavailable(t, "hypopg not installed: %s", res.Unavailable)
		}
		recs := Select(snap, []Input{in}, res, DefaultOptions())
		var got []string
		for _, r := range recs {
			if !r.Verified {
				t.Errorf("%s: %s not verified", c.sql, r.ID())
			}
			got = append(got, r.CreateSQL())
		}
		if strings.Join(got, "; ") != c.want {
			t.Errorf("%s\n got: %s\nwant: %s", c.sql, strings.Join(got, "; "), c.want)
			continue
		}
		r := recs[0]
		t.Logf("%s: planner cost %.0f → %.0f", r.Name(), r.CostBefore, r.CostAfter)
		plan := buildAndUse(t, conn, r, c.sql, strings.Count(c.sql, "$"))
		if !strings.Contains(plan, c.scan+" using "+r.Name()) {
			t.Errorf("%s: want an %s using %s:\n%s", c.sql, c.scan, r.Name(), plan)
		}
	}
}

// TestOrderAndGroupCandidates checks, without a server, when the ORDER BY
// and GROUP BY candidates are made: the ORDER BY index next to a trigram one
// is an alternative (without the what-if only the trigram index is
// recommended) and is not made when calls return fewer rows than the LIMIT
// (some calls walk the whole index); a GROUP BY gets its index only when it
// reads the whole table, on plain columns of one table; an ORDER BY on an
// aggregate gets no index on the aggregate.
func TestOrderAndGroupCandidates(t *testing.T) {
	snap := testSnapshot()
	ids := func(in Input) []string {
		var out []string
		for _, c := range Candidates(snap, []Input{in}, DefaultOptions()) {
			id := c.ID()
			if c.Alternative {
				id += " (alternative)"
			}
			out = append(out, id)
		}
		return out
	}
	search := `SELECT id, name FROM products WHERE name ILIKE '%' || $1 || '%' ORDER BY id DESC LIMIT 20`
	for _, c := range []struct {
		name, sql   string
		rowsPerCall int64
		want        string
	}{
		{"search, calls return the LIMIT", search, 20,
			"public.products gin (name gin_trgm_ops), public.products btree (id DESC) (alternative)"},
		{"search, calls return fewer rows than the LIMIT", search, 7,
			"public.products gin (name gin_trgm_ops)"},
		{"GROUP BY with count(DISTINCT)", `SELECT customer_id, count(DISTINCT product_id) AS n FROM orders GROUP BY customer_id ORDER BY n DESC LIMIT 20`, 20,
			"public.orders btree (customer_id, product_id) (alternative)"},
		{"GROUP BY two keys", `SELECT status, product_id, count(*) FROM orders GROUP BY status, product_id`, 5,
			"public.orders btree (status, product_id) (alternative)"},
		{"GROUP BY over a join", `SELECT o.status, o.customer_id, count(DISTINCT c.country) FROM orders o JOIN customers c ON c.id = o.customer_id GROUP BY o.status, o.customer_id`, 5,
			"public.orders btree (customer_id)"},
		{"GROUP BY over a filter", `SELECT status, count(*) FROM orders WHERE customer_id = $1 GROUP BY status`, 5,
			"public.orders btree (customer_id)"},
		{"GROUP BY an expression", `SELECT date(created_at), count(*) FROM orders GROUP BY 1`, 5, ""},
		{"GROUP BY keys of two tables", `SELECT o.status, c.country, count(*) FROM orders o, customers c WHERE c.id = o.customer_id GROUP BY o.status, c.country`, 5,
			"public.orders btree (customer_id)"},
	} {
		in := inputFor(t, c.sql)
		in.Rows = c.rowsPerCall * in.Calls
		if got := strings.Join(ids(in), ", "); got != c.want {
			t.Errorf("%s: %s\n got: %s\nwant: %s", c.name, c.sql, got, c.want)
		}
	}
	// Without the what-if, the search gets the trigram index alone.
	in := inputFor(t, search)
	in.Rows = 20 * in.Calls
	var got []string
	for _, r := range Select(snap, []Input{in}, nil, DefaultOptions()) {
		got = append(got, r.ID())
	}
	if strings.Join(got, ", ") != "public.products gin (name gin_trgm_ops)" {
		t.Errorf("unverified: %v, want the trigram index alone", got)
	}
}
