package explain

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// testDB returns a connection to a fresh database holding the table items
// (10 000 rows, an index on category) and two functions: the VOLATILE
// log_call(), which inserts into calls, and the STABLE item_count().
func testDB(t *testing.T) (context.Context, *pgx.Conn, string) {
	t.Helper()
	dsn := pgtest.DB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	mustExec(t, conn, `
CREATE TABLE items (id int PRIMARY KEY, category int NOT NULL, v int, note text);
INSERT INTO items SELECT g, g % 50, g % 1000, 'note ' || g FROM generate_series(1, 10000) g;
CREATE INDEX items_category ON items (category);
ANALYZE items;
CREATE TABLE calls (at timestamptz);
CREATE FUNCTION log_call() RETURNS int LANGUAGE sql VOLATILE AS $$ INSERT INTO calls VALUES (now()); SELECT 1 $$;
CREATE FUNCTION item_count() RETURNS bigint LANGUAGE sql STABLE AS $$ SELECT count(*) FROM items $$;
CREATE SEQUENCE s;
CREATE FUNCTION twice(int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT $1 * 2 $$;`)
	return ctx, conn, dsn
}

func mustExec(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func count(t *testing.T, conn *pgx.Conn, sql string) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// assertIdle fails unless the connection is open and outside any
// transaction, with no prepared statement of Run's left behind.
func assertIdle(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	if conn.IsClosed() {
		t.Fatal("connection closed after Run")
	}
	if s := conn.PgConn().TxStatus(); s != 'I' {
		t.Fatalf("connection transaction status after Run = %q, want 'I'", s)
	}
	if n := count(t, conn, "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'pgadvisor%'"); n != 0 {
		t.Fatalf("%d prepared statements left behind", n)
	}
}

func selectFacts(funcs ...string) *sqlfacts.Facts {
	return &sqlfacts.Facts{Kind: sqlfacts.KindSelect, Statements: 1, Functions: funcs}
}

func TestCheckStatement(t *testing.T) {
	for _, c := range []struct {
		name   string
		facts  *sqlfacts.Facts
		ok     bool
		reason string
	}{
		{"plain select", selectFacts(), true, ""},
		{"nil facts", nil, false, "could not be parsed"},
		{"two statements", &sqlfacts.Facts{Kind: sqlfacts.KindSelect, Statements: 2}, false, "2 statements"},
		{"update", &sqlfacts.Facts{Kind: sqlfacts.KindUpdate, Statements: 1}, false, "not a plain SELECT (UPDATE): plain EXPLAIN only"},
		{"insert", &sqlfacts.Facts{Kind: sqlfacts.KindInsert, Statements: 1}, false, "(INSERT)"},
		{"utility", &sqlfacts.Facts{Kind: sqlfacts.KindUtility, Statements: 1}, false, "(UTILITY)"},
		{"for update", &sqlfacts.Facts{Kind: sqlfacts.KindSelect, Statements: 1, Locking: true}, false, "FOR UPDATE/SHARE"},
		{"select into", &sqlfacts.Facts{Kind: sqlfacts.KindSelect, Statements: 1, SelectInto: true}, false, "SELECT INTO"},
		{"modifying cte", &sqlfacts.Facts{Kind: sqlfacts.KindSelect, Statements: 1, ModifyingCTE: true}, false, "WITH clause modifies data"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ok, reason := CheckStatement(c.facts)
			if ok != c.ok || !strings.Contains(reason, c.reason) {
				t.Errorf("CheckStatement = %v, %q; want %v, containing %q", ok, reason, c.ok, c.reason)
			}
		})
	}
}

func TestSplitFuncName(t *testing.T) {
	for _, c := range []struct{ in, schema, name string }{
		{"lower", "", "lower"},
		{"pg_catalog.now", "pg_catalog", "now"},
		{"Shop.Total", "shop", "total"},
		{`"Shop"."My.Func"`, "Shop", "My.Func"},
		{"db.shop.f", "shop", "f"},
	} {
		s, n := splitFuncName(c.in)
		if s != c.schema || n != c.name {
			t.Errorf("splitFuncName(%q) = %q, %q; want %q, %q", c.in, s, n, c.schema, c.name)
		}
	}
}

