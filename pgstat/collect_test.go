package pgstat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const schemaSQL = `
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id bigint PRIMARY KEY, email text NOT NULL, name text);
CREATE UNIQUE INDEX customers_lower_email ON shop.customers (lower(email));
CREATE TABLE shop.orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES shop.customers (id),
  status text NOT NULL,
  created_at timestamptz NOT NULL,
  total numeric
);
CREATE INDEX orders_customer_created ON shop.orders (customer_id, created_at DESC) INCLUDE (total, status);
CREATE INDEX orders_pending ON shop.orders (created_at) WHERE status = 'pending';
CREATE INDEX orders_status_pattern ON shop.orders (status text_pattern_ops);
CREATE TABLE shop.order_lines (
  order_id bigint NOT NULL REFERENCES shop.orders (id),
  line int NOT NULL,
  product text,
  PRIMARY KEY (order_id, line)
);
CREATE TABLE shop.shipments (
  id serial PRIMARY KEY,
  line int, order_id bigint,
  CONSTRAINT shipments_line_fk FOREIGN KEY (line, order_id) REFERENCES shop.order_lines (line, order_id)
);
CREATE TABLE "Mixed Case" ("Id" int PRIMARY KEY, "order" text);
CREATE INDEX "Mixed Case_order_idx" ON "Mixed Case" ("order" DESC NULLS LAST, "Id");
CREATE TABLE events (id bigint, at date NOT NULL, payload jsonb) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE INDEX events_at ON events (at);
CREATE INDEX events_2025_id ON events_2025 (id);
INSERT INTO shop.customers SELECT g, 'c' || g || '@example.com', 'name ' || g FROM generate_series(1, 200) g;
INSERT INTO shop.orders (customer_id, status, created_at, total)
  SELECT 1 + g % 200, CASE WHEN g % 10 = 0 THEN 'pending' ELSE 'shipped' END, '2025-01-01'::timestamptz + g * interval '1 minute', g
  FROM generate_series(1, 2000) g;
INSERT INTO shop.order_lines SELECT id, 1, 'p' FROM shop.orders;
INSERT INTO "Mixed Case" VALUES (1, 'a'), (2, 'b');
INSERT INTO events SELECT g, '2024-06-01'::date + g % 400, '{}' FROM generate_series(1, 500) g;
CREATE MATERIALIZED VIEW shop.customer_totals AS SELECT customer_id, sum(total) AS total FROM shop.orders GROUP BY 1;
ANALYZE;
`

// setup creates the test schema in a fresh database and returns its DSN and
// a superuser connection to it.
func setup(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	dsn := pgtest.DB(t)
	conn := dial(t, dsn)
	if _, err := conn.Exec(context.Background(), schemaSQL); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	// Make the table counters visible now rather than within a second (15+).
	if conn.PgConn().ParameterStatus("server_version") >= "15" {
		mustExec(t, conn, "SELECT pg_stat_force_next_flush()")
	}
	return dsn, conn
}

