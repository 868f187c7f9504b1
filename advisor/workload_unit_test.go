package advisor

import (
	"reflect"
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

func TestEqualityToAny(t *testing.T) {
	for _, c := range []struct{ sql, col, want string }{
		{"SELECT * FROM t WHERE order_id = $1", "order_id", "SELECT * FROM t WHERE order_id = ANY($1)"},
		{"SELECT * FROM t x WHERE x.order_id=$2 AND a = $1", "order_id", "SELECT * FROM t x WHERE x.order_id=ANY($2) AND a = $1"},
		{`SELECT * FROM t WHERE "order_id" = 42`, "order_id", `SELECT * FROM t WHERE "order_id" = ANY($1)`},
		{"SELECT * FROM t WHERE other_order_id = $1", "order_id", "SELECT * FROM t WHERE other_order_id = $1"},
	} {
		if got := wlEqualityToAny(c.sql, c.col, 1); got != c.want {
			t.Errorf("wlEqualityToAny(%q) = %q, want %q", c.sql, got, c.want)
		}
	}
}

func TestTopLevelScanning(t *testing.T) {
	q := `SELECT a, f(b, c), 'x, where' AS "w,x" FROM t WHERE (a = 1 OR b IN (SELECT 1 FROM u WHERE z)) AND c = $1 ORDER BY a`
	if got := wlSplitTop(q[len("SELECT"):wlFindTop(q, 0, "from")]); len(got) != 3 {
		t.Errorf("split select list: %q", got)
	}
	if w := wlFindTop(q, 0, "where"); w < 0 || !strings.HasPrefix(q[w:], "WHERE (a = 1") {
		t.Errorf("top-level WHERE at %d", w)
	}
	if o := wlFindTop(q, 0, "order by"); o < 0 || !strings.HasPrefix(q[o:], "ORDER BY a") {
		t.Errorf("ORDER BY at %d", o)
	}
	if got := splitAnd("a BETWEEN $1 AND $2 AND b = $3 AND (c = 1 AND d = 2)"); !reflect.DeepEqual(trimAll(got), []string{"a BETWEEN $1 AND $2", "b = $3", "(c = 1 AND d = 2)"}) {
		t.Errorf("splitAnd: %q", got)
	}
	if wlFindTop("SELECT $tag$ from $tag$, 1", 0, "from") != -1 {
		t.Error("found FROM inside a dollar-quoted string")
	}
	// A nested comment ends at its own */, an E'' string is not closed by \'.
	for _, q := range []string{"SELECT /* a /* b */ from */ 1 FROM t", "SELECT E'\\' from ', 1 FROM t"} {
		if f := wlFindTop(q, 0, "from"); f < 0 || q[f:] != "FROM t" {
			t.Errorf("FROM of %q at %d", q, f)
		}
	}
}

func trimAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.TrimSpace(s)
	}
	return out
}

func TestSelectsColumn(t *testing.T) {
	for _, c := range []struct {
		sql, col string
		want     bool
	}{
		{"SELECT id, status FROM orders WHERE customer_id = $1", "id", true},
		{"SELECT id FROM orders WHERE customer_id = $1", "customer_id", false},
		{"SELECT o.* FROM orders o", "customer_id", true},
		{`SELECT "customer_id" FROM orders`, "customer_id", true},
	} {
		if got := wlSelects(c.sql, c.col); got != c.want {
			t.Errorf("wlSelects(%q, %q) = %v", c.sql, c.col, got)
		}
	}
}