func TestGateFunctions(t *testing.T) {
	ctx, conn, _ := testDB(t)
	mustExec(t, conn, `CREATE SCHEMA shop; CREATE FUNCTION shop.random() RETURNS float8 LANGUAGE sql VOLATILE AS $$ SELECT 4 $$`)
	for _, c := range []struct {
		query  string
		ok     bool
		reason string
	}{
		{"SELECT 1", true, ""},
		{"SELECT lower(note), count(*), now() FROM items GROUP BY 1", true, ""}, // built-in IMMUTABLE and STABLE
		{"SELECT pg_catalog.lower('A')", true, ""},
		{"SELECT random(), clock_timestamp(), gen_random_uuid(), timeofday()", true, ""}, // allowlisted
		// User code is never trusted for its volatility marking.
		{"SELECT item_count()", false, "public.item_count (user code, declared STABLE)"},
		{"SELECT twice(id) FROM items", false, "public.twice (user code, declared IMMUTABLE)"},
		{"SELECT log_call()", false, "function public.log_call (user code, declared VOLATILE)"},
		{"SELECT public.log_call()", false, "public.log_call"},
		{"SELECT nextval('s')", false, "pg_catalog.nextval (a VOLATILE built-in)"},
		{"SELECT setseed(0.5)", false, "setseed"},
		{"SELECT no_such_function()", true, ""},                   // the server refuses it: nothing runs
		{"SELECT shop.random()", false, "shop.random (user code"}, // allowlist is for pg_catalog only
		{"SELECT table_to_xml('items', true, true, '')", false, "table_to_xml (reads a relation"},
		{"SELECT lower(note), log_call(), nextval('s') FROM items", false, "log_call"},
	} {
		facts, err := sqlfacts.Analyze(c.query)
		if err != nil {
			t.Fatal(err)
		}
		ok, reason, err := Gate(ctx, conn, c.query, facts)
		if err != nil {
			t.Fatalf("Gate(%s): %v", c.query, err)
		}
		if ok != c.ok || !strings.Contains(reason, c.reason) {
			t.Errorf("Gate(%s) = %v, %q; want %v, containing %q", c.query, ok, reason, c.ok, c.reason)
		}
	}
	// --trust-functions: a named user function is trusted, by schema.name or name.
	for _, trust := range []string{"public.item_count", "item_count"} {
		facts, _ := sqlfacts.Analyze("SELECT item_count()")
		if ok, reason, err := Gate(ctx, conn, "SELECT item_count()", facts, trust); err != nil || !ok {
			t.Errorf("Gate with --trust-functions %s = %v, %q, %v; want allowed", trust, ok, reason, err)
		}
	}
	// The overload rule: every function of the name is checked.
	mustExec(t, conn, `CREATE FUNCTION lower(int) RETURNS int LANGUAGE sql VOLATILE AS $$ SELECT $1 $$`)
	facts, _ := sqlfacts.Analyze("SELECT lower(note) FROM items")
	if ok, reason, _ := Gate(ctx, conn, "SELECT lower(note) FROM items", facts); ok {
		t.Errorf("Gate allowed lower() with a user overload (%q)", reason)
	}
}

