// Package benchadvice is the advice benchmark (issue 10): on each planted
// fixture it measures the workload's time with no new index (baseline), with
// the index set pgadvisor's audit tells the user to run ("What to run"), and
// with the set an expert wrote by hand (fixtures/<name>/EXPERT.sql), in one
// run, the arms alternating round by round so that the machine's noise falls
// on all of them alike.
//
// It runs on a server the caller owns (a throwaway cluster: cmd/bench-advice
// starts one) and creates and drops its own databases there; it resets
// pg_stat_statements of the whole server before each measured run. It must
// never be pointed at a server that matters. It prints nothing: Print writes
// a Result.
package benchadvice

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/cluster"
)

// Arm names.
const (
	ArmBaseline  = "baseline"
	ArmPgadvisor = "pgadvisor"
	ArmExpert    = "expert"
)

// armNames are the arms.
var armNames = []string{ArmBaseline, ArmPgadvisor, ArmExpert}

// armOrders are the orders the rounds run the arms in (indexes of
// armNames), cycled: the six permutations, so that over six rounds every
// arm runs first twice and right after each other arm twice. The arm that
// follows the baseline starts with the caches its scans left (shared
// buffers are shared by the three databases); a plain rotation (A B C,
// B C A, C A B) puts the same arm after the baseline two rounds in three.
var armOrders = [][]int{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}, {0, 2, 1}, {2, 1, 0}, {1, 0, 2}}

// Options configure Run.
type Options struct {
	// AdminDSN is a superuser connection to the (throwaway) server.
	AdminDSN string
	// Fixtures to run, by name (nil: all three).
	Fixtures []string
	// Scale is the shop's scale (1: about a million rows); blog and rental
	// have one size.
	Scale float64
	// Rounds is the number of measured rounds (each runs every arm once;
	// 0: 6, every order of the three arms once); Warmup rounds run first
	// and are not counted.
	Rounds int
	Warmup int
	// Requests overrides a fixture's measured run size, by fixture name.
	Requests map[string]int
	// Tolerance is how much pgadvisor's median time may exceed the
	// expert's and still pass, as a fraction of the baseline's median
	// (0.01: one point of the cut; 0: the plain comparison).
	Tolerance float64
	// AuditRequests, when positive, shrinks the audited workload (requests
	// per client for shop and blog); 0 runs the acceptance tests' workload.
	AuditRequests int
	// Progress, when set, is told what the benchmark is doing.
	Progress func(format string, args ...any)
}

// Result is one benchmark run.
type Result struct {
	StartedAt time.Time       `json:"started_at"`
	Server    string          `json:"server"`
	Fixtures  []FixtureResult `json:"fixtures"`
	Seconds   float64         `json:"seconds"` // wall-clock time of the run
}

// FixtureResult is one fixture's three arms.
type FixtureResult struct {
	Fixture string  `json:"fixture"`
	Scale   float64 `json:"scale,omitempty"` // shop only
	// Requests is the size of one measured run (rental: passes of its workload).
	Requests int   `json:"requests"`
	Rounds   int   `json:"rounds"`
	Warmup   int   `json:"warmup"`
	Arms     []Arm `json:"arms"`
	// NotApplied are statements of pgadvisor's "What to run" fixes that
	// create no index (DROP INDEX, settings, statistics): not part of the
	// compared index sets.
	NotApplied []string `json:"not_applied,omitempty"`
	// PgadvisorFixes are the fixes of pgadvisor's report whose index
	// statements make its arm, with the rules that proposed them.
	PgadvisorFixes []AdvisorFix `json:"pgadvisor_fixes,omitempty"`
	// TimeRatio is pgadvisor's median time over the expert's; RoundRatios
	// the same ratio round by round (the two arms of one round ran minutes
	// apart at most, under the same load).
	TimeRatio   float64   `json:"time_ratio"`
	RoundRatios []float64 `json:"round_ratios"`
	// Tolerance is how much pgadvisor's median may exceed the expert's and
	// still pass, as a fraction of the baseline's median time (one point of
	// the cut at 0.01): on a busy machine the medians of two identical sets
	// differ by tens of milliseconds, which a comparison of the remaining
	// times alone would call a loss.
	Tolerance float64 `json:"tolerance"`
	// TimePass: pgadvisor's median ≤ the expert's + Tolerance × the baseline's;
	// SizePass: its new indexes' total size ≤ the expert's (sizes are exact).
	TimePass bool `json:"time_pass"`
	SizePass bool `json:"size_pass"`
}