// dial opens a plain (non-pgadvisor) connection.
func dial(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// connect opens a pgadvisor session with Connect.
func connect(t *testing.T, dsn string, opts ConnectOptions) *pgx.Conn {
	t.Helper()
	conn, err := Connect(context.Background(), dsn, opts)
	if err != nil {
		msg, fix := Describe(err)
		t.Fatalf("Connect: %s (%s)", msg, fix)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func collect(t *testing.T, conn *pgx.Conn, opts CollectOptions) *Snapshot {
	t.Helper()
	snap, err := Collect(context.Background(), conn, opts)
	if err != nil {
		t.Fatalf("Collect: %v", err)
	}
	return snap
}

func mustExec(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func findStatement(s *Snapshot, substr string) *Statement {
	for i := range s.Statements {
		if strings.Contains(s.Statements[i].Query, substr) {
			return &s.Statements[i]
		}
	}
	return nil
}

func findTable(s *Snapshot, schema, name string) *Table {
	for i := range s.Tables {
		if s.Tables[i].Schema == schema && s.Tables[i].Name == name {
			return &s.Tables[i]
		}
	}
	return nil
}

func findIndex(s *Snapshot, name string) *Index {
	for i := range s.Indexes {
		if s.Indexes[i].Name == name {
			return &s.Indexes[i]
		}
	}
	return nil
}

func hasProblem(s *Snapshot, phase, fixPart string) bool {
	for _, p := range s.Problems {
		if p.Phase == phase && strings.Contains(p.Fix, fixPart) {
			return true
		}
	}
	return false
}

func TestCollectStatements(t *testing.T) {
	dsn, admin := setup(t)
	ctx := context.Background()
	for i := 1; i <= 5; i++ {
		rows, err := admin.Query(ctx, "SELECT id, total FROM shop.orders WHERE customer_id = $1", i)
		if err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	conn := connect(t, dsn, ConnectOptions{})
	first := collect(t, conn, CollectOptions{})
	snap := collect(t, conn, CollectOptions{}) // the first run's statements must not show up

	if snap.StatStatements == nil || snap.StatStatements.Version == "" {
		t.Fatalf("StatStatements = %+v", snap.StatStatements)
	}
	if snap.StatStatements.Max != 5000 {
		t.Errorf("pg_stat_statements.max = %d, want 5000 (pgtest setting)", snap.StatStatements.Max)
	}
	if v, _ := parseExtVersion(snap.StatStatements.Version); v.atLeast(1, 9) && snap.StatStatements.StatsReset == nil {
		t.Error("pg_stat_statements_info.stats_reset not read")
	}
	st := findStatement(snap, "FROM shop.orders WHERE customer_id = $1")
	if st == nil {
		t.Fatalf("statement not collected; have %d statements", len(snap.Statements))
	}
	if st.Calls != 5 || st.Rows != 50 || st.TotalExecTime <= 0 || st.MeanExecTime <= 0 || st.MaxExecTime < st.MinExecTime || st.QueryID == 0 || st.User != "postgres" {
		t.Errorf("statement = %+v, want 5 calls, 50 rows, times > 0", *st)
	}
	if st.SharedBlksHit+st.SharedBlksRead == 0 {
		t.Errorf("no buffers counted: %+v", *st)
	}
	for _, s := range [][]Statement{first.Statements, snap.Statements} {
		for _, st := range s {
			if strings.Contains(st.Query, Marker) || strings.Contains(st.Query, "pg_blocking_pids") || strings.Contains(st.Query, "FROM pg_stat_statements\nWHERE") {
				t.Errorf("pgadvisor's own statement collected: %.100q", st.Query)
			}
		}
	}
	for i := 1; i < len(snap.Statements); i++ {
		if snap.Statements[i].TotalTime() > snap.Statements[i-1].TotalTime() {
			t.Fatalf("statements not ordered by total time at %d", i)
		}
	}
	// Settings with units.
	if snap.Settings["shared_buffers"] == "" || snap.SettingUnits["shared_buffers"] != "8kB" || snap.Settings["pg_stat_statements.track"] != "all" {
		t.Errorf("settings = %v units = %v", snap.Settings, snap.SettingUnits)
	}
	for _, name := range []string{"max_connections", "work_mem", "random_page_cost", "jit", "server_encoding", "shared_preload_libraries", "track_io_timing"} {
		if _, ok := snap.Settings[name]; !ok {
			t.Errorf("setting %s missing", name)
		}
	}
	if snap.Server.VersionNum < 120000 || !strings.HasPrefix(snap.Server.Version, fmt.Sprint(snap.Server.VersionNum/10000)) || snap.Server.CurrentUser != "postgres" || snap.Server.StartedAt == nil {
		t.Errorf("server = %+v", snap.Server)
	}
	if len(snap.Problems) != 0 {
		t.Errorf("problems: %+v", snap.Problems)
	}
	for _, phase := range []string{PhaseServer, PhaseSettings, PhaseStatements, PhaseTables, PhaseColumns, PhaseIndexes, PhaseForeignKeys, PhaseSizes, PhaseActivity} {
		if _, ok := snap.Timings[phase]; !ok {
			t.Errorf("no timing for %s", phase)
		}
	}

	// MinCalls and MaxStatements.
	few := collect(t, conn, CollectOptions{MinCalls: 5, MaxStatements: 1})
	if len(few.Statements) != 1 || few.Statements[0].Calls < 5 {
		t.Errorf("MinCalls 5, MaxStatements 1: %+v", few.Statements)
	}
}

func TestCollectCurrentDatabaseOnly(t *testing.T) {
	dsn, _ := setup(t)
	other := dial(t, pgtest.DB(t))
	mustExec(t, other, "CREATE TABLE only_in_other (id int)")
	mustExec(t, other, "SELECT count(*) FROM only_in_other")
	snap := collect(t, connect(t, dsn, ConnectOptions{}), CollectOptions{})
	if st := findStatement(snap, "only_in_other"); st != nil {
		t.Errorf("statement of another database collected: %q", st.Query)
	}
	if findTable(snap, "public", "only_in_other") != nil {
		t.Error("table of another database collected")
	}
	if findStatement(snap, "CREATE TABLE shop.orders") == nil {
		t.Error("the current database's own statements are missing")
	}
}

func TestCollectCatalog(t *testing.T) {
	dsn, _ := setup(t)
	snap := collect(t, connect(t, dsn, ConnectOptions{}), CollectOptions{})

	orders := findTable(snap, "shop", "orders")
	if orders == nil {
		t.Fatal("shop.orders missing")
	}
	if orders.Kind != "r" || orders.Rows != 2000 || orders.Pages == 0 || orders.SizeBytes == 0 || orders.TotalBytes <= orders.SizeBytes || orders.NTupIns != 2000 || orders.LastAnalyze == nil {
		t.Errorf("orders = %+v", *orders)
	}
	var names []string
	for _, c := range orders.Columns {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "id,customer_id,status,created_at,total" {
		t.Errorf("orders columns = %v", names)
	}
	status := orders.Columns[2]
	if status.Type != "text" || !status.NotNull || status.NDistinct == nil || *status.NDistinct != 2 || status.NullFrac == nil ||
		status.MostCommonValue == nil || *status.MostCommonValue != "shipped" || status.Correlation == nil || status.AvgWidth == 0 {
		t.Errorf("status column = %+v", status)
	}
	if orders.Columns[4].Type != "numeric" || orders.Columns[4].NotNull {
		t.Errorf("total column = %+v", orders.Columns[4])
	}
	if ct := findTable(snap, "shop", "customer_totals"); ct == nil || ct.Kind != "m" {
		t.Errorf("materialized view = %+v", ct)
	}
	mixed := findTable(snap, "public", "Mixed Case")
	if mixed == nil || mixed.QualifiedName() != `public."Mixed Case"` || len(mixed.Columns) != 2 || mixed.Columns[1].Name != "order" {
		t.Errorf("Mixed Case = %+v", mixed)
	}
	events := findTable(snap, "public", "events")
	if events == nil || events.Kind != "p" || events.Partitions != 2 {
		t.Errorf("events = %+v", events)
	}
	if p := findTable(snap, "public", "events_2024"); p == nil || p.Parent != "public.events" ||
		p.PartitionBound != "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')" {
		t.Errorf("events_2024 = %+v", p)
	}
	// The partition's copy of events_at is attached to it; its own index is not.
	for _, ix := range snap.Indexes {
		switch {
		case ix.Table == "events_2024" && ix.Parent != "public.events_at":
			t.Errorf("index %s of events_2024 attached to %q, want public.events_at", ix.Name, ix.Parent)
		case ix.Name == "events_2025_id" && ix.Parent != "":
			t.Errorf("events_2025_id is the partition's own index, attached to %q", ix.Parent)
		case ix.Name == "events_at" && ix.Parent != "":
			t.Errorf("events_at attached to %q", ix.Parent)
		}
	}
	if events != nil && (len(events.Columns) != 3 || events.Columns[1].NDistinct == nil) {
		t.Errorf("partitioned table statistics (inherited) missing: %+v", events.Columns)
	}

	cases := []struct {
		name                          string
		columns                       []string
		expr, desc                    []bool
		opclasses, include            []string
		predicate, constraint, method string
		unique, primary               bool
	}{
		{name: "orders_pkey", columns: []string{"id"}, expr: []bool{false}, desc: []bool{false}, constraint: "orders_pkey", method: "btree", unique: true, primary: true},
		{name: "customers_lower_email", columns: []string{"lower(email)"}, expr: []bool{true}, desc: []bool{false}, method: "btree", unique: true},
		{name: "orders_customer_created", columns: []string{"customer_id", "created_at"}, expr: []bool{false, false}, desc: []bool{false, true}, include: []string{"total", "status"}, method: "btree"},
		{name: "orders_pending", columns: []string{"created_at"}, expr: []bool{false}, desc: []bool{false}, predicate: "status = 'pending'::text", method: "btree"},
		{name: "orders_status_pattern", columns: []string{"status"}, expr: []bool{false}, desc: []bool{false}, opclasses: []string{"text_pattern_ops"}, method: "btree"},
		{name: "order_lines_pkey", columns: []string{"order_id", "line"}, expr: []bool{false, false}, desc: []bool{false, false}, constraint: "order_lines_pkey", method: "btree", unique: true, primary: true},
		{name: "Mixed Case_order_idx", columns: []string{"order", "Id"}, expr: []bool{false, false}, desc: []bool{true, false}, method: "btree"},
		{name: "events_at", columns: []string{"at"}, expr: []bool{false}, desc: []bool{false}, method: "btree"},
	}
	for _, c := range cases {
		ix := findIndex(snap, c.name)
		if ix == nil {
			t.Errorf("index %s missing", c.name)
			continue
		}
		if !slices.Equal(ix.Columns, c.columns) || !slices.Equal(ix.Expressions, c.expr) || !slices.Equal(ix.Descending, c.desc) ||
			!slices.Equal(ix.Opclasses, c.opclasses) || !slices.Equal(ix.Include, c.include) || ix.Predicate != c.predicate ||
			ix.Constraint != c.constraint || ix.Method != c.method || ix.Unique != c.unique || ix.Primary != c.primary ||
			!ix.Valid || !ix.Ready || !strings.HasPrefix(ix.Definition, "CREATE ") {
			t.Errorf("index %s = %+v", c.name, *ix)
		}
		if ix.Method != "btree" || (ix.SizeBytes == 0 && c.name != "events_at") {
			t.Errorf("index %s size %d", c.name, ix.SizeBytes)
		}
	}
	if ix := findIndex(snap, "Mixed Case_order_idx"); ix != nil && (ix.Schema != "public" || ix.Table != "Mixed Case") {
		t.Errorf("Mixed Case index table = %s.%s", ix.Schema, ix.Table)
	}

	fks := map[string]ForeignKey{}
	for _, fk := range snap.ForeignKeys {
		fks[fk.Name] = fk
	}
	if len(fks) != 3 {
		t.Errorf("foreign keys = %+v", snap.ForeignKeys)
	}
	if fk := fks["shipments_line_fk"]; fk.Schema != "shop" || fk.Table != "shipments" || !slices.Equal(fk.Columns, []string{"line", "order_id"}) ||
		fk.RefSchema != "shop" || fk.RefTable != "order_lines" || !slices.Equal(fk.RefColumns, []string{"line", "order_id"}) {
		t.Errorf("shipments_line_fk = %+v", fk)
	}
	if fk := fks["orders_customer_id_fkey"]; fk.RefTable != "customers" || !slices.Equal(fk.Columns, []string{"customer_id"}) || !slices.Equal(fk.RefColumns, []string{"id"}) {
		t.Errorf("orders_customer_id_fkey = %+v", fk)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	dsn, admin := setup(t)
	mustExec(t, admin, "SELECT * FROM shop.orders WHERE status = 'pending' ORDER BY created_at LIMIT 5")
	// An idle-in-transaction session makes the activity sample carry times.
	mustExec(t, admin, "BEGIN")
	mustExec(t, admin, "SELECT 1")
	snap := collect(t, connect(t, dsn, ConnectOptions{}), CollectOptions{})
	mustExec(t, admin, "ROLLBACK")
	if len(snap.Statements) == 0 || len(snap.Tables) == 0 || len(snap.Indexes) == 0 || len(snap.ForeignKeys) == 0 || len(snap.Activity) != 1 {
		t.Fatalf("snapshot incomplete: %d statements, %d tables, %d indexes, %d fks, %d samples",
			len(snap.Statements), len(snap.Tables), len(snap.Indexes), len(snap.ForeignKeys), len(snap.Activity))
	}
	var buf bytes.Buffer
	if err := snap.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\n  \"kind\": \"pgadvisor-snapshot\"") {
		t.Errorf("not indented JSON: %.200s", buf.String())
	}
	back, err := Read(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(snap, back) {
		var again bytes.Buffer
		_ = back.Write(&again)
		a, b := strings.Split(buf.String(), "\n"), strings.Split(again.String(), "\n")
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("round trip differs at line %d:\n%s\n%s", i+1, a[i], b[i])
			}
		}
		t.Fatal("round trip is not lossless (the JSON is the same: check nil vs empty and time locations)")
	}
}

func TestCollectWithoutExtension(t *testing.T) {
	dsn, admin := setup(t)
	mustExec(t, admin, "DROP EXTENSION pg_stat_statements")
	snap := collect(t, connect(t, dsn, ConnectOptions{}), CollectOptions{})
	if snap.StatStatements != nil || len(snap.Statements) != 0 {
		t.Errorf("statements collected without the extension: %+v", snap.StatStatements)
	}
	if !hasProblem(snap, PhaseStatements, "CREATE EXTENSION pg_stat_statements") {
		t.Errorf("problems = %+v", snap.Problems)
	}
	if findTable(snap, "shop", "orders") == nil || findIndex(snap, "orders_pending") == nil || len(snap.ForeignKeys) != 3 {
		t.Error("catalog not collected after the statements problem")
	}
}

// withUser returns dsn connecting as user (keyword/value or URL form).
func withUser(t *testing.T, dsn, user string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.User(user)
		return u.String()
	}
	return dsn + " user=" + user
}

func TestCollectWithoutPrivileges(t *testing.T) {
	dsn, admin := setup(t)
	mustExec(t, admin, "SELECT count(*) FROM shop.orders WHERE customer_id = 7")
	role := fmt.Sprintf("pgadvisor_nopriv_%d", os.Getpid())
	mustExec(t, admin, "DROP ROLE IF EXISTS "+role)
	mustExec(t, admin, "CREATE ROLE "+role+" LOGIN")
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), pgtest.AdminDSN(t))
		if err == nil {
			_, _ = conn.Exec(context.Background(), "DROP OWNED BY "+role)
			_, _ = conn.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
			conn.Close(context.Background())
		}
	})
	conn := connect(t, withUser(t, dsn, role), ConnectOptions{})
	snap := collect(t, conn, CollectOptions{})
	if snap.Server.CurrentUser != role {
		t.Fatalf("connected as %q", snap.Server.CurrentUser)
	}
	if !hasProblem(snap, PhaseStatements, "GRANT pg_read_all_stats TO "+role) {
		t.Errorf("no GRANT problem: %+v", snap.Problems)
	}
	if snap.StatStatements == nil || snap.StatStatements.HiddenRows == 0 {
		t.Errorf("hidden rows not counted: %+v", snap.StatStatements)
	}
	for _, st := range snap.Statements {
		if st.Query == insufficientPrivilege || st.User != role {
			t.Errorf("statement of another user collected: %+v", st)
		}
	}
	if len(snap.Problems) != 1 {
		t.Errorf("problems beyond the GRANT one: %+v", snap.Problems)
	}
	orders := findTable(snap, "shop", "orders")
	if orders == nil || len(orders.Columns) != 5 || orders.Rows != 2000 || findIndex(snap, "orders_customer_created") == nil || len(snap.ForeignKeys) != 3 {
		t.Fatalf("catalog lost without privileges: %+v", orders)
	}
	if orders.Columns[2].NullFrac != nil {
		t.Errorf("pg_stats visible without SELECT on the table: %+v", orders.Columns[2])
	}
}