func TestRunGateRefusals(t *testing.T) {
	ctx, conn, _ := testDB(t)
	opts := Options{Analyze: true, StatementTimeout: 10 * time.Second, LockTimeout: time.Second, ServerVersionNum: 150000}
	before := count(t, conn, "SELECT sum(v) FROM items")
	for _, c := range []struct {
		name   string
		query  string
		facts  *sqlfacts.Facts
		reason string
	}{
		{"update", "UPDATE items SET v = v + 1", &sqlfacts.Facts{Kind: sqlfacts.KindUpdate, Statements: 1}, "not a plain SELECT (UPDATE)"},
		{"for update", "SELECT * FROM items WHERE id < 10 FOR UPDATE", &sqlfacts.Facts{Kind: sqlfacts.KindSelect, Statements: 1, Locking: true}, "FOR UPDATE"},
		{"modifying cte", "WITH d AS (DELETE FROM items WHERE id < 100 RETURNING id) SELECT count(*) FROM d",
			&sqlfacts.Facts{Kind: sqlfacts.KindSelect, Statements: 1, ModifyingCTE: true, Functions: []string{"count"}}, "WITH clause modifies data"},
		{"select into", "SELECT * INTO items_copy FROM items", &sqlfacts.Facts{Kind: sqlfacts.KindSelect, Statements: 1, SelectInto: true}, "SELECT INTO"},
		{"volatile function", "SELECT log_call() FROM items WHERE id < 5", selectFacts("log_call"), "public.log_call (user code, declared VOLATILE)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := Run(ctx, conn, c.query, c.facts, opts)
			assertIdle(t, conn)
			if res.Error != "" {
				t.Fatalf("Run: %s", res.Error)
			}
			if res.Mode != ModePlain || res.Plan.Analyzed() {
				t.Errorf("mode %q, analysed %v; want a plain EXPLAIN", res.Mode, res.Plan.Analyzed())
			}
			if !strings.Contains(res.Reason, c.reason) {
				t.Errorf("reason %q, want it to contain %q", res.Reason, c.reason)
			}
		})
	}
	if n := count(t, conn, "SELECT count(*) FROM calls"); n != 0 {
		t.Errorf("the volatile function ran: calls has %d rows", n)
	}
	if n := count(t, conn, "SELECT count(*) FROM pg_class WHERE relname = 'items_copy'"); n != 0 {
		t.Error("SELECT INTO created its table")
	}
	if after := count(t, conn, "SELECT sum(v) FROM items"); after != before {
		t.Errorf("items changed: sum(v) %d → %d", before, after)
	}
	if n := count(t, conn, "SELECT count(*) FROM items"); n != 10000 {
		t.Errorf("items has %d rows, want 10000", n)
	}
}

func TestRunAnalyzeSelect(t *testing.T) {
	ctx, conn, _ := testDB(t)
	for _, c := range []struct {
		name  string
		query string
		facts *sqlfacts.Facts
		rows  float64
		trust []string
	}{
		{"filter", "SELECT id FROM items WHERE v < 100", selectFacts(), 1000, nil},
		{"trusted user functions", "SELECT id, twice(v) FROM items WHERE category = 7 AND item_count() > 0", selectFacts("twice", "item_count"), 200, []string{"twice", "public.item_count"}},
		{"allowlisted volatile", "SELECT id FROM items WHERE random() >= 0 AND id <= 42;", selectFacts("random"), 42, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := Run(ctx, conn, c.query, c.facts, Options{Analyze: true, StatementTimeout: 10 * time.Second, TrustFunctions: c.trust})
			assertIdle(t, conn)
			if res.Error != "" {
				t.Fatalf("Run: %s", res.Error)
			}
			if res.Mode != ModeAnalyze || !res.Plan.Analyzed() || res.Reason != "" {
				t.Fatalf("mode %q, analysed %v, reason %q; want ANALYZE", res.Mode, res.Plan.Analyzed(), res.Reason)
			}
			if got := res.Plan.Plan.TotalActualRows(); got != c.rows {
				t.Errorf("actual rows %v, want %v", got, c.rows)
			}
			if res.DurationMS <= 0 {
				t.Errorf("DurationMS = %v", res.DurationMS)
			}
			verbose := false
			for _, n := range res.Plan.Nodes() {
				verbose = verbose || n.QualifiedRelation() == "public.items"
			}
			if !verbose {
				t.Errorf("plan is not VERBOSE (no schema-qualified items): %s", res.Plan.Plan)
			}
		})
	}
}

func TestRunNotEnabled(t *testing.T) {
	ctx, conn, _ := testDB(t)
	res := Run(ctx, conn, "SELECT * FROM items WHERE v = 3", selectFacts(), Options{})
	assertIdle(t, conn)
	if res.Error != "" || res.Mode != ModePlain || res.Plan.Analyzed() {
		t.Fatalf("got mode %q error %q", res.Mode, res.Error)
	}
	if res.Reason != "ANALYZE not enabled: plain EXPLAIN only" {
		t.Errorf("reason %q", res.Reason)
	}
}

