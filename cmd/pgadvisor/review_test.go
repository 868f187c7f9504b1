package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/fixtures/shop"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
)

// sampleRepo is the review package's sample repository.
var sampleRepo, _ = filepath.Abs(filepath.Join("..", "..", "review", "testdata", "repo"))

// TestReviewCLI runs pgadvisor review on the sample repository as CI would:
// findings at their place, exit 1 on an error, a baseline that lets the run
// pass and a new problem that fails it, every format, usage errors.
func TestReviewCLI(t *testing.T) {
	t.Chdir(sampleRepo)
	code, out, stderr := runCLI(t, "review", ".")
	if code != exitFindings {
		t.Fatalf("exit %d, want %d (error-level syntax errors): %s", code, exitFindings, stderr)
	}
	for _, want := range []string{
		"queries/reports.sql:14:1: error syntax-error: syntax error at or near \"SELEC\"\n",
		"queries/reports.sql:19:53: warning ignore-without-reason: ",
		"db/migrations/4_backfill.up.sql:4:1: warning index-not-concurrent: ",
		"    fix: Build the index with CONCURRENTLY",
		"        CREATE INDEX CONCURRENTLY orders_shipping_country_idx ON shop.orders (shipping_country)\n",
		"33 statements in 9 files: 15 findings (2 error, 5 warning, 8 notice); 4 suppressed\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code, _, _ := runCLI(t, "review", "--skip-rules", "syntax-error", "queries"); code != exitClean {
		t.Errorf("without syntax-error, exit %d, want 0 (no other error-level finding)", code)
	}

	tmp := t.TempDir()
	base := filepath.Join(tmp, "baseline.json")
	if code, _, stderr := runCLI(t, "review", "--write-baseline", base, "."); code != exitClean || !strings.Contains(stderr, "15 findings recorded") {
		t.Fatalf("--write-baseline: exit %d, %s", code, stderr)
	}
	code, out, _ = runCLI(t, "review", "--baseline", base, "--fail-on", "notice", ".")
	if code != exitClean || !strings.Contains(out, "0 findings") || !strings.Contains(out, "15 in the baseline") {
		t.Errorf("--baseline: exit %d\n%s", code, out)
	}

	code, out, _ = runCLI(t, "review", "--format", "json", ".")
	var rep struct {
		SchemaVersion int `json:"schema_version"`
		Summary       struct {
			FindingCount map[string]int `json:"finding_count"`
			Suppressed   int            `json:"suppressed"`
		} `json:"summary"`
		Findings []struct {
			Rule     string         `json:"rule"`
			Severity string         `json:"severity"`
			Message  string         `json:"message"`
			Objects  []string       `json:"objects"`
			Location map[string]any `json:"location"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if code != exitFindings || rep.SchemaVersion != 1 || len(rep.Findings) != 15 || rep.Summary.Suppressed != 4 || rep.Summary.FindingCount["error"] != 2 {
		t.Errorf("json: exit %d, %+v", code, rep.Summary)
	}
	for _, f := range rep.Findings {
		var keys []string
		for k := range f.Location {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if strings.Join(keys, ",") != "column,end_column,end_line,line,path" || f.Objects == nil || f.Message == "" {
			t.Errorf("json finding %s: location keys %v, objects %v", f.Rule, keys, f.Objects)
		}
	}

	sarifPath := filepath.Join(tmp, "pgadvisor.sarif")
	if code, _, _ := runCLI(t, "review", "--format", "sarif", "--output", sarifPath, "."); code != exitFindings {
		t.Errorf("sarif: exit %d", code)
	}
	if data, err := os.ReadFile(sarifPath); err != nil || !strings.Contains(string(data), `"uri": "queries/reports.sql"`) {
		t.Errorf("sarif file: %v", err)
	}
	_, out, _ = runCLI(t, "review", "--format", "github", ".")
	if !strings.Contains(out, "::error file=queries/reports.sql,line=14,col=1,endLine=14,endColumn=26,title=pgadvisor syntax-error::syntax error at or near \"SELEC\"\n") {
		t.Errorf("github:\n%s", out)
	}
	_, out, _ = runCLI(t, "review", "--format", "markdown", ".")
	if !strings.Contains(out, "| `queries/reports.sql:14:1` | error | `syntax-error` |") || !strings.Contains(out, "```sql\nCREATE INDEX CONCURRENTLY orders_shipping_country_idx") {
		t.Errorf("markdown:\n%s", out)
	}

	// Staging unreachable: the offline findings are still reported, exit 3.
	code, out, stderr = runCLI(t, "review", "--dsn", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", "queries")
	if code != exitFailure || !strings.Contains(out, "queries/reports.sql:14:1: error syntax-error") || !strings.Contains(stderr, "connect") {
		t.Errorf("unreachable staging: exit %d, stderr %q\n%s", code, stderr, out)
	}

	for _, args := range [][]string{
		{"review", "--format", "yaml", "."},
		{"review", "--fail-on", "sometimes", "."},
		{"review", "no/such/dir"},
		{"review", "--baseline", filepath.Join(tmp, "missing.json"), "."},
		{"review", "--rules", "syntax-eror", "."},
	} {
		if code, _, stderr := runCLI(t, args...); code != exitUsage || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want %d and a message", args, code, stderr, exitUsage)
		}
	}
}

// TestReviewBaselineNewProblem is the CI gate end to end: a baseline
// written, lines inserted above the baselined statements and a new problem
// added in a copy of the sample repository; the run fails (exit 1) on the
// new problem alone, at its line, and passes once it is fixed.
func TestReviewBaselineNewProblem(t *testing.T) {
	dir := t.TempDir()
	err := filepath.Walk(sampleRepo, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(sampleRepo, path)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	base := filepath.Join(t.TempDir(), "baseline.json")
	if code, _, stderr := runCLI(t, "review", "--write-baseline", base, "."); code != exitClean {
		t.Fatalf("--write-baseline: exit %d %s", code, stderr)
	}
	model := filepath.Join("app", "models", "order.rb")
	orig, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	added := "# edited\n\n" + string(orig) + "\nSLOW = \"SELECT id FROM shop.orders WHERE upper(status) = ?\"\n"
	if err := os.WriteFile(model, []byte(added), 0o644); err != nil {
		t.Fatal(err)
	}
	line := strings.Count(added, "\n") // the new literal's line
	code, out, _ := runCLI(t, "review", "--baseline", base, "--fail-on", "notice", ".")
	want := fmt.Sprintf("app/models/order.rb:%d:9: notice non-sargable: ", line)
	if code != exitFindings || !strings.Contains(out, want) || !strings.Contains(out, "1 finding (0 error, 0 warning, 1 notice)") {
		t.Errorf("new problem: exit %d, want %d and %q alone:\n%s", code, exitFindings, want, out)
	}
	if err := os.WriteFile(model, []byte("# edited\n\n"+string(orig)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCLI(t, "review", "--baseline", base, "--fail-on", "notice", "."); code != exitClean {
		t.Errorf("fixed: exit %d\n%s", code, out)
	}
}

// TestReviewFixesRun applies the sample repository's migrations to a real
// PostgreSQL (with the shop tables its queries read) and runs every fix the
// review prints: index builds for real, statements prepared.
func TestReviewFixesRun(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DB(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	schema := `CREATE SCHEMA shop;
CREATE TABLE shop.customers (id bigint PRIMARY KEY, email text NOT NULL);
CREATE TABLE shop.products (id bigint PRIMARY KEY, sku text, name text, description text, created_at timestamptz);
CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer_id bigint, total numeric, status text, shipping_country text, created_at timestamptz)`
	if _, err := conn.Exec(ctx, schema); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"1_init.up.sql", "2_items.up.sql", "3_indexes.up.sql", "4_backfill.up.sql"} {
		data, err := os.ReadFile(filepath.Join(sampleRepo, "db", "migrations", m))
		if err != nil {
			t.Fatal(err)
		}
		// CONCURRENTLY refuses a transaction block: one statement at a time.
		for _, stmt := range strings.Split(string(data), ";") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := conn.Exec(ctx, stmt); err != nil {
				t.Fatalf("%s: %v", m, err)
			}
		}
	}
	if _, err := conn.Exec(ctx, "DROP INDEX shop.orders_shipping_country_idx"); err != nil {
		t.Fatal(err) // the fix builds it again, concurrently
	}
	t.Chdir(sampleRepo)
	_, out, _ := runCLI(t, "review", "--format", "json", ".")
	var rep struct {
		Findings []struct {
			Rule string `json:"rule"`
			Fix  *struct {
				SQL []string `json:"sql"`
			} `json:"fix"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, f := range rep.Findings {
		if f.Fix == nil {
			continue
		}
		for _, sql := range f.Fix.SQL {
			ran++
			upper := strings.ToUpper(strings.TrimSpace(sql))
			if strings.HasPrefix(upper, "SELECT") {
				if _, err := conn.Exec(ctx, "PREPARE review_fix AS "+sql); err != nil {
					t.Errorf("%s fix does not prepare: %v\n%s", f.Rule, err, sql)
				}
				conn.Exec(ctx, "DEALLOCATE review_fix")
				continue
			}
			if _, err := conn.Exec(ctx, sql); err != nil {
				t.Errorf("%s fix fails: %v\n%s", f.Rule, err, sql)
			}
		}
	}
	if ran != 3 {
		t.Errorf("%d fix statements run, want 3 (fk-missing-index, index-not-concurrent, large-offset)", ran)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE c.relname IN ('order_items_product_id_idx', 'orders_shipping_country_idx') AND i.indisvalid`).Scan(&n); err != nil || n != 2 {
		t.Errorf("valid indexes built by the fixes: %d (%v), want 2", n, err)
	}
}

// TestReviewStaging reviews the sample repository with the shop fixture
// loaded on the throwaway PostgreSQL as staging: the Go query that scans
// shop.orders by shipping_country gets its CREATE INDEX at its line, in
// text and SARIF; statements on tables staging lacks (the app schema of
// the migrations, not applied there) are notes saying so.
func TestReviewStaging(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DB(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := shop.Load(ctx, conn, 0.3); err != nil {
		t.Fatalf("load: %v", err)
	}
	conn.Close(ctx)
	t.Chdir(sampleRepo)
	code, out, stderr := runCLI(t, "review", "--dsn", dsn, "internal", "queries")
	t.Logf("exit %d\n%s\n%s", code, out, stderr)
	const where = "internal/store/store.go:12:26: " // the literal's first character, after its quote
	i := strings.Index(out, where)
	if i < 0 {
		t.Fatalf("no finding at %s", where)
	}
	block := out[i:]
	if j := strings.Index(block, "\ninternal/store/store.go:35:"); j > 0 {
		block = block[:j]
	}
	// The what-if engine picks the column order for every statement the
	// index serves: (shipping_country, status) or (status, shipping_country);
	// the statement reads id and total besides, which a covering index
	// INCLUDEs for an index-only scan when that saves enough (issue 10 §5:
	// on this staging data it does, planner cost 3129 → 72).
	createIndex := regexp.MustCompile(`CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_(status_)?shipping_country(_status)?(_incl_id_total)?_idx ON shop\.orders USING btree \((status, )?shipping_country(, status)?\)( INCLUDE \(id, total\))?`)
	if !createIndex.MatchString(block) {
		t.Errorf("the finding at %s has no CREATE INDEX on shipping_country and status:\n%s", where, block)
	}
	_, sarifOut, _ := runCLI(t, "review", "--dsn", dsn, "--format", "sarif", "internal")
	if !createIndex.MatchString(sarifOut) || !strings.Contains(sarifOut, `"startLine": 12,`) {
		t.Errorf("SARIF lacks the index at line 12:\n%s", sarifOut)
	}

	// A statement on a table staging lacks is a note saying so, and the
	// other statements are still planned.
	pending := t.TempDir()
	sql := "SELECT id FROM shop.orders WHERE shipping_country = $1 AND status = $2;\n\nSELECT id FROM app.invoices WHERE id = $1;\n"
	if err := os.WriteFile(filepath.Join(pending, "q.sql"), []byte(sql), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(pending)
	code, out, _ = runCLI(t, "review", "--dsn", dsn, "--fail-on", "never", ".")
	if code != exitClean || !strings.Contains(out, "q.sql:3:1: note: staging lacks an object the statement references (a migration not applied there yet?): ") ||
		!strings.Contains(out, "q.sql:1:1: error missing-index: shop.orders needs an index on (shipping_country, status)") {
		t.Errorf("pending table: exit %d\n%s", code, out)
	}
}

// TestReviewCIExamples runs the pgadvisor command lines of the CI examples
// in docs/ci on the sample repository, with its baseline written first (as a
// team would commit it) and the DSN variables pointing at the throwaway
// PostgreSQL: none is a usage error, and the baselined run passes.
func TestReviewCIExamples(t *testing.T) {
	dsn := pgtest.DB(t)
	dir := t.TempDir()
	t.Chdir(sampleRepo)
	base := filepath.Join(dir, "baseline.json")
	if code, _, stderr := runCLI(t, "review", "--write-baseline", base, "."); code != exitClean {
		t.Fatalf("--write-baseline: exit %d %s", code, stderr)
	}
	ran := 0
	for _, file := range []string{"github-actions.yml", "gitlab-ci.yml"} {
		data, err := os.ReadFile(filepath.Join(sampleRepo, "..", "..", "..", "docs", "ci", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			_, cmd, ok := strings.Cut(line, "pgadvisor review ")
			if !ok || strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			cmd = strings.NewReplacer(`"$STAGING_URL"`, "DSN", `"$STAGING_DATABASE_URL"`, "DSN",
				".pgadvisor-baseline.json", base, "pgadvisor.sarif", filepath.Join(dir, "out.sarif"),
				"pgadvisor-review.md", filepath.Join(dir, "review.md")).Replace(cmd)
			args := []string{"review"}
			for _, a := range strings.Fields(cmd) {
				if a == "DSN" {
					a = dsn // a key=value string holds spaces
				}
				args = append(args, a)
			}
			code, _, stderr := runCLI(t, args...)
			ran++
			if code != exitClean {
				t.Errorf("%s: %s: exit %d, want 0 (everything is baselined)\n%s", file, cmd, code, stderr)
			}
		}
	}
	if ran != 6 {
		t.Errorf("%d command lines run, want 6", ran)
	}
}

// stagingRoundTrips are the statements a review sent to staging, read from
// the server's statement log from offset on: each is one round trip
// (a simple query, or the execute step of an extended one).
func stagingRoundTrips(t *testing.T, logFile string, offset int64) []string {
	t.Helper()
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	statement := regexp.MustCompile(`LOG:  duration: [0-9.]+ ms  (?:statement: |execute [^:]*: )`)
	var cur *strings.Builder
	flush := func() {
		if cur != nil {
			out = append(out, cur.String())
			cur = nil
		}
	}
	for _, line := range strings.Split(string(data[offset:]), "\n") {
		if loc := statement.FindStringIndex(line); loc != nil {
			flush()
			cur = &strings.Builder{}
			cur.WriteString(line[loc[1]:])
			continue
		}
		if cur != nil && (strings.HasPrefix(line, "\t") || strings.HasPrefix(line, " ")) {
			cur.WriteString("\n" + line)
			continue
		}
		flush()
	}
	flush()
	return out
}

// TestReviewStagingPlannerCalls counts, in the server's own statement log,
// what a review with --dsn sends per statement of the repository, and runs
// --analyze through the safety gate: EXPLAIN ANALYZE only for the plain
// SELECTs of built-in code, inside a read-only transaction; the UPDATE, the
// data-modifying CTE and the SELECT calling a user function are planned
// with a plain EXPLAIN, and the user function never runs (its log table
// stays empty).
func TestReviewStagingPlannerCalls(t *testing.T) {
	ctx := context.Background()
	cluster, dsn, conn := loggingCluster(t, ctx, "staging")
	if _, err := shop.Load(ctx, conn, 0.1); err != nil {
		t.Fatalf("load: %v", err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE shop.probe_log (id bigint);
CREATE FUNCTION shop.probe(bigint) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN INSERT INTO shop.probe_log VALUES ($1); RETURN $1; END $$`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sql := `SELECT id, total FROM shop.orders WHERE status = 'paid' ORDER BY created_at DESC LIMIT 5;

SELECT id FROM shop.orders WHERE shipping_country = $1 AND status = $2;

SELECT shop.probe(id) FROM shop.orders LIMIT 3;

UPDATE shop.orders SET status = 'cancelled' WHERE id = 1;

WITH gone AS (DELETE FROM shop.orders WHERE id = 2 RETURNING id) SELECT count(*) FROM gone;
`
	if err := os.WriteFile(filepath.Join(dir, "q.sql"), []byte(sql), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir() // no statement to send: the start-up's round trips alone
	if err := os.WriteFile(filepath.Join(empty, "q.sql"), []byte("SELEC 1;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	startup := 0
	for _, c := range []struct {
		name string
		dir  string
		sent int
		args []string
	}{
		{"start-up alone", empty, 0, []string{"--no-what-if"}},
		{"generic plans, no what-if", dir, 5, []string{"--no-what-if"}},
		{"generic plans and what-if", dir, 5, nil},
		{"--analyze", dir, 5, []string{"--analyze", "--no-what-if"}},
	} {
		t.Chdir(c.dir)
		info, err := os.Stat(cluster.LogFile())
		if err != nil {
			t.Fatal(err)
		}
		args := append([]string{"review", "--dsn", dsn, "--format", "json", "--fail-on", "never"}, c.args...)
		code, out, stderr := runCLI(t, append(args, ".")...)
		if code != exitClean {
			t.Fatalf("%s: exit %d: %s", c.name, code, stderr)
		}
		var rep struct {
			Staging struct {
				Planned   int                `json:"planned"`
				TimingsMS map[string]float64 `json:"timings_ms"`
			} `json:"staging"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		trips := stagingRoundTrips(t, cluster.LogFile(), info.Size())
		kinds := map[string]int{}
		var analyzed []string
		prepared := ""
		for _, q := range trips {
			u := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(q)), "/* PGADVISOR */ ")
			if strings.HasPrefix(u, "PREPARE") {
				prepared = q
			}
			switch {
			case strings.HasPrefix(u, "EXPLAIN (ANALYZE"), strings.HasPrefix(u, "EXPLAIN ANALYZE"):
				kinds["explain analyze"]++
				analyzed = append(analyzed, prepared)
			case strings.HasPrefix(u, "EXPLAIN"):
				kinds["explain"]++
			case strings.HasPrefix(u, "PREPARE"):
				kinds["prepare"]++
			case strings.Contains(u, "HYPOPG"):
				kinds["hypopg"]++
			default:
				kinds["other"]++
			}
		}
		if c.sent == 0 {
			startup = len(trips)
			t.Logf("%s: %d round trips: %v; timings %v", c.name, len(trips), kinds, rep.Staging.TimingsMS)
		} else {
			t.Logf("%s: %d round trips for %d statements, %.1f a statement after the start-up's %d: %v; explain %.1f ms a statement, what-if %.1f ms",
				c.name, len(trips), c.sent, float64(len(trips)-startup)/float64(c.sent), startup, kinds,
				rep.Staging.TimingsMS["explain"]/float64(c.sent), rep.Staging.TimingsMS["what_if"])
		}
		if rep.Staging.Planned != c.sent || kinds["prepare"] < c.sent {
			t.Errorf("%s: %d planned, %d PREPARE; want %d", c.name, rep.Staging.Planned, kinds["prepare"], c.sent)
		}
		// One planner call a statement: the generic plan of its PREPARE,
		// explained once (the what-if engine plans again, with hypothetical indexes).
		if planner := kinds["explain"] + kinds["explain analyze"]; planner != c.sent && c.args != nil {
			t.Errorf("%s: %d EXPLAIN for %d statements, want one each", c.name, planner, c.sent)
		}
		if c.name != "--analyze" && len(analyzed) > 0 {
			t.Errorf("%s: EXPLAIN ANALYZE without --analyze: %q", c.name, analyzed)
		}
		if c.name == "--analyze" {
			// The two plain SELECTs of built-in code (the one with $1 and
			// $2 run with values sampled from their columns); never the
			// user function, the UPDATE or the data-modifying CTE.
			if len(analyzed) != 2 || !strings.Contains(analyzed[0], "status = 'paid'") || !strings.Contains(analyzed[1], "shipping_country = $1") {
				t.Errorf("--analyze: analyzed %q, want the two plain SELECTs of built-in code", analyzed)
			}
		}
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM shop.probe_log) + (SELECT count(*) FROM shop.orders WHERE id IN (1, 2) AND status = 'cancelled') + 2 - (SELECT count(*) FROM shop.orders WHERE id IN (1, 2))").Scan(&n); err != nil || n != 0 {
		t.Errorf("the user function ran or a write happened: %d (%v)", n, err)
	}
}