func TestCollectTimeouts(t *testing.T) {
	dsn, admin := setup(t)
	locker := dial(t, dsn)
	mustExec(t, locker, "BEGIN")
	mustExec(t, locker, "LOCK TABLE shop.order_lines IN ACCESS EXCLUSIVE MODE")
	defer mustExec(t, locker, "ROLLBACK")
	_ = admin

	for _, c := range []struct {
		name string
		opts ConnectOptions
		fix  string
	}{
		{"statement timeout", ConnectOptions{StatementTimeout: 300 * time.Millisecond, LockTimeout: -1}, "--statement-timeout"},
		{"lock timeout", ConnectOptions{LockTimeout: 100 * time.Millisecond}, "--lock-timeout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			snap, err := Collect(context.Background(), connect(t, dsn, c.opts), CollectOptions{})
			if err != nil {
				t.Fatalf("Collect: %v", err)
			}
			if !hasProblem(snap, PhaseSizes, c.fix) || !hasProblem(snap, PhaseIndexes, c.fix) || len(snap.Problems) != 2 {
				t.Errorf("problems = %+v", snap.Problems)
			}
			for _, p := range snap.Problems {
				if !strings.Contains(p.Message, "order_lines") || strings.Contains(p.Message, "shop.orders") {
					t.Errorf("problem does not name just the locked table's relations: %+v", p)
				}
			}
			if lines := findTable(snap, "shop", "order_lines"); lines == nil || lines.SizeBytes != 0 || len(lines.Columns) != 3 {
				t.Errorf("order_lines = %+v", lines)
			}
			if orders := findTable(snap, "shop", "orders"); orders == nil || orders.SizeBytes == 0 {
				t.Errorf("sizes of unlocked tables not read: %+v", orders)
			}
			if pk := findIndex(snap, "order_lines_pkey"); pk == nil || pk.Definition != "" || !slices.Equal(pk.Columns, []string{"order_id", "line"}) {
				t.Errorf("order_lines_pkey = %+v", pk)
			}
			if ix := findIndex(snap, "customers_lower_email"); ix == nil || ix.Definition == "" || ix.Columns[0] != "lower(email)" {
				t.Errorf("definitions of unlocked tables not read: %+v", ix)
			}
			if findTable(snap, "shop", "order_lines") == nil || findIndex(snap, "order_lines_pkey") == nil || len(snap.Activity) != 1 {
				t.Errorf("the rest was not collected after the timeout: %+v", snap.Problems)
			}
			// The locker is seen holding its transaction open.
			found := false
			for _, s := range snap.Activity[0].Sessions {
				found = found || s.PID == int(locker.PgConn().PID())
			}
			if !found {
				t.Error("locking session not in the activity sample")
			}
		})
	}
}