func TestRunAnalyzeWrites(t *testing.T) {
	ctx, conn, _ := testDB(t)
	before := count(t, conn, "SELECT sum(v) FROM items")
	res := Run(ctx, conn, "UPDATE items SET v = v + 1 WHERE category = 3",
		&sqlfacts.Facts{Kind: sqlfacts.KindUpdate, Statements: 1}, Options{AnalyzeWrites: true})
	assertIdle(t, conn)
	if res.Error != "" {
		t.Fatalf("Run: %s", res.Error)
	}
	if res.Mode != ModeAnalyze || res.Plan.Plan.NodeType != "ModifyTable" || res.Plan.Plan.Operation != "Update" {
		t.Fatalf("mode %q, root %s; want an analysed Update", res.Mode, res.Plan.Plan)
	}
	if !strings.Contains(res.Reason, "rolled back") {
		t.Errorf("reason %q does not say the write was rolled back", res.Reason)
	}
	var scanned float64
	for _, n := range res.Plan.Nodes() {
		if n.RelationName == "items" && n.NodeType != "ModifyTable" {
			scanned = n.TotalActualRows()
		}
	}
	if scanned != 200 {
		t.Errorf("scan below the update returned %v rows, want 200", scanned)
	}
	if after := count(t, conn, "SELECT sum(v) FROM items"); after != before {
		t.Errorf("the update was kept: sum(v) %d → %d", before, after)
	}
	// The volatile function runs too, and is rolled back with the rest.
	res = Run(ctx, conn, "SELECT log_call()", selectFacts("log_call"), Options{AnalyzeWrites: true})
	assertIdle(t, conn)
	if res.Error != "" || res.Mode != ModeAnalyze {
		t.Fatalf("mode %q error %q", res.Mode, res.Error)
	}
	if n := count(t, conn, "SELECT count(*) FROM calls"); n != 0 {
		t.Errorf("calls has %d rows after a rolled-back analyse", n)
	}
}

func TestRunGenericPlan(t *testing.T) {
	ctx, conn, _ := testDB(t)
	for _, c := range []struct {
		name, query, want string
		opts              Options
	}{
		{"index cond", "SELECT * FROM items WHERE id = $1", "(items.id = $1)", Options{}},
		{"version asked", "SELECT * FROM items WHERE category = $1 AND v > $2", "$1", Options{Analyze: true}},
		{"untyped parameter", "SELECT * FROM items WHERE id = $1 OR $2 IS NULL", "$2", Options{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			facts := selectFacts()
			facts.Params = sqlfacts.MaxParam(c.query)
			res := Run(ctx, conn, c.query, facts, c.opts)
			assertIdle(t, conn)
			if res.Error != "" {
				t.Fatalf("Run: %s", res.Error)
			}
			if res.Mode != ModeGeneric || res.Plan.Analyzed() {
				t.Fatalf("mode %q analysed %v, want a generic plan", res.Mode, res.Plan.Analyzed())
			}
			// A generic plan keeps the parameter symbols in its conditions;
			// a custom plan made with NULLs would have folded them away.
			var conds []string
			for _, n := range res.Plan.Nodes() {
				conds = append(conds, n.IndexCond, n.Filter, n.RecheckCond)
			}
			if all := strings.Join(conds, " "); !strings.Contains(all, c.want) {
				t.Errorf("conditions %q do not mention %s", all, c.want)
			}
		})
	}
}