// TestUnbatchedInsertRewrite checks the unnest form for an INSERT with an
// expression among its values and a RETURNING clause.
func TestUnbatchedInsertRewrite(t *testing.T) {
	snap := pgstat.New()
	snap.Tables = []pgstat.Table{{Schema: "app", Name: "events", Columns: []pgstat.Column{
		{Name: "id", Type: "bigint"}, {Name: "order_id", Type: "bigint"}, {Name: "kind", Type: "text"}, {Name: "at", Type: "timestamp with time zone"},
	}}}
	q := "INSERT INTO app.events (order_id, kind, at) VALUES ($1, lower($2), now()) RETURNING id"
	s := &model.Statement{Statement: pgstat.Statement{Query: q, Calls: 5000, Rows: 5000}, Facts: &sqlfacts.Facts{Kind: sqlfacts.KindInsert, InsertRows: 1, Target: &sqlfacts.Relation{Schema: "app", Name: "events"}}}
	p := &Pass{Snapshot: snap}
	got := strings.Join(insertBatches(p, s, p.Table("app", "events"), q), "\n")
	for _, want := range []string{"SELECT u.p1, lower(u.p2), now()", "unnest($1::bigint[], $2::text[]) AS u(p1, p2)", "RETURNING id", "COPY app.events (order_id, kind, at) FROM STDIN"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

// TestDenormalizationWriteHeavy: the same hot join is a materialised-view
// finding over read-mostly tables; with one table written (the fact table)
// and the read a large share of time, a finding that copies the read-mostly
// dimensions' columns into the fact table (issue 9 §5); with two written,
// or one written and a small share, none.
func TestDenormalizationWriteHeavy(t *testing.T) {
	q := "SELECT a.x, b.y, c.z FROM a JOIN b ON b.a_id = a.id JOIN c ON c.b_id = b.id WHERE a.id = $1"
	facts, err := sqlfacts.Analyze(q)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		writes  map[string]int64
		share   float64
		want    int
		factFix bool
	}{
		{"read-mostly", nil, 0.9, 1, false},
		{"fact table written, hot", map[string]int64{"c": 50000}, 0.9, 1, true},
		{"fact table written, 10% of the time", map[string]int64{"c": 50000}, 0.1, 0, false},
		{"two tables written", map[string]int64{"b": 50000, "c": 50000}, 0.9, 0, false},
	} {
		snap := pgstat.New()
		for _, n := range []string{"a", "b", "c"} {
			tb := pgstat.Table{Schema: "public", Name: n, SeqTupRead: 1000000, Columns: []pgstat.Column{{Name: "id", Type: "bigint"}}}
			tb.NTupUpd = c.writes[n]
			snap.Tables = append(snap.Tables, tb)
			snap.Indexes = append(snap.Indexes, pgstat.Index{Schema: "public", Table: n, Name: n + "_pkey", Columns: []string{"id"}, Primary: true, Unique: true})
		}
		var found []Finding
		p := &Pass{Snapshot: snap, Options: DefaultOptions(), report: func(f Finding) { found = append(found, f) },
			Statements: []*model.Statement{{Statement: pgstat.Statement{Query: q, Calls: 500, TotalExecTime: 900}, Facts: facts, Share: c.share}}}
		if err := runDenormalization(p); err != nil {
			t.Fatal(err)
		}
		if len(found) != c.want {
			t.Errorf("%s: %d findings, want %d", c.name, len(found), c.want)
			continue
		}
		if c.want == 0 {
			continue
		}
		f := found[0]
		sql := strings.Join(f.Fix.SQL, "\n")
		switch {
		case c.factFix:
			if !f.Fix.Advisory || len(f.Fix.SQL) != 0 || f.Evidence["fact_table"] != "public.c" || !strings.Contains(f.Fix.Summary, "into public.c") {
				t.Errorf("%s: fix %+v, evidence %v", c.name, f.Fix, f.Evidence)
			}
		case !f.Fix.Advisory || !strings.Contains(sql, "CREATE MATERIALIZED VIEW public.mv_a_b_c_") || !strings.Contains(sql, "REFRESH MATERIALIZED VIEW CONCURRENTLY") || strings.Contains(sql, "a.id = $1\n"):
			t.Errorf("%s: fix:\n%s", c.name, sql)
		}
	}
}

// TestUnbatchedUpdateRewrite: deltas are summed per key, plain assignments
// keep the last value, and forms the batch cannot reproduce get no rewrite.
func TestUnbatchedUpdateRewrite(t *testing.T) {
	snap := pgstat.New()
	snap.Tables = []pgstat.Table{{Schema: "app", Name: "accounts", Columns: []pgstat.Column{
		{Name: "id", Type: "integer"}, {Name: "balance", Type: "integer"}, {Name: "note", Type: "text"}, {Name: "tags", Type: "text[]"},
	}}}
	p := &Pass{Snapshot: snap}
	rewrite := func(q string) string {
		s := &model.Statement{Statement: pgstat.Statement{Query: q}, Facts: &sqlfacts.Facts{Kind: sqlfacts.KindUpdate, Target: &sqlfacts.Relation{Schema: "app", Name: "accounts"}}}
		return strings.Join(updateBatch(p, s, p.Table("app", "accounts"), q), "\n")
	}
	got := rewrite("UPDATE app.accounts SET balance = balance + $1, note = $2 WHERE id = $3")
	for _, want := range []string{"sum(p1) AS p1", "(array_agg(p2 ORDER BY ord DESC))[1] AS p2", "unnest($1::integer[], $2::text[], $3::integer[]) WITH ORDINALITY", "GROUP BY p3", "WHERE id = v.p3"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	for _, q := range []string{
		"UPDATE app.accounts SET balance = balance * $1 WHERE id = $2", // not a sum
		"UPDATE app.accounts SET balance = $1 WHERE id > $2",           // not a key
		"UPDATE app.accounts SET tags = $1 WHERE id = $2",              // an array column: unnest would flatten it
		"UPDATE app.accounts SET balance = $1 WHERE id = $2 OR id = $3",
	} {
		if got := rewrite(q); got != "" {
			t.Errorf("%s: rewritten, want none:\n%s", q, got)
		}
	}
	ins := "INSERT INTO app.accounts (id, balance) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET balance = accounts.balance + EXCLUDED.balance"
	s := &model.Statement{Statement: pgstat.Statement{Query: ins}, Facts: &sqlfacts.Facts{Kind: sqlfacts.KindInsert, InsertRows: 1, Target: &sqlfacts.Relation{Schema: "app", Name: "accounts"}}}
	if got := insertBatches(p, s, p.Table("app", "accounts"), ins); got != nil {
		t.Errorf("ON CONFLICT DO UPDATE rewritten, want none (a repeated key would fail): %q", got)
	}
}