func TestCollectActivity(t *testing.T) {
	dsn, _ := setup(t)
	ctx := context.Background()
	idle := dial(t, dsn)
	mustExec(t, idle, "BEGIN")
	mustExec(t, idle, "LOCK TABLE shop.customers IN SHARE MODE")
	defer mustExec(t, idle, "ROLLBACK")

	// A session waiting for the idle one's lock.
	waiter := dial(t, dsn)
	waitDone := make(chan error, 1)
	go func() {
		_, err := waiter.Exec(ctx, "UPDATE shop.customers SET name = name WHERE id = 1")
		waitDone <- err
	}()
	admin := dial(t, dsn)
	for waiting := false; !waiting; {
		if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock')", waiter.PgConn().PID()).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
	}

	conn := connect(t, dsn, ConnectOptions{})
	snap := collect(t, conn, CollectOptions{SampleWindow: 250 * time.Millisecond, SampleInterval: 100 * time.Millisecond})
	if len(snap.Activity) < 2 {
		t.Fatalf("%d samples, want several", len(snap.Activity))
	}
	var sawIdle, sawWaiter bool
	for _, s := range snap.Activity[0].Sessions {
		if s.PID == int(conn.PgConn().PID()) || s.ApplicationName == ApplicationName {
			t.Errorf("pgadvisor's own session sampled: %+v", s)
		}
		switch s.PID {
		case int(idle.PgConn().PID()):
			sawIdle = s.State == "idle in transaction" && s.XactStart != nil && strings.Contains(s.Query, "LOCK TABLE") && s.BackendType == "client backend"
		case int(waiter.PgConn().PID()):
			sawWaiter = s.WaitEventType == "Lock" && slices.Equal(s.BlockedBy, []int{int(idle.PgConn().PID())}) && s.State == "active" && s.LockRelation == "shop.customers"
		}
	}
	if !sawIdle || !sawWaiter {
		t.Errorf("idle in transaction seen: %v, lock waiter with blocked_by seen: %v; sessions %+v", sawIdle, sawWaiter, snap.Activity[0].Sessions)
	}
	mustExec(t, idle, "ROLLBACK")
	if err := <-waitDone; err != nil {
		t.Error(err)
	}
	mustExec(t, idle, "BEGIN") // for the deferred ROLLBACK
}

