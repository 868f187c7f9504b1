package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/fixtures/shop"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/report"
)

// shopScale is the demo's scale: at smaller scales some planted tables fall
// below the "large table" thresholds (products has 10k rows at scale 1).
const shopScale = 1

// TestAuditShop is the end-to-end acceptance test: the shop fixture with its
// planted problems, its workload, then `pgadvisor audit` as a user runs it.
// Every planted problem must be found with its fix, no control may be
// reported, and --snapshot must reproduce the findings offline.
func TestAuditShop(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := shop.Load(ctx, conn, shopScale); err != nil {
		t.Fatalf("load: %v", err)
	}
	conn.Close(ctx)
	release, err := shop.HoldIdleInTransaction(ctx, dsn, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	// A fixed number of requests (not a duration), so that the calls each
	// threshold sees do not depend on how busy the machine is.
	w := shop.DemoWorkload()
	w.Duration = 2 * time.Minute
	w.Iterations = 800
	if _, err := shop.RunWorkload(ctx, dsn, w); err != nil {
		t.Fatalf("workload: %v", err)
	}
	time.Sleep(2 * time.Second) // the held transactions age past the idle threshold (1 s)

	dir := t.TempDir()
	snapPath := filepath.Join(dir, "snap.json")
	reportPath := filepath.Join(dir, "report.json")
	code, _, stderr := runCLI(t, "audit", "--dsn", dsn, "--format", "json", "--output", reportPath, "--save-snapshot", snapPath, "--sample-window", "1s")
	if code != exitClean {
		t.Fatalf("audit exit %d: %s", code, stderr)
	}
	defer keepOnFailure(t, snapPath)
	live := readReport(t, reportPath)
	checkContract(t, live)
	checkPlanted(t, live)
	checkFixtureRewrites(t, dsn, readJSON[pgstat.Snapshot](t, snapPath), []fixtureLoop{{
		table: "shop.events", loop: shop.SQLInsertEvent,
		rows: [][]any{{int64(1), "item_reserved", int64(7), ""}, {int64(1), "item_reserved", int64(9), "x"}, {int64(2), "checkout", int64(3), ""}},
	}})

	// Offline: the same findings from the saved snapshot, without a database.
	code, out, stderr := runCLI(t, "audit", "--snapshot", snapPath, "--format", "json")
	if code != exitClean {
		t.Fatalf("audit --snapshot exit %d: %s", code, stderr)
	}
	var offline report.Report
	if err := json.Unmarshal([]byte(out), &offline); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(live.Findings)
	b, _ := json.Marshal(offline.Findings)
	if string(a) != string(b) {
		t.Errorf("--snapshot findings differ from the live run:\nlive:    %s\noffline: %s", a, b)
	}

	// --fail-on turns findings into exit code 1, and the table fits 100 columns.
	code, out, _ = runCLI(t, "audit", "--snapshot", snapPath, "--fail-on", "warning")
	if code != exitFindings {
		t.Errorf("--fail-on warning: exit %d, want %d", code, exitFindings)
	}
	inFixes := false
	for _, line := range strings.Split(out, "\n") {
		inFixes = inFixes || report.StartsFixSection(line)
		if n := len([]rune(line)); n > 100 && !report.IsFixSQLLine(line, inFixes) {
			t.Errorf("table line of %d columns: %q", n, line)
		}
	}
	if !strings.Contains(out, "CREATE INDEX CONCURRENTLY") {
		t.Errorf("table view shows no fix SQL")
	}

	// --rules / --skip-rules narrow the catalog; an unknown id is a usage error.
	code, out, _ = runCLI(t, "audit", "--snapshot", snapPath, "--format", "json", "--rules", "seq-scan,missing-index")
	var only report.Report
	if err := json.Unmarshal([]byte(out), &only); code != exitClean || err != nil || len(only.Findings) == 0 {
		t.Fatalf("--rules: exit %d, err %v", code, err)
	}
	for _, f := range only.Findings {
		if f.Rule != "seq-scan" && f.Rule != "missing-index" {
			t.Errorf("--rules seq-scan,missing-index reported %s", f.Rule)
		}
	}
	code, out, _ = runCLI(t, "audit", "--snapshot", snapPath, "--format", "json", "--skip-rules", "seq-scan")
	var skipped report.Report
	json.Unmarshal([]byte(out), &skipped)
	for _, f := range skipped.Findings {
		if f.Rule == "seq-scan" {
			t.Errorf("--skip-rules seq-scan still reported it")
		}
	}
	if code, _, stderr := runCLI(t, "audit", "--snapshot", snapPath, "--rules", "no-such-rule"); code != exitUsage || !strings.Contains(stderr, "no-such-rule") {
		t.Errorf("unknown rule: exit %d, stderr %q", code, stderr)
	}

	// Index caps apply offline too: one index at most, then a budget that
	// the smallest recommended index exceeds.
	missing := func(args ...string) []advisor.Finding {
		code, out, stderr := runCLI(t, append([]string{"audit", "--snapshot", snapPath, "--format", "json", "--rules", "missing-index"}, args...)...)
		var r report.Report
		if err := json.Unmarshal([]byte(out), &r); code != exitClean || err != nil {
			t.Fatalf("%v: exit %d, %v: %s", args, code, err, stderr)
		}
		return r.Findings
	}
	all := missing()
	if len(all) < 2 {
		t.Fatalf("want several missing-index findings on the shop, got %d", len(all))
	}
	if got := missing("--max-new-indexes", "1"); len(got) != 1 {
		t.Errorf("--max-new-indexes 1: %d findings", len(got))
	}
	if got := missing("--storage-budget", "1KB"); len(got) != 0 {
		t.Errorf("--storage-budget 1KB: %d findings, want none", len(got))
	}

	checkFixesOnce(t, snapPath)
	checkRewritesPrepared(t, snapPath)
	// CREATE INDEX CONCURRENTLY waits for every open transaction: end the
	// planted idle ones first, as a DBA would before applying the fixes.
	release()
	checkSQLScriptRuns(t, ctx, dsn, snapPath)
	conn, err = pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if n := checkAdvisoryFixesRun(t, ctx, conn, live.Findings); n < 4 {
		t.Errorf("%d advisory fix statements ran, want at least 4 (keyset, materialised view, N+1, batched insert)", n)
	}
}

// checkRewritesPrepared: the live audit PREPAREd every rewrite it shows
// (issue 9 §1): the N+1 child for all parents, the join, the keyset page and
// the batched insert are in the snapshot's fix checks, and they prepared.
func checkRewritesPrepared(t *testing.T, snapPath string) {
	t.Helper()
	snap := readSnapshot(t, snapPath)
	prepared := map[string]bool{}
	for _, c := range snap.FixChecks {
		if c.Error != "" {
			t.Errorf("a rewrite of the shop did not prepare: %s: %s", c.Error, c.SQL)
		}
		prepared[c.SQL] = true
	}
	for _, want := range []string{"WHERE order_id = ANY($1)", "JOIN shop.order_items AS c", "WHERE id < $2 ORDER BY id DESC LIMIT $1", "FROM unnest("} {
		found := false
		for sql := range prepared {
			found = found || strings.Contains(sql, want)
		}
		if !found {
			t.Errorf("no prepared rewrite with %q among %d: %v", want, len(prepared), prepared)
		}
	}
}

// checkFixesOnce: the table view prints each fix statement once, however
// many findings it serves (missing-index, seq-scan and fk-missing-index
// proposing one index are one finding).
func checkFixesOnce(t *testing.T, snapPath string) {
	t.Helper()
	_, table, _ := runCLI(t, "audit", "--snapshot", snapPath)
	counts := map[string]int{}
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, "CREATE INDEX") || strings.HasPrefix(line, "DROP INDEX") {
			counts[line]++
		}
	}
	if len(counts) < 5 {
		t.Errorf("want at least 5 index statements in the table's What to run, got %d:\n%s", len(counts), table)
	}
	for line, n := range counts {
		if n != 1 {
			t.Errorf("printed %d times: %s", n, line)
		}
	}
	// P7's foreign key (order_items.product_id → products, whose rows are
	// never deleted) saves no time in this workload: listed as hygiene, with
	// its size, apart from the fixes that cut time.
	if i := strings.Index(table, "\nHygiene (1 fix, "); i < 0 || !strings.Contains(table[i:], "order_items_product_id_idx") || !strings.Contains(table[i:i+80], " MB of new indexes") {
		t.Errorf("no Hygiene section with the order_items.product_id index and its size:\n%s", table)
	}
	if n := strings.Count(table, "CREATE INDEX"); n != len(countsWithPrefix(counts, "CREATE INDEX")) {
		t.Errorf("CREATE INDEX appears %d times in the table, want once per index (%d)", n, len(countsWithPrefix(counts, "CREATE INDEX")))
	}
}