func TestRunSampledParameters(t *testing.T) {
	ctx, conn, _ := testDB(t)
	mustExec(t, conn, "CREATE TABLE empty_t (x int)")
	opts := Options{Analyze: true, StatementTimeout: 10 * time.Second}

	facts := selectFacts()
	facts.Params = 2
	facts.ParamColumns = map[int]sqlfacts.ColumnRef{1: {Table: "items", Column: "category"}}
	facts.Limit = &sqlfacts.Bound{Param: 2}
	res := Run(ctx, conn, "SELECT * FROM items WHERE category = $1 ORDER BY id LIMIT $2", facts, opts)
	assertIdle(t, conn)
	if res.Error != "" {
		t.Fatalf("Run: %s", res.Error)
	}
	if res.Mode != ModeAnalyze || !res.Plan.Analyzed() {
		t.Fatalf("mode %q, reason %q; want ANALYZE with sampled values", res.Mode, res.Reason)
	}
	if !strings.Contains(res.Reason, "$1 from the most common value of public.items.category (pg_stats)") ||
		!strings.Contains(res.Reason, "$2 = 100 (LIMIT)") {
		t.Errorf("reason %q", res.Reason)
	}
	if got := res.Plan.Plan.TotalActualRows(); got != 100 {
		t.Errorf("LIMIT 100 returned %v rows", got)
	}

	// No pg_stats for note: the value comes from a row.
	facts = selectFacts()
	facts.Params = 1
	facts.ParamColumns = map[int]sqlfacts.ColumnRef{1: {Schema: "public", Table: "items", Column: "note"}}
	mustExec(t, conn, "DELETE FROM pg_statistic WHERE starelid = 'items'::regclass")
	res = Run(ctx, conn, "SELECT * FROM items WHERE note = $1", facts, opts)
	assertIdle(t, conn)
	if res.Error != "" || res.Mode != ModeAnalyze || res.Plan.Plan.TotalActualRows() != 1 {
		t.Fatalf("mode %q rows %v error %q reason %q", res.Mode, res.Plan.Plan.TotalActualRows(), res.Error, res.Reason)
	}
	if !strings.Contains(res.Reason, "row of public.items.note") {
		t.Errorf("reason %q", res.Reason)
	}

	// Nothing to sample: generic plan, said so.
	for _, c := range []struct {
		query string
		cols  map[int]sqlfacts.ColumnRef
		want  string
	}{
		{"SELECT * FROM empty_t WHERE x = $1", map[int]sqlfacts.ColumnRef{1: {Table: "empty_t", Column: "x"}}, "no sample value for $1 (no non-null value in empty_t.x)"},
		{"SELECT * FROM items WHERE v = $1", nil, "no sample value for $1 (not compared with a known column)"},
	} {
		facts = selectFacts()
		facts.Params = 1
		facts.ParamColumns = c.cols
		res = Run(ctx, conn, c.query, facts, opts)
		assertIdle(t, conn)
		if res.Error != "" || res.Mode != ModeGeneric || res.Plan.Analyzed() {
			t.Fatalf("%s: mode %q error %q", c.query, res.Mode, res.Error)
		}
		if !strings.Contains(res.Reason, c.want) {
			t.Errorf("%s: reason %q, want %q", c.query, res.Reason, c.want)
		}
	}

	// A sampled value the parameter's type refuses: generic plan.
	facts = selectFacts()
	facts.Params = 1
	facts.ParamColumns = map[int]sqlfacts.ColumnRef{1: {Table: "items", Column: "note"}}
	res = Run(ctx, conn, "SELECT * FROM items WHERE id = $1", facts, opts)
	assertIdle(t, conn)
	if res.Error != "" || res.Mode != ModeGeneric || !strings.Contains(res.Reason, "failed") {
		t.Fatalf("mode %q error %q reason %q", res.Mode, res.Error, res.Reason)
	}
}

func TestRunLockTimeout(t *testing.T) {
	ctx, conn, dsn := testDB(t)
	other, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "LOCK TABLE items IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	res := Run(ctx, conn, "SELECT * FROM items", selectFacts(), Options{LockTimeout: 50 * time.Millisecond, StatementTimeout: 10 * time.Second})
	assertIdle(t, conn)
	if !strings.Contains(res.Error, "--lock-timeout") {
		t.Fatalf("error %q, want one naming --lock-timeout", res.Error)
	}
}

func TestRunPermissionDenied(t *testing.T) {
	ctx, conn, dsn := testDB(t)
	mustExec(t, conn, "DROP ROLE IF EXISTS pgadvisor_nobody; CREATE ROLE pgadvisor_nobody LOGIN")
	t.Cleanup(func() {
		admin, err := pgx.Connect(context.Background(), dsn)
		if err == nil {
			_, _ = admin.Exec(context.Background(), "DROP OWNED BY pgadvisor_nobody; DROP ROLE IF EXISTS pgadvisor_nobody")
			admin.Close(context.Background())
		}
	})
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.User = "pgadvisor_nobody"
	nobody, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer nobody.Close(ctx)
	res := Run(ctx, nobody, "SELECT * FROM items", selectFacts(), Options{Analyze: true})
	assertIdle(t, nobody)
	if !strings.Contains(res.Error, "permission denied") || !strings.Contains(res.Error, "grant") {
		t.Fatalf("error %q, want permission denied naming a grant", res.Error)
	}
}

