package benchadvice

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// requireHypoPG skips (fails under CI=true) when the server cannot create
// hypopg: without it pgadvisor's audit proposes no index to measure.
func requireHypoPG(t *testing.T, admin string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg')").Scan(&ok); err != nil {
		t.Fatal(err)
	}
	if !ok {
		pgtest.Unavailable(t, "hypopg is not installed (make deps)")
	}
}

// expertIndexCount is the number of CREATE INDEX statements of a fixture's EXPERT.sql.
func expertIndexCount(t *testing.T, f Fixture) int {
	t.Helper()
	stmts, err := splitSQL(f.ExpertSQL)
	if err != nil {
		t.Fatalf("%s EXPERT.sql: %v", f.Name, err)
	}
	n := 0
	for _, s := range stmts {
		if strings.HasPrefix(strings.ToUpper(stripComments(s)), "CREATE INDEX") {
			n++
		}
	}
	if n == 0 {
		t.Fatalf("%s EXPERT.sql creates no index", f.Name)
	}
	return n
}

// TestRunShopSmall runs the whole benchmark once on the shop at scale 0.1,
// where the audit proposes a few indexes (at the tests' usual 0.02 the
// tables are too small for any): the arms, pgadvisor's set built with
// CREATE INDEX CONCURRENTLY, the printed table, and the benchmark's
// databases gone afterwards.
func TestRunShopSmall(t *testing.T) {
	admin := pgtest.AdminDSN(t)
	requireHypoPG(t, admin)
	fr, res := runOnce(t, admin, "shop", Options{Scale: 0.1, Requests: map[string]int{"shop": 60}, AuditRequests: 150})
	pg := fr.arm(ArmPgadvisor)
	if len(pg.SQL) == 0 || len(pg.Indexes) == 0 || len(fr.PgadvisorFixes) == 0 {
		t.Errorf("pgadvisor's arm has no index: SQL %q, indexes %+v, fixes %+v", pg.SQL, pg.Indexes, fr.PgadvisorFixes)
	}
	for _, fix := range fr.PgadvisorFixes {
		if len(fix.Rules) == 0 || len(fix.SQL) == 0 {
			t.Errorf("fix without rules or SQL: %+v", fix)
		}
	}
	var out strings.Builder
	if err := Print(&out, res, PrintOptions{Statements: 3}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"== shop (scale 0.1)", "baseline", "pgadvisor", "expert", "time: pgadvisor", "size: pgadvisor", "buffers"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if fr.TimePass != (pg.MedianServerMS <= fr.arm(ArmExpert).MedianServerMS) {
		t.Errorf("time verdict %v does not follow the medians (no tolerance)", fr.TimePass)
	}
	checkNoBenchDatabases(t, admin)
}

// TestBuildArmPartitioned builds the online recipe pgadvisor prints for a
// partitioned index (issue 9) on the rental's empty schema, where three of
// the four partitions already have their processor_ref index: the new
// partitioned index counts once, with only the partition index that was
// built (the three attached ones were there before).
func TestBuildArmPartitioned(t *testing.T) {
	ctx := context.Background()
	f, _ := fixtureByName("rental")
	dsn, before := schemaDB(t, f)
	arm := &Arm{Name: ArmPgadvisor, SQL: []string{
		"CREATE INDEX IF NOT EXISTS payment_processor_ref_idx ON ONLY rental.payment USING btree (processor_ref)",
		"ALTER INDEX rental.payment_processor_ref_idx ATTACH PARTITION rental.payment_p2026_01_processor_ref_idx",
		"ALTER INDEX rental.payment_processor_ref_idx ATTACH PARTITION rental.payment_p2026_02_processor_ref_idx",
		"ALTER INDEX rental.payment_processor_ref_idx ATTACH PARTITION rental.payment_p2026_03_processor_ref_idx",
		"CREATE INDEX CONCURRENTLY IF NOT EXISTS payment_p2026_04_processor_ref_idx ON rental.payment_p2026_04 USING btree (processor_ref)",
		"ALTER INDEX rental.payment_processor_ref_idx ATTACH PARTITION rental.payment_p2026_04_processor_ref_idx",
	}}
	if err := buildArm(ctx, dsn, arm, before); err != nil {
		t.Fatal(err)
	}
	if len(arm.Indexes) != 1 || arm.Indexes[0].Name != "rental.payment_processor_ref_idx" || arm.Indexes[0].Partitions != 1 {
		t.Fatalf("want one new partitioned index with one new partition index, got %+v", arm.Indexes)
	}
	var april int64
	if err := pgxQueryRow(ctx, dsn, "SELECT pg_relation_size('rental.payment_p2026_04_processor_ref_idx')", &april); err != nil {
		t.Fatal(err)
	}
	if arm.SizeBytes != april || april <= 0 {
		t.Errorf("size %d, want April's index only (%d)", arm.SizeBytes, april)
	}
}

func pgxQueryRow(ctx context.Context, dsn, sql string, dest ...any) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, sql).Scan(dest...)
}

