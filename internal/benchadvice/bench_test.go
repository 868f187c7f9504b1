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

// TestRunShopTiny runs the whole benchmark once on the shop at a tiny scale
// (where pgadvisor proposes no index: its tables are too small) and checks
// the arms, the printed table and that the benchmark's databases are gone.
func TestRunShopTiny(t *testing.T) {
	admin := pgtest.AdminDSN(t)
	requireHypoPG(t, admin)
	fr, res := runOnce(t, admin, "shop", Options{Scale: 0.02, Requests: map[string]int{"shop": 60}, AuditRequests: 150})
	var out strings.Builder
	if err := Print(&out, res, PrintOptions{Statements: 3}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"== shop (scale 0.02)", "baseline", "pgadvisor", "expert", "time: pgadvisor", "size: pgadvisor"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if fr.TimePass != (fr.Arms[1].MedianServerMS <= fr.Arms[2].MedianServerMS) {
		t.Errorf("time verdict %v does not follow the medians (no tolerance)", fr.TimePass)
	}
	checkNoBenchDatabases(t, admin)
}

// TestRunRental runs the whole benchmark once on the rental fixture, where
// pgadvisor's set is the online recipe for partitioned indexes: its new
// partitioned indexes are counted once with their partitions' sizes, and
// the partition indexes it attaches (which were there) are not counted.
func TestRunRental(t *testing.T) {
	admin := pgtest.AdminDSN(t)
	requireHypoPG(t, admin)
	fr, _ := runOnce(t, admin, "rental", Options{})
	pg := fr.arm(ArmPgadvisor)
	attach := false
	for _, sql := range pg.SQL {
		attach = attach || strings.Contains(sql, "ATTACH PARTITION")
	}
	if !attach {
		t.Errorf("pgadvisor's rental set has no ATTACH PARTITION (the online recipe): %q", pg.SQL)
	}
	partitions := 0
	for _, ix := range pg.Indexes {
		partitions += ix.Partitions
	}
	// payment (rental_id) is built in 4 partitions, processor_ref in April only.
	if partitions != 5 {
		t.Errorf("pgadvisor's partitioned indexes hold %d new partition indexes, want 5: %+v", partitions, pg.Indexes)
	}
	if fr.arm(ArmBaseline).MedianServerMS <= pg.MedianServerMS {
		t.Errorf("pgadvisor's rental indexes did not cut the time: baseline %v, pgadvisor %v", fr.arm(ArmBaseline).ServerMS, pg.ServerMS)
	}
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
// empty schema (the runs above build two of them on data): every statement
// runs and every CREATE INDEX leaves a valid index.
func TestExpertSQLBuilds(t *testing.T) {
	for _, f := range Fixtures() {
		t.Run(f.Name, func(t *testing.T) {
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