func TestRunCancelled(t *testing.T) {
	_, _, dsn := testDB(t)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	// Cancel the running statement instead of closing the connection, as
	// pgadvisor does on Ctrl-C.
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, CancelRequestDelay: 0, DeadlineDelay: 5 * time.Second}
	}
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res := Run(ctx, conn, "SELECT count(*) FROM generate_series(1, 100000000) g", selectFacts("count", "generate_series"),
		Options{Analyze: true, ServerVersionNum: 150000})
	assertIdle(t, conn)
	if !strings.HasPrefix(res.Error, "cancelled while running EXPLAIN ANALYZE") {
		t.Fatalf("error %q", res.Error)
	}
}

func TestRunRefusesUnsafeInput(t *testing.T) {
	ctx, conn, _ := testDB(t)
	// Without facts, the text goes to the server through the extended
	// protocol, which refuses several statements: the DROP never runs.
	res := Run(ctx, conn, "SELECT 1; DROP TABLE items", nil, Options{Analyze: true})
	assertIdle(t, conn)
	if res.Error == "" || res.Plan != nil {
		t.Errorf("two statements explained: %+v", res)
	}
	res = Run(ctx, conn, "SELECT 1; DROP TABLE items", &sqlfacts.Facts{Kind: sqlfacts.KindSelect, Statements: 2}, Options{Analyze: true})
	if !strings.Contains(res.Error, "2 statements") {
		t.Errorf("error %q", res.Error)
	}
	if n := count(t, conn, "SELECT count(*) FROM items"); n != 10000 {
		t.Fatalf("items has %d rows", n)
	}
	if res := Run(ctx, conn, " ; ", nil, Options{}); !strings.Contains(res.Error, "empty statement") {
		t.Errorf("empty statement: %q", res.Error)
	}
	// A connection inside the caller's transaction is refused, not rolled back.
	mustExec(t, conn, "BEGIN")
	res = Run(ctx, conn, "SELECT 1", selectFacts(), Options{})
	if !strings.Contains(res.Error, "inside a transaction") || conn.PgConn().TxStatus() != 'T' {
		t.Errorf("error %q, status %q", res.Error, conn.PgConn().TxStatus())
	}
	mustExec(t, conn, "ROLLBACK")
	// A closed connection.
	conn.Close(ctx)
	res = Run(ctx, conn, "SELECT 1", selectFacts(), Options{})
	if !strings.HasPrefix(res.Error, "connection lost") {
		t.Errorf("closed connection: %q", res.Error)
	}
	if res := Run(ctx, nil, "SELECT 1", selectFacts(), Options{}); res.Error == "" {
		t.Error("nil connection: no error")
	}
}

// TestAnalyzeReleasesAdvisoryLocks: the second line of defence. A function
// the user trusts (--trust-functions) that takes a session advisory lock is
// analysed; the lock survives ROLLBACK, so Run releases it and says so.
func TestAnalyzeReleasesAdvisoryLocks(t *testing.T) {
	ctx, conn, _ := testDB(t)
	mustExec(t, conn, `CREATE FUNCTION take_lock() RETURNS bool LANGUAGE sql STABLE AS $$ SELECT pg_advisory_lock(77) IS NOT NULL $$`)
	q := "SELECT take_lock()"
	facts, err := sqlfacts.Analyze(q)
	if err != nil {
		t.Fatal(err)
	}
	res := Run(ctx, conn, q, facts, Options{Analyze: true, TrustFunctions: []string{"public.take_lock"}})
	if res.Error != "" || res.Mode != ModeAnalyze {
		t.Fatalf("mode %q error %q; want an analysed trusted statement", res.Mode, res.Error)
	}
	if res.ReleasedAdvisoryLocks != 1 || !strings.Contains(res.Reason, "released with pg_advisory_unlock_all()") {
		t.Errorf("released %d, reason %q; want 1 released and said", res.ReleasedAdvisoryLocks, res.Reason)
	}
	if n := count(t, conn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"); n != 0 {
		t.Errorf("%d advisory locks still held", n)
	}
	// Untrusted, the same statement is not even planned (STABLE user code).
	res = Run(ctx, conn, q, facts, Options{Analyze: true})
	if res.Plan != nil || !strings.Contains(res.Error, "--trust-functions public.take_lock") {
		t.Errorf("untrusted: plan %v error %q", res.Plan != nil, res.Error)
	}
}