// AdvisorFix is one fix of pgadvisor's "What to run" that builds indexes.
type AdvisorFix struct {
	Label   string   `json:"label"`
	Rules   []string `json:"rules"`
	Summary string   `json:"summary"`
	// SQL are the fix's statements that build the index (run in the arm).
	SQL []string `json:"sql"`
	// EstimatedBytes is the size pgadvisor's report estimates for the index.
	EstimatedBytes int64 `json:"estimated_bytes,omitempty"`
}

// Arm is one index set and what the workload took with it.
type Arm struct {
	Name string `json:"name"`
	// SQL is what was run to build the set.
	SQL []string `json:"sql,omitempty"`
	// Indexes are the indexes the set added (a partitioned index once, its
	// partitions' indexes counted in its size).
	Indexes   []Index `json:"indexes,omitempty"`
	SizeBytes int64   `json:"size_bytes"`
	// ServerMS is the workload's server time of each measured round,
	// milliseconds: pg_stat_statements total_exec_time + total_plan_time of
	// the top-level statements in the arm's database.
	ServerMS []float64 `json:"server_ms"`
	// WallMS is the client's wall-clock time of each measured round, milliseconds.
	WallMS []float64 `json:"wall_ms"`
	// Buffers is the shared, local and temp blocks the workload's
	// statements touched in each measured round (hit, read, dirtied,
	// written): a count of work that the machine's load does not inflate.
	Buffers []float64 `json:"buffers"`
	// MedianServerMS, MedianWallMS and MedianBuffers are their medians.
	MedianServerMS float64 `json:"median_server_ms"`
	MedianWallMS   float64 `json:"median_wall_ms"`
	MedianBuffers  float64 `json:"median_buffers"`
	// CutPct is the cut of MedianServerMS against the baseline's, percent.
	CutPct float64 `json:"cut_pct"`
	// Statements is the mean server time per statement over the measured
	// rounds, heaviest first, milliseconds.
	Statements []StatementTime `json:"statements,omitempty"`
}

// Index is one index an arm added.
type Index struct {
	Name       string `json:"name"`
	Definition string `json:"definition"`
	SizeBytes  int64  `json:"size_bytes"`
	// Partitions counts the partition indexes built under a partitioned index.
	Partitions int `json:"partitions,omitempty"`
}

// StatementTime is one statement's mean time per measured run.
type StatementTime struct {
	Query string  `json:"query"`
	Calls float64 `json:"calls"`
	MS    float64 `json:"ms"`
}

// Run runs the benchmark on the server of opts.AdminDSN.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Rounds <= 0 {
		opts.Rounds = len(armOrders)
	}
	if opts.Warmup < 0 {
		opts.Warmup = 0
	}
	if opts.Tolerance < 0 {
		opts.Tolerance = 0
	}
	if opts.Scale <= 0 {
		opts.Scale = 1
	}
	names := opts.Fixtures
	if len(names) == 0 {
		for _, f := range Fixtures() {
			names = append(names, f.Name)
		}
	}
	var fixtures []Fixture
	for _, n := range names {
		f, err := fixtureByName(n)
		if err != nil {
			return nil, err
		}
		fixtures = append(fixtures, f)
	}
	res := &Result{StartedAt: time.Now().UTC().Truncate(time.Second)}
	admin, err := pgx.Connect(ctx, opts.AdminDSN)
	if err != nil {
		return nil, fmt.Errorf("connect to the benchmark server: %w", err)
	}
	defer admin.Close(context.Background())
	if err := admin.QueryRow(ctx, "SELECT current_setting('server_version')").Scan(&res.Server); err != nil {
		return nil, fmt.Errorf("read server version: %w", err)
	}
	// The measurements read pg_stat_statements from the admin database.
	if _, err := admin.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		return nil, fmt.Errorf("create extension pg_stat_statements in the admin database: %w", err)
	}
	for _, f := range fixtures {
		fr, err := runFixture(ctx, admin, f, opts)
		if err != nil {
			return res, fmt.Errorf("%s: %w", f.Name, err)
		}
		res.Fixtures = append(res.Fixtures, *fr)
	}
	res.Seconds = time.Since(res.StartedAt).Seconds()
	return res, nil
}