func countsWithPrefix(m map[string]int, prefix string) []string {
	var out []string
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

// checkSQLScriptRuns: every fix printed by --format sql runs. The script is
// applied with psql -v ON_ERROR_STOP=1 to the audited database, and every
// index it creates then exists and is valid, every index it drops is gone.
// The server setting it changes (ALTER SYSTEM) is reset afterwards: the
// cluster is shared by the package's tests.
func checkSQLScriptRuns(t *testing.T, ctx context.Context, dsn, snapPath string) {
	t.Helper()
	code, script, stderr := runCLI(t, "audit", "--snapshot", snapPath, "--format", "sql")
	if code != exitClean {
		t.Fatalf("--format sql: exit %d: %s", code, stderr)
	}
	path := filepath.Join(t.TempDir(), "fixes.sql")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	psql := filepath.Join(pgtest.Shared(t).BinDir, "psql")
	out, err := exec.CommandContext(ctx, psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", path).CombinedOutput()
	conn, cerr := pgx.Connect(ctx, dsn)
	if cerr != nil {
		t.Fatal(cerr)
	}
	defer conn.Close(ctx)
	for _, m := range regexp.MustCompile(`(?m)^ALTER SYSTEM SET (\w+)`).FindAllStringSubmatch(script, -1) {
		defer conn.Exec(ctx, "ALTER SYSTEM RESET "+m[1])
	}
	defer conn.Exec(ctx, "SELECT pg_reload_conf()")
	if err != nil {
		t.Fatalf("the --format sql script does not run: %v\n%s\n--- script:\n%s", err, out, script)
	}
	created := regexp.MustCompile(`(?m)^CREATE INDEX CONCURRENTLY IF NOT EXISTS (\S+) ON (\w+)\.`).FindAllStringSubmatch(script, -1)
	dropped := regexp.MustCompile(`(?m)^DROP INDEX CONCURRENTLY IF EXISTS (\w+)\.(\S+?);`).FindAllStringSubmatch(script, -1)
	if len(created) == 0 || len(dropped) == 0 {
		t.Fatalf("script creates %d and drops %d indexes:\n%s", len(created), len(dropped), script)
	}
	for _, m := range created {
		var valid bool
		err := conn.QueryRow(ctx, `SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`, m[2], m[1]).Scan(&valid)
		if err != nil || !valid {
			t.Errorf("index %s.%s after the script: valid %v, %v", m[2], m[1], valid, err)
		}
	}
	for _, m := range dropped {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 AND c.relname = $2`, m[1], m[2]).Scan(&n); err != nil || n != 0 {
			t.Errorf("index %s.%s still exists after the script (%d, %v)", m[1], m[2], n, err)
		}
	}
}

func readReport(t *testing.T, path string) *report.Report {
	t.Helper()
	return readJSON[report.Report](t, path)
}

// readJSON decodes the JSON file at path into a T, failing the test otherwise.
func readJSON[T any](t *testing.T, path string) *T {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s is not a JSON %T: %v", path, v, err)
	}
	return &v
}

// checkContract checks the JSON contract of DESIGN.md on a raw decode.
func checkContract(t *testing.T, r *report.Report) {
	t.Helper()
	if r.SchemaVersion != 1 || r.Tool.Name != "pgadvisor" || r.Server.VersionNum < 130000 {
		t.Errorf("report header: schema %d tool %q server %d", r.SchemaVersion, r.Tool.Name, r.Server.VersionNum)
	}
	for i, f := range r.Findings {
		if f.Rule == "" || f.Severity.Rank() == 0 || f.Message == "" || f.Objects == nil {
			t.Errorf("finding %d misses a required field: %+v", i, f)
		}
		if advisor.Lookup(f.Rule) == nil {
			t.Errorf("finding %d has unknown rule %q", i, f.Rule)
		}
		if f.Query != "" && (f.QueryID == "" || f.Fingerprint == "") {
			t.Errorf("finding %d is about a statement but has no queryid/fingerprint", i)
		}
		if strings.Contains(f.Query, "pgadvisor") {
			t.Errorf("finding %d is about pgadvisor's own statement: %s", i, f.Query)
		}
		if i > 0 && f.Impact.TotalMS > r.Findings[i-1].Impact.TotalMS {
			t.Errorf("findings not ranked by impact at %d", i)
		}
	}
}

func checkPlanted(t *testing.T, r *report.Report) {
	t.Helper()
	missed := false
	for _, p := range shop.Expected() {
		if !foundPlanted(r.Findings, p) {
			missed = true
			t.Errorf("planted %s not found by %s (table %s, query %q, fix %q)", p.ID, p.Rule, p.Table, p.QueryContains, p.FixContains)
		}
	}
	if missed {
		for _, f := range r.Findings {
			t.Logf("reported: %s %v %.60q", f.Rule, f.Objects, f.Query)
		}
	}
	for _, c := range shop.Controls() {
		for _, f := range r.Findings {
			if f.Query != "" && strings.Contains(f.Query, c.QueryContains) {
				t.Errorf("control %s (%s) reported by %s: %s", c.ID, c.Why, f.Rule, f.Message)
			}
		}
	}
}

func foundPlanted(fs []advisor.Finding, p shop.Planted) bool {
	for _, f := range fs {
		// A finding merged into a more specific one (same statement, same
		// fix) is found through the keeper's related_rules.
		if f.Rule != p.Rule && !contains(f.RelatedRules, p.Rule) {
			continue
		}
		if p.Table != "" && !contains(f.Objects, p.Table) && !(p.Index != "" && contains(f.Objects, p.Index)) {
			continue
		}
		if p.Index != "" && !contains(f.Objects, p.Index) && !strings.Contains(fixText(f), strings.TrimPrefix(p.Index, "shop.")) {
			continue
		}
		if p.QueryContains != "" && !strings.Contains(f.Query, p.QueryContains) {
			continue
		}
		if p.FixContains != "" && !strings.Contains(fixText(f), p.FixContains) {
			continue
		}
		return true
	}
	return false
}

func fixText(f advisor.Finding) string {
	if f.Fix == nil {
		return ""
	}
	return f.Fix.Summary + "\n" + strings.Join(f.Fix.SQL, "\n")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// keepOnFailure copies a failing test's snapshot to $PGADVISOR_KEEP_DIR, so
// that the rules can be debugged offline with audit --snapshot.
func keepOnFailure(t *testing.T, snapPath string) {
	dir := os.Getenv("PGADVISOR_KEEP_DIR")
	if (!t.Failed() && os.Getenv("PGADVISOR_KEEP_ALWAYS") == "") || dir == "" {
		return
	}
	data, err := os.ReadFile(snapPath)
	if err != nil {
		return
	}
	dst := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+time.Now().Format("150405")+".json")
	if os.WriteFile(dst, data, 0o644) == nil {
		t.Logf("snapshot kept: %s", dst)
	}
}