// TestBuiltinOperatorsAreSafe checks the premise that lets the gate skip
// built-in operators: each runs a built-in function that is not volatile.
func TestBuiltinOperatorsAreSafe(t *testing.T) {
	_, conn, _ := testDB(t)
	n := count(t, conn, `SELECT count(*) FROM pg_operator o JOIN pg_proc p ON p.oid = o.oprcode
WHERE o.oid < 16384 AND (p.provolatile = 'v' OR p.oid >= 16384)`)
	if n != 0 {
		t.Errorf("%d built-in operators run volatile or user functions", n)
	}
}

// TestGateTrustedExtensions: the C code of allowlisted extensions (a trigram
// operator and index, a citext column) is trusted; dblink's is not.
func TestGateTrustedExtensions(t *testing.T) {
	ctx, conn, _ := testDB(t)
	mustExec(t, conn, `CREATE EXTENSION pg_trgm; CREATE EXTENSION citext; CREATE EXTENSION dblink;
CREATE TABLE docs (id int PRIMARY KEY, name citext, body text);
CREATE INDEX docs_body_trgm ON docs USING gin (body gin_trgm_ops)`)
	for _, c := range []struct {
		query         string
		plan, analyze bool
		reason        string
	}{
		{"SELECT id FROM docs WHERE body % 'needle'", true, true, ""},
		{"SELECT id FROM docs WHERE name = 'Alice' AND body LIKE '%x%'", true, true, ""},
		{"SELECT dblink_connect('x', 'dbname=postgres')", true, false, "of extension dblink, declared VOLATILE"},
		{"SELECT dblink_get_connections()", true, false, "dblink"},
	} {
		facts, err := sqlfacts.Analyze(c.query)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Check(ctx, conn, c.query, facts, nil)
		if err != nil {
			t.Fatal(err)
		}
		if v.Plan != c.plan || v.Analyze != c.analyze || !strings.Contains(v.Reason, c.reason) {
			t.Errorf("%s: plan %v analyze %v reason %q; want %v %v containing %q", c.query, v.Plan, v.Analyze, v.Reason, c.plan, c.analyze, c.reason)
		}
	}
}

// TestAnalyzeTimeoutFallsBack: a statement that runs into statement_timeout
// under EXPLAIN ANALYZE is planned again without executing it.
func TestAnalyzeTimeoutFallsBack(t *testing.T) {
	ctx, conn, _ := testDB(t)
	opts := Options{Analyze: true, StatementTimeout: 50 * time.Millisecond}
	for _, c := range []struct {
		query  string
		mode   Mode
		reason string
	}{
		{"SELECT count(*) FROM generate_series(1, 200000000) g", ModePlain, "ran into the statement timeout (50ms): planned without executing"},
		{"SELECT count(*) FROM items a, items b, items c WHERE a.category = $1", ModeGeneric, "SQLSTATE 57014"},
	} {
		facts, err := sqlfacts.Analyze(c.query)
		if err != nil {
			t.Fatal(err)
		}
		res := Run(ctx, conn, c.query, facts, opts)
		assertIdle(t, conn)
		if res.Error != "" || res.Mode != c.mode || !strings.Contains(res.Reason, c.reason) || strings.Contains(res.Reason, "\n") {
			t.Errorf("%s: mode %q reason %q error %q; want %q and one line containing %q", c.query, res.Mode, res.Reason, res.Error, c.mode, c.reason)
		}
	}
}