func (opts Options) progress(format string, args ...any) {
	if opts.Progress != nil {
		opts.Progress(format, args...)
	}
}

// dbName is the name of the benchmark's database of a fixture and arm.
func dbName(fixture, arm string) string { return "bench_" + fixture + "_" + arm }

// runFixture loads the fixture once, copies it into one database per arm,
// audits the original with pgadvisor, builds each arm's index set in its
// copy and measures the arms round by round.
func runFixture(ctx context.Context, admin *pgx.Conn, f Fixture, opts Options) (_ *FixtureResult, err error) {
	fr := &FixtureResult{Fixture: f.Name, Rounds: opts.Rounds, Warmup: opts.Warmup, Requests: f.DefaultRequests, Tolerance: opts.Tolerance}
	if n := opts.Requests[f.Name]; n > 0 {
		fr.Requests = n
	}
	if f.Scaled {
		fr.Scale = opts.Scale
	}
	base := dbName(f.Name, "audited")
	var created []string
	defer func() {
		// The databases go whatever happened; a cancelled ctx must not keep them.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		for _, db := range created {
			cluster.DropDatabase(dctx, opts.AdminDSN, db)
		}
	}()

	start := time.Now()
	baseDSN, err := cluster.CreateDatabase(ctx, opts.AdminDSN, base)
	if err != nil {
		return nil, err
	}
	created = append(created, base)
	if err := load(ctx, baseDSN, f, opts.Scale); err != nil {
		return nil, err
	}
	opts.progress("%s: loaded in %.1fs", f.Name, time.Since(start).Seconds())

	// One copy per arm, taken before the audited workload writes anything.
	dsns := map[string]string{}
	for _, arm := range armNames {
		db := dbName(f.Name, arm)
		dsn, err := copyDatabase(ctx, admin, opts.AdminDSN, base, db)
		if err != nil {
			return nil, err
		}
		created = append(created, db)
		dsns[arm] = dsn
	}

	if err := cluster.EnableQualstats(ctx, opts.AdminDSN, baseDSN, base); err != nil {
		opts.progress("%s: no pg_qualstats (%v): pgadvisor sees no parameter values", f.Name, err)
	}
	t := time.Now()
	if err := f.AuditWorkload(ctx, baseDSN, opts.AuditRequests); err != nil {
		return nil, fmt.Errorf("audited workload: %w", err)
	}
	opts.progress("%s: audited workload ran in %.1fs", f.Name, time.Since(t).Seconds())
	t = time.Now()
	advice, err := pgadvisorSet(ctx, baseDSN)
	if err != nil {
		return nil, err
	}
	fr.NotApplied = advice.notApplied
	fr.PgadvisorFixes = advice.fixes
	opts.progress("%s: pgadvisor's audit took %.1fs: %d statements to build its index set", f.Name, time.Since(t).Seconds(), len(advice.apply))

	before, err := indexNames(ctx, dsns[ArmBaseline])
	if err != nil {
		return nil, err
	}
	expert, err := splitSQL(f.ExpertSQL)
	if err != nil {
		return nil, fmt.Errorf("EXPERT.sql: %w", err)
	}
	sets := map[string][]string{ArmBaseline: nil, ArmPgadvisor: advice.apply, ArmExpert: expert}
	arms := map[string]*Arm{}
	for _, name := range armNames {
		arm := &Arm{Name: name, SQL: sets[name]}
		if err := buildArm(ctx, dsns[name], arm, before); err != nil {
			return nil, fmt.Errorf("%s arm: %w", name, err)
		}
		arms[name] = arm
	}

	stmtSums := map[string]map[string]StatementTime{}
	for _, name := range armNames {
		stmtSums[name] = map[string]StatementTime{}
	}
	for round := 0; round < opts.Warmup+opts.Rounds; round++ {
		measured := round >= opts.Warmup
		for _, i := range armOrders[round%len(armOrders)] {
			name := armNames[i]
			m, err := measure(ctx, admin, dsns[name], dbName(f.Name, name), f, fr.Requests)
			if err != nil {
				return nil, fmt.Errorf("%s arm, round %d: %w", name, round+1, err)
			}
			if !measured {
				continue
			}
			arm := arms[name]
			arm.ServerMS = append(arm.ServerMS, m.serverMS)
			arm.WallMS = append(arm.WallMS, m.wallMS)
			arm.Buffers = append(arm.Buffers, m.buffers)
			for q, st := range m.statements {
				sum := stmtSums[name][q]
				sum.Query, sum.Calls, sum.MS = q, sum.Calls+st.Calls, sum.MS+st.MS
				stmtSums[name][q] = sum
			}
		}
		if measured {
			opts.progress("%s: round %d/%d: baseline %.0f ms, pgadvisor %.0f ms, expert %.0f ms", f.Name, round-opts.Warmup+1, opts.Rounds,
				last(arms[ArmBaseline].ServerMS), last(arms[ArmPgadvisor].ServerMS), last(arms[ArmExpert].ServerMS))
		} else {
			opts.progress("%s: warm-up round %d done", f.Name, round+1)
		}
	}
	for _, name := range armNames {
		arm := arms[name]
		arm.MedianServerMS = median(arm.ServerMS)
		arm.MedianWallMS = median(arm.WallMS)
		arm.MedianBuffers = median(arm.Buffers)
		for _, st := range stmtSums[name] {
			st.Calls /= float64(opts.Rounds)
			st.MS /= float64(opts.Rounds)
			arm.Statements = append(arm.Statements, st)
		}
		sort.Slice(arm.Statements, func(i, j int) bool { return arm.Statements[i].MS > arm.Statements[j].MS })
	}
	baseline := arms[ArmBaseline].MedianServerMS
	for _, name := range armNames {
		arm := arms[name]
		if baseline > 0 {
			arm.CutPct = 100 * (baseline - arm.MedianServerMS) / baseline
		}
		fr.Arms = append(fr.Arms, *arm)
	}
	pg, ex := arms[ArmPgadvisor], arms[ArmExpert]
	if ex.MedianServerMS > 0 {
		fr.TimeRatio = pg.MedianServerMS / ex.MedianServerMS
	}
	for i := range pg.ServerMS {
		if ex.ServerMS[i] > 0 {
			fr.RoundRatios = append(fr.RoundRatios, pg.ServerMS[i]/ex.ServerMS[i])
		}
	}
	fr.TimePass = pg.MedianServerMS <= ex.MedianServerMS+opts.Tolerance*arms[ArmBaseline].MedianServerMS
	fr.SizePass = arms[ArmPgadvisor].SizeBytes <= arms[ArmExpert].SizeBytes
	return fr, nil
}