// runOnce runs one round of the benchmark on one fixture and checks what
// holds for every fixture: three arms, each with one positive time, sizes
// that add up, no index in the baseline, every expert index built, and the
// same statements run in every arm.
func runOnce(t *testing.T, admin, fixture string, opts Options) (FixtureResult, *Result) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts.AdminDSN, opts.Fixtures, opts.Rounds = admin, []string{fixture}, 1
	opts.Progress = func(format string, args ...any) { t.Logf(format, args...) }
	res, err := Run(ctx, opts)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(res.Fixtures) != 1 || res.Fixtures[0].Fixture != fixture {
		t.Fatalf("want one %s result, got %+v", fixture, res.Fixtures)
	}
	fr := res.Fixtures[0]
	if len(fr.Arms) != 3 {
		t.Fatalf("want 3 arms, got %d", len(fr.Arms))
	}
	f, _ := fixtureByName(fixture)
	var calls []float64
	for _, a := range fr.Arms {
		if len(a.ServerMS) != 1 || a.ServerMS[0] <= 0 || a.MedianServerMS != a.ServerMS[0] {
			t.Errorf("%s: server times %v, median %v: want one positive time", a.Name, a.ServerMS, a.MedianServerMS)
		}
		if len(a.Buffers) != 1 || a.Buffers[0] <= 0 || a.MedianBuffers != a.Buffers[0] {
			t.Errorf("%s: buffers %v, median %v: want one positive count", a.Name, a.Buffers, a.MedianBuffers)
		}
		if len(a.WallMS) != 1 || a.WallMS[0] < a.ServerMS[0]/2 {
			t.Errorf("%s: wall times %v against server %v", a.Name, a.WallMS, a.ServerMS)
		}
		var n float64
		for _, st := range a.Statements {
			n += st.Calls
		}
		calls = append(calls, n)
		var sum int64
		for _, ix := range a.Indexes {
			if ix.SizeBytes <= 0 || !strings.HasPrefix(ix.Definition, "CREATE") {
				t.Errorf("%s: index %+v without a size or definition", a.Name, ix)
			}
			sum += ix.SizeBytes
		}
		if sum != a.SizeBytes {
			t.Errorf("%s: size %d is not the sum of its indexes' %d", a.Name, a.SizeBytes, sum)
		}
		switch a.Name {
		case ArmBaseline:
			if len(a.Indexes) != 0 || a.SizeBytes != 0 || len(a.SQL) != 0 {
				t.Errorf("baseline arm added indexes: %+v", a)
			}
		case ArmExpert:
			if want := expertIndexCount(t, f); len(a.Indexes) != want {
				t.Errorf("expert arm built %d indexes, EXPERT.sql has %d: %+v", len(a.Indexes), want, a.Indexes)
			}
		}
	}
	// One client, fixed seed: every arm runs the same statements.
	if calls[0] == 0 || calls[0] != calls[1] || calls[1] != calls[2] {
		t.Errorf("the arms ran different workloads: calls %v", calls)
	}
	return fr, res
}

// TestExpertSQLBuilds builds every fixture's expert set on the fixture's
// empty schema (TestRunShopSmall builds the shop's on data): every statement
// runs and every CREATE INDEX leaves a valid index.
func TestExpertSQLBuilds(t *testing.T) {
	for _, f := range Fixtures() {
		t.Run(f.Name, func(t *testing.T) {
			ctx := context.Background()
			dsn, before := schemaDB(t, f)
			stmts, err := splitSQL(f.ExpertSQL)
			if err != nil {
				t.Fatal(err)
			}
			arm := &Arm{Name: ArmExpert, SQL: stmts}
			if err := buildArm(ctx, dsn, arm, before); err != nil {
				t.Fatal(err)
			}
			if want := expertIndexCount(t, f); len(arm.Indexes) != want {
				t.Errorf("built %d indexes, EXPERT.sql has %d: %+v", len(arm.Indexes), want, arm.Indexes)
			}
			for _, ix := range arm.Indexes {
				// The rental's payment (rental_id) is one index over four partitions.
				if ix.Name == "rental.payment_rental_id_idx" && ix.Partitions != 4 {
					t.Errorf("%s counts %d partition indexes, want 4", ix.Name, ix.Partitions)
				}
			}
		})
	}
}

// TestBuildsIndex: which fix statements are part of building an index.
func TestBuildsIndex(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want bool
	}{
		{"CREATE INDEX CONCURRENTLY IF NOT EXISTS x ON shop.orders (customer_id)", true},
		{"-- the online recipe\ncreate unique index on t (a)", true},
		{"CREATE EXTENSION IF NOT EXISTS pg_trgm", true},
		{"ALTER INDEX rental.payment_processor_ref_idx ATTACH PARTITION rental.payment_p2026_01_processor_ref_idx", true},
		{"ALTER INDEX x RENAME TO y", false},
		{"DROP INDEX CONCURRENTLY IF EXISTS shop.orders_payment_method_idx", false},
		{"ALTER ROLE postgres SET work_mem = '16MB'", false},
		{"CREATE STATISTICS s (dependencies) ON a, b FROM t", false},
		{"ANALYZE blog.page_views", false},
	} {
		if got := buildsIndex(tc.sql); got != tc.want {
			t.Errorf("buildsIndex(%q) = %v, want %v", tc.sql, got, tc.want)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func checkNoBenchDatabases(t *testing.T, admin string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname LIKE 'bench\\_%'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d bench_ databases left behind", n)
	}
}

// schemaDB creates a database of the throwaway cluster holding the
// fixture's schema (no data) and returns its DSN and the indexes it has.
func schemaDB(t *testing.T, f Fixture) (string, map[string]bool) {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.DB(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, f.Schema)
	conn.Close(ctx)
	if err != nil {
		t.Fatalf("schema: %v", err)
	}
	before, err := indexNames(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	return dsn, before
}