// TestTypedParamsPlanned: pg_stat_statements' normalised typed literal
// (interval $1) cannot be prepared by the server; as a cast it is planned.
func TestTypedParamsPlanned(t *testing.T) {
	ctx, conn, _ := testDB(t)
	mustExec(t, conn, "CREATE TABLE ev (at timestamptz)")
	q := "SELECT count(*) FROM ev WHERE at > now() - interval $1 AND at < timestamptz $2"
	facts, err := sqlfacts.Analyze(q)
	if err != nil {
		t.Fatal(err)
	}
	if res := Run(ctx, conn, q, facts, Options{}); res.Error == "" {
		t.Fatalf("the server planned the normalised text (%s): the rewrite is not needed", res.Mode)
	}
	cast := sqlfacts.CastTypedParams(q)
	res := Run(ctx, conn, cast, facts, Options{})
	assertIdle(t, conn)
	if res.Error != "" || res.Mode != ModeGeneric {
		t.Errorf("%s: mode %q error %q, want a generic plan", cast, res.Mode, res.Error)
	}
}

// TestRunCustomPlan checks that representative values (Options.Values)
// give a custom plan for them, never executed even with Analyze asked, and
// with quoted values masked in the plan.
func TestRunCustomPlan(t *testing.T) {
	ctx, conn, _ := testDB(t)
	query := "SELECT *, log_call() FROM items WHERE v >= $1"
	facts := selectFacts("log_call")
	facts.Params = 1
	trust := []string{"log_call"}
	generic := Run(ctx, conn, query, facts, Options{TrustFunctions: trust})
	if generic.Error != "" || generic.Mode != ModeGeneric {
		t.Fatalf("generic: mode %q error %q", generic.Mode, generic.Error)
	}
	res := Run(ctx, conn, query, facts, Options{Analyze: true, AnalyzeWrites: true, TrustFunctions: trust, Values: []string{"995"}})
	assertIdle(t, conn)
	if res.Error != "" || res.Mode != ModeCustom || res.Plan.Analyzed() {
		t.Fatalf("mode %q analysed %v error %q", res.Mode, res.Plan.Analyzed(), res.Error)
	}
	// v >= 995 is 0.5% of the rows; the generic plan assumes a third.
	if got, gen := res.Plan.Plan.PlanRows, generic.Plan.Plan.PlanRows; got >= gen/10 || got < 10 {
		t.Errorf("custom plan estimates %v rows, generic %v: want about 50", got, gen)
	}
	conds := func(p *Plan) string {
		var c []string
		for _, n := range p.Nodes() {
			c = append(c, n.IndexCond, n.Filter)
		}
		return strings.Join(c, " ")
	}
	if all := conds(res.Plan); !strings.Contains(all, "995") || strings.Contains(all, "$1") {
		t.Errorf("conditions %q: want the value, not the parameter symbol", all)
	}
	if n := count(t, conn, "SELECT count(*) FROM calls"); n != 0 {
		t.Errorf("the statement ran: %d calls logged", n)
	}
	res = Run(ctx, conn, "SELECT * FROM items WHERE note = $1", selectFacts(), Options{Values: []string{"note 5"}})
	assertIdle(t, conn)
	if res.Error != "" || res.Mode != ModeCustom || strings.Contains(conds(res.Plan), "note 5") {
		t.Errorf("text value: mode %q error %q conditions %q, want it masked", res.Mode, res.Error, conds(res.Plan))
	}
	mustExec(t, conn, "CREATE DOMAIN positive AS int CHECK (VALUE > 0)")
	res = Run(ctx, conn, "SELECT * FROM items WHERE v >= $1::positive", selectFacts(), Options{Values: []string{"5"}})
	assertIdle(t, conn)
	if res.Error == "" || !strings.Contains(res.Error, "user-defined type or domain") {
		t.Errorf("a domain parameter: mode %q error %q, want refused", res.Mode, res.Error)
	}
	res = Run(ctx, conn, query, facts, Options{TrustFunctions: trust, Values: []string{"1", "2"}})
	assertIdle(t, conn)
	if res.Error == "" || res.Plan != nil {
		t.Errorf("two values for one parameter: mode %q error %q", res.Mode, res.Error)
	}
}