func last(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return v[len(v)-1]
}

// median of v (the mean of the two middle values for an even count).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

func load(ctx context.Context, dsn string, f Fixture, scale float64) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connect to load: %w", err)
	}
	defer conn.Close(context.Background())
	if err := f.Load(ctx, conn, scale); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	return nil
}

// copyDatabase creates db as a copy of template (which must have no
// session) and returns its DSN. The copy carries the template's data,
// indexes, statistics and extensions.
func copyDatabase(ctx context.Context, admin *pgx.Conn, adminDSN, template, db string) (string, error) {
	var version int
	if err := admin.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		return "", fmt.Errorf("read server version: %w", err)
	}
	strategy := ""
	if version >= 150000 {
		strategy = " STRATEGY FILE_COPY" // a file copy: much faster than WAL_LOG for a loaded database
	}
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()); err != nil {
		return "", fmt.Errorf("drop database %s: %w", db, err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()+" TEMPLATE "+pgx.Identifier{template}.Sanitize()+strategy); err != nil {
		return "", fmt.Errorf("copy database %s to %s: %w", template, db, err)
	}
	cfg, err := pgx.ParseConfig(adminDSN)
	if err != nil {
		return "", fmt.Errorf("parse admin DSN: %w", err)
	}
	return dsnWithDatabase(cfg, db), nil
}

// dsnWithDatabase is a keyword/value DSN of cfg's server for database db.
func dsnWithDatabase(cfg *pgx.ConnConfig, db string) string {
	parts := []string{
		"host=" + cfg.Host, fmt.Sprintf("port=%d", cfg.Port), "user=" + cfg.User, "dbname=" + db, "sslmode=disable",
	}
	if cfg.Password != "" {
		parts = append(parts, "password="+cfg.Password)
	}
	return strings.Join(parts, " ")
}

// errNoStatements is returned when pg_stat_statements saw nothing of a run.
var errNoStatements = errors.New("pg_stat_statements recorded no statement of the workload")