func TestCollectCancelledWhileSampling(t *testing.T) {
	dsn, _ := setup(t)
	conn := connect(t, dsn, ConnectOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	snap, err := Collect(ctx, conn, CollectOptions{SampleWindow: time.Minute, SampleInterval: 50 * time.Millisecond, afterSample: cancel})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if snap == nil || len(snap.Activity) != 1 || findTable(snap, "shop", "orders") == nil || len(snap.Statements) == 0 {
		t.Fatalf("partial snapshot not returned: %+v", snap)
	}
	if snap.Waits == nil || snap.Waits.Ticks != 1 {
		t.Errorf("the wait profile sampled before the cancel is not kept: %+v", snap.Waits)
	}
	if !slices.ContainsFunc(snap.Problems, func(p Problem) bool { return p.Phase == PhaseActivity && p.Message == "interrupted" }) {
		t.Errorf("problems = %+v", snap.Problems)
	}
}

func TestCollectNothingReadable(t *testing.T) {
	dsn, _ := setup(t)
	conn := connect(t, dsn, ConnectOptions{})
	conn.Close(context.Background())
	snap, err := Collect(context.Background(), conn, CollectOptions{})
	if err == nil {
		t.Fatal("Collect on a closed connection succeeded")
	}
	if snap == nil || len(snap.Problems) == 0 {
		t.Fatalf("snapshot = %+v", snap)
	}
	if msg, fix := Describe(err); !strings.Contains(msg, "lost") || fix == "" {
		t.Errorf("Describe = %q, %q", msg, fix)
	}
}

func TestConnectDatabaseURL(t *testing.T) {
	dsn := pgtest.DB(t)
	t.Setenv("DATABASE_URL", dsn)
	conn := connect(t, "", ConnectOptions{StatementTimeout: 1234 * time.Millisecond, LockTimeout: -1})
	var app, st, lt, idle, db string
	if err := conn.QueryRow(context.Background(), Marker+" SELECT current_setting('application_name'), current_setting('statement_timeout'), current_setting('lock_timeout'), current_setting('idle_in_transaction_session_timeout'), current_database()").
		Scan(&app, &st, &lt, &idle, &db); err != nil {
		t.Fatal(err)
	}
	cfg, _ := pgx.ParseConfig(dsn)
	if app != ApplicationName || st != "1234ms" || lt != "0" || idle != "1min" || db != cfg.Database {
		t.Errorf("session: application_name=%s statement_timeout=%s lock_timeout=%s idle=%s db=%s", app, st, lt, idle, db)
	}
}

// sqlRecorder is a pgx tracer that records every statement sent.
type sqlRecorder struct{ sql []string }

func (r *sqlRecorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	r.sql = append(r.sql, data.SQL)
	return ctx
}

func (r *sqlRecorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func TestEveryStatementIsMarked(t *testing.T) {
	dsn, admin := setup(t)
	locker := dial(t, dsn) // a locked table makes Collect take its fallback paths too
	mustExec(t, locker, "BEGIN")
	mustExec(t, locker, "LOCK TABLE shop.order_lines IN ACCESS EXCLUSIVE MODE")
	defer mustExec(t, locker, "ROLLBACK")
	_ = admin
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["lock_timeout"] = "50"
	rec := &sqlRecorder{}
	cfg.Tracer = rec
	conn, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	collect(t, conn, CollectOptions{SampleWindow: 100 * time.Millisecond, SampleInterval: 50 * time.Millisecond})
	if len(rec.sql) < 10 {
		t.Fatalf("only %d statements recorded", len(rec.sql))
	}
	for _, sql := range rec.sql {
		if !strings.HasPrefix(sql, Marker+" ") {
			t.Errorf("statement without the marker: %.80q", sql)
		}
	}
}
