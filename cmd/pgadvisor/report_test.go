package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/fixtures/shop"
	"github.com/pgadvisor/pgadvisor/history"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// sqlNewHeavy is the statement added between run 1 and run 2: 30 calls of
// 40 ms each, 1.2 s in all (new_min_total_ms is 1 s).
const (
	sqlNewHeavy   = "SELECT pg_sleep($1::float8 / 1000), $2::int AS report_test_new"
	newHeavyCalls = 30
)

// TestReportShop is the end-to-end test of pgadvisor report (issue 12,
// Done when): run 1 on the shop after its workload; then an index a hot
// statement uses is dropped, a new heavy statement runs, the index an
// earlier finding proposed is created and the workload runs again, without
// resetting statistics; run 2 must say which statement regressed, which is
// new, that the finding is fixed, its statement improved and the effect of
// the index, that cheap statements are unchanged, and count exactly the calls
// made between the runs. Then the test resets pg_stat_statements (pgadvisor
// never does): run 3 says counters_reset and has no negative number.
func TestReportShop(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := shop.Load(ctx, conn, shopScale); err != nil {
		t.Fatalf("load: %v", err)
	}
	w := shop.DemoWorkload()
	w.Duration = 2 * time.Minute
	w.Iterations = 500
	if _, err := shop.RunWorkload(ctx, dsn, w); err != nil {
		t.Fatalf("workload 1: %v", err)
	}
	dir := t.TempDir()
	hist := filepath.Join(dir, "history")
	lastCode := 0
	runReport := func(n int, extra ...string) *history.Report {
		t.Helper()
		out := filepath.Join(dir, "run"+string(rune('0'+n))+".json")
		args := append([]string{"report", "--dsn", dsn, "--history", hist, "--target", "shop", "--format", "json", "--output", out, "--sample-window", "0"}, extra...)
		code, _, stderr := runCLI(t, args...)
		if code != exitClean && code != exitFindings {
			t.Fatalf("run %d: exit %d: %s", n, code, stderr)
		}
		lastCode = code
		return readJSON[history.Report](t, out)
	}

	r1 := runReport(1)
	if r1.Period.Compared || r1.Kind != "report" || r1.SchemaVersion != 1 || r1.Target != "shop" {
		t.Errorf("run 1: period %+v kind %q schema %d target %q, want a first run of shop", r1.Period, r1.Kind, r1.SchemaVersion, r1.Target)
	}
	// The finding that proposes the P1 index (pending orders by country).
	var fix string
	var fixFinding history.FindingStatus
	for _, f := range r1.Findings {
		if f.Rule == "missing-index" && strings.Contains(f.Query, "shipping_country = $1") && f.Fix != nil {
			for _, sql := range f.Fix.SQL {
				if strings.HasPrefix(sql, "CREATE INDEX") {
					fix, fixFinding = sql, f
				}
			}
		}
	}
	if fix == "" {
		t.Fatalf("run 1 proposes no index for the pending-orders statement: %+v", r1.Findings)
	}

	// Between the runs: the SKU lookup loses its index, a new heavy
	// statement runs, the proposed index is created, the workload again.
	for _, sql := range []string{"ALTER TABLE shop.products DROP CONSTRAINT products_sku_key", fix, "ANALYZE shop.orders"} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	for i := 0; i < newHeavyCalls; i++ {
		if _, err := conn.Exec(ctx, sqlNewHeavy, 40, i); err != nil {
			t.Fatal(err)
		}
	}
	w2, err := shop.RunWorkload(ctx, dsn, w)
	if err != nil {
		t.Fatalf("workload 2: %v", err)
	}
	r2 := runReport(2, "--fail-on-regression")
	if lastCode != exitFindings {
		t.Errorf("run 2 --fail-on-regression: exit %d, want %d", lastCode, exitFindings)
	}
	// The two stored snapshots, compressed as the history keeps them, give
	// the same verdicts offline.
	var gz []string
	for _, f := range historyFiles(t, filepath.Join(hist, "shop")) {
		if strings.HasSuffix(f, ".snapshot.json.gz") {
			gz = append(gz, f)
		}
	}
	if len(gz) != 2 {
		t.Fatalf("history snapshots %v, want two", gz)
	}
	offline := filepath.Join(dir, "offline.json")
	if code, _, stderr := runCLI(t, "report", "--from", gz[0], "--to", gz[1], "--target", "shop", "--format", "json", "--output", offline); code != exitClean {
		t.Fatalf("report --from/--to the history's snapshots: exit %d: %s", code, stderr)
	}
	ro := readJSON[history.Report](t, offline)
	verdicts := func(r *history.Report) map[string]string {
		m := map[string]string{}
		for _, d := range r.Statements {
			m[d.QueryID+"/"+fmt.Sprint(d.UserID)] = d.Verdict
		}
		return m
	}
	if got, want := verdicts(ro), verdicts(r2); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("offline from the history's snapshots: verdicts %v, want run 2's %v", got, want)
	}
	if !r2.Period.Compared || r2.Period.CountersReset || r2.Period.From == nil || !r2.Period.From.Equal(r1.Period.To) {
		t.Errorf("run 2 period %+v: want compared with run 1 (%s), no reset", r2.Period, r1.Period.To)
	}
	// pg_stat_statements writes constants as $n: statements are matched by
	// their pg_query fingerprint, which ignores both.
	byQuery := func(r *history.Report, sql string) *history.StatementDelta {
		fp, err := sqlfacts.Fingerprint(sql)
		if err != nil {
			t.Fatal(err)
		}
		for i := range r.Statements {
			if r.Statements[i].Fingerprint == fp && r.Statements[i].Verdict != history.VerdictGone {
				return &r.Statements[i]
			}
		}
		return nil
	}
	want := func(sql, verdict string) *history.StatementDelta {
		t.Helper()
		d := byQuery(r2, sql)
		if d == nil {
			t.Errorf("run 2 does not list %q", sql)
			return nil
		}
		if d.Verdict != verdict {
			t.Errorf("run 2: %q is %s (mean %.3f ms, before %+v), want %s", sql, d.Verdict, d.MeanMS, d.Previous, verdict)
		}
		return d
	}
	want(shop.SQLProductBySKU, history.VerdictRegressed)
	if d := want(sqlNewHeavy, history.VerdictNew); d != nil && (d.Calls != newHeavyCalls || d.Previous != nil) {
		t.Errorf("new statement: %d calls, previous %+v; want %d and null", d.Calls, d.Previous, newHeavyCalls)
	}
	want(shop.SQLPendingByCountry, history.VerdictImproved)
	want(shop.SQLCustomerByID, history.VerdictUnchanged)
	want(shop.SQLCategories, history.VerdictUnchanged)
	// The interval's calls are the calls made between the runs.
	for _, sql := range []string{shop.SQLProductBySKU, shop.SQLCustomerByID, shop.SQLPendingByCountry, shop.SQLOrderItems, shop.SQLCategories} {
		if d := byQuery(r2, sql); d != nil && d.Calls != w2.Executions[sql] {
			t.Errorf("run 2: %q has %d calls in the interval, the workload ran it %d times", sql, d.Calls, w2.Executions[sql])
		}
	}
	fixed := false
	for _, f := range r2.Findings {
		if f.ID == fixFinding.ID {
			fixed = f.Status == history.StatusFixed
			if !fixed {
				t.Errorf("run 2: the finding of the created index is %s, want fixed", f.Status)
			}
		}
		if f.Status == history.StatusPersisting && !f.FirstSeen.Equal(r1.GeneratedAt) {
			t.Errorf("persisting finding %s first seen %s, want run 1 (%s)", f.Rule, f.FirstSeen, r1.GeneratedAt)
		}
	}
	if !fixed {
		t.Errorf("run 2 does not list the finding %s (%s) as fixed", fixFinding.ID, fixFinding.Rule)
	}
	var effect *history.AdviceEffect
	for i, e := range r2.AdviceEffects {
		if e.Fix == fix {
			effect = &r2.AdviceEffects[i]
		}
	}
	switch {
	case effect == nil:
		t.Errorf("run 2 has no advice effect for %s: %+v", fix, r2.AdviceEffects)
	case effect.MeanMSBefore == nil || effect.MeanMSAfter == nil || *effect.MeanMSAfter >= *effect.MeanMSBefore:
		t.Errorf("advice effect %+v: want the mean before above the mean after", effect)
	case effect.IndexBytes <= 0 || effect.IndexScans <= 0 || len(effect.Statements) == 0:
		t.Errorf("advice effect %+v: want the index's size, its scans and its statements", effect)
	default:
		t.Logf("advice effect: %s mean %.3f ms -> %.3f ms, %d bytes, %d scans", effect.Index, *effect.MeanMSBefore, *effect.MeanMSAfter, effect.IndexBytes, effect.IndexScans)
	}
	runs := historyFiles(t, filepath.Join(hist, "shop"))
	if len(runs) != 4 {
		t.Fatalf("history holds %v, want two runs (snapshot and report each)", runs)
	}

	// Reset (the test, never pgadvisor), a little workload, run 3.
	if _, err := conn.Exec(ctx, "SELECT pg_stat_statements_reset()"); err != nil {
		t.Fatal(err)
	}
	w.Iterations = 50
	if _, err := shop.RunWorkload(ctx, dsn, w); err != nil {
		t.Fatalf("workload 3: %v", err)
	}
	out := filepath.Join(dir, "run3.json")
	code, _, stderr := runCLI(t, "report", "--dsn", dsn, "--history", hist, "--target", "shop", "--format", "json", "--output", out, "--sample-window", "0", "--keep", "2")
	if code != exitClean {
		t.Fatalf("run 3: exit %d: %s", code, stderr)
	}
	r3 := readJSON[history.Report](t, out)
	if !r3.Period.CountersReset || r3.Period.ResetAt == nil {
		t.Errorf("run 3 period %+v: want counters_reset with the reset time", r3.Period)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if neg := negatives(doc, ""); len(neg) > 0 {
		t.Errorf("run 3 has negative numbers: %v", neg)
	}
	if d := byQuery(r3, shop.SQLCustomerByID); d == nil || d.Calls != 0 && d.Calls > w2.Executions[shop.SQLCustomerByID] {
		t.Errorf("run 3: customer lookup %+v: want the calls since the reset", d)
	}
	if runs := historyFiles(t, filepath.Join(hist, "shop")); len(runs) != 4 {
		t.Errorf("--keep 2 left %v, want two runs", runs)
	}
	// The password of the DSN never reaches the history.
	if u, err := pgx.ParseConfig(dsn); err == nil && u.Password != "" {
		for _, f := range historyFiles(t, filepath.Join(hist, "shop")) {
			if data := gunzipFile(t, f); strings.Contains(string(data), u.Password) {
				t.Errorf("%s holds the DSN's password", f)
			}
		}
	}

	// Offline: two saved snapshots compare as the history did.
	snaps := []string{}
	for _, f := range historyFiles(t, filepath.Join(hist, "shop")) {
		if strings.HasSuffix(f, ".snapshot.json.gz") {
			p := strings.TrimSuffix(f, ".gz")
			if err := os.WriteFile(p, gunzipFile(t, f), 0o600); err != nil {
				t.Fatal(err)
			}
			snaps = append(snaps, p)
		}
	}
	code, outText, stderr := runCLI(t, "report", "--from", snaps[0], "--to", snaps[1], "--format", "markdown")
	if code != exitClean || !strings.Contains(outText, "counters_reset") && !strings.Contains(outText, "was reset") {
		t.Errorf("report --from --to: exit %d, %s\n%s", code, stderr, outText)
	}
	page := filepath.Join(dir, "report.html")
	code, _, stderr = runCLI(t, "report", "--from", snaps[0], "--to", snaps[1], "--format", "html", "--output", page)
	html, err := os.ReadFile(page)
	if code != exitClean || err != nil || strings.Count(string(html), "<svg") != 3 || strings.Contains(string(html), "https://") {
		t.Errorf("report --format html: exit %d, %v, %s", code, err, stderr)
	}
}

// negatives lists the paths of the negative numbers of a decoded JSON
// document, except mean_change (a signed change, not a counter).
func negatives(v any, path string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k != "mean_change" {
				out = append(out, negatives(e, path+"."+k)...)
			}
		}
	case []any:
		for i, e := range x {
			out = append(out, negatives(e, path+"["+string(rune('0'+i%10))+"]")...)
		}
	case float64:
		if x < 0 {
			out = append(out, path)
		}
	}
	return out
}

// historyFiles lists the files of a target's history directory.
func historyFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json.gz") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out
}

func gunzipFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

// TestReportPartialCollection: a collection that fails part-way is exit 3,
// and what was collected is still reported and stored in the history.
func TestReportPartialCollection(t *testing.T) {
	dsn := pgtest.DB(t)
	execSQL(t, dsn, "CREATE TABLE u (id int PRIMARY KEY)", "INSERT INTO u SELECT generate_series(1, 100)",
		"CREATE TABLE t (id int PRIMARY KEY, fk int REFERENCES u(id))",
		"INSERT INTO t SELECT g, g % 100 + 1 FROM generate_series(1, 50000) g", "ANALYZE", "DROP EXTENSION pg_stat_statements")
	hist := t.TempDir()
	code, out, stderr := runCLI(t, "report", "--dsn", dsn, "--history", hist, "--target", "partial", "--format", "json", "--sample-window", "0", "--fail-on-regression")
	if code != exitFailure || !strings.Contains(stderr, "pg_stat_statements") {
		t.Errorf("exit %d, stderr %q: want %d naming pg_stat_statements", code, stderr, exitFailure)
	}
	var r history.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("no report after the failure: %v\n%s", err, out)
	}
	if len(r.Problems) == 0 || len(r.Findings) == 0 {
		t.Errorf("report of the partial collection: problems %v, findings %d; want both", r.Problems, len(r.Findings))
	}
	if files := historyFiles(t, filepath.Join(hist, "partial")); len(files) != 2 {
		t.Errorf("history holds %v, want the run's snapshot and report", files)
	}
}

func TestReportUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report"}, "--history DIR"},
		{[]string{"report", "--from", "a.json"}, "--from and --to go together"},
		{[]string{"report", "--from", "a.json", "--to", "b.json", "--history", "x"}, "exclude --dsn and --history"},
		{[]string{"report", "--history", "x", "--keep", "0"}, "keep at least 1 run"},
		{[]string{"report", "--history", "x", "--keep", "soon"}, "want a number of runs"},
		{[]string{"report", "--history", "x", "--target", "../etc"}, "--target"},
		{[]string{"report", "--history", "x", "--format", "sql"}, "unknown --format"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d saying %q", c.args, code, stderr, exitUsage, c.want)
		}
	}
}

// TestReportFleet: 20 databases of the throwaway server in one run, plus one
// unreachable target that is reported without stopping the others; the
// fleet's wall time against the sum of the single runs.
func TestReportFleet(t *testing.T) {
	const n = 20
	var b strings.Builder
	b.WriteString("targets:\n")
	for i := 0; i < n; i++ {
		dsn := pgtest.DB(t)
		execSQL(t, dsn, "CREATE TABLE t (id int PRIMARY KEY, v int)", "INSERT INTO t SELECT g, g % 7 FROM generate_series(1, 2000) g", "ANALYZE t",
			"SELECT count(*) FROM t WHERE v = 3")
		b.WriteString("  - name: db" + string(rune('a'+i)) + "\n    dsn: '" + dsn + "'\n")
	}
	b.WriteString("  - name: unreachable\n    dsn: 'host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2'\n")
	dir := t.TempDir()
	file := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	hist := filepath.Join(dir, "history")
	code, out, stderr := runCLI(t, "report", "--targets", file, "--history", hist, "--parallel", "4", "--format", "json", "--sample-window", "0", "--no-what-if")
	if code != exitFailure || !strings.Contains(stderr, "1 of 21 targets") {
		t.Errorf("exit %d, stderr %q: want %d naming the one failed target", code, stderr, exitFailure)
	}
	var idx fleetIndex
	if err := json.Unmarshal([]byte(out), &idx); err != nil {
		t.Fatalf("index: %v\n%s", err, out)
	}
	if len(idx.Targets) != n+1 {
		t.Fatalf("index lists %d targets, want %d", len(idx.Targets), n+1)
	}
	var sum float64
	for _, e := range idx.Targets {
		sum += e.Seconds
		switch {
		case e.Name == "unreachable":
			if e.Status != "failed" || e.Error == "" {
				t.Errorf("unreachable target: %+v", e)
			}
		case e.Status != "ok" || e.Report == "":
			t.Errorf("target %s: %+v", e.Name, e)
		default:
			if _, err := os.Stat(e.Report); err != nil {
				t.Errorf("target %s: %v", e.Name, err)
			}
			if files := historyFiles(t, filepath.Join(hist, e.Name)); len(files) != 2 {
				t.Errorf("target %s history: %v", e.Name, files)
			}
		}
	}
	t.Logf("fleet of %d: %.1f s wall, %.1f s the sum of the targets' runs", n+1, idx.Seconds, sum)
	if idx.Seconds >= sum {
		t.Errorf("fleet wall time %.1f s is not below the sum of its runs %.1f s", idx.Seconds, sum)
	}
	// The markdown and html index.
	code, out, _ = runCLI(t, "report", "--targets", file, "--history", hist, "--format", "markdown", "--sample-window", "0", "--no-what-if")
	if code != exitFailure || !strings.Contains(out, "| unreachable | failed") || !strings.Contains(out, "| dba | ok") {
		t.Errorf("markdown index (exit %d):\n%s", code, out)
	}
}

// pgURL writes a keyword/value DSN as a postgres:// URL.
func pgURL(t *testing.T, dsn string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u := "postgres:///" + cfg.Database + "?host=" + cfg.Host + "&port=" + fmt.Sprint(cfg.Port) + "&user=" + cfg.User + "&sslmode=disable"
	if cfg.Password != "" {
		u += "&password=" + cfg.Password
	}
	return u
}

// TestReportPGHistory: --history postgres://… keeps the runs in another
// database (its schema created on first use) and is refused when it names
// the audited database.
func TestReportPGHistory(t *testing.T) {
	dsn := pgtest.DB(t)
	histDSN := pgtest.DB(t)
	execSQL(t, dsn, "CREATE TABLE t (id int PRIMARY KEY, v int)", "INSERT INTO t SELECT g, g % 7 FROM generate_series(1, 2000) g", "ANALYZE t")
	for i := 0; i < 2; i++ {
		execSQL(t, dsn, "SELECT count(*) FROM t WHERE v = 3")
		code, out, stderr := runCLI(t, "report", "--dsn", dsn, "--history", pgURL(t, histDSN), "--target", "small", "--format", "json", "--sample-window", "0", "--no-what-if", "--keep", "5")
		if code != exitClean {
			t.Fatalf("run %d: exit %d: %s", i+1, code, stderr)
		}
		var r history.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		if r.Period.Compared != (i == 1) {
			t.Errorf("run %d: compared %v", i+1, r.Period.Compared)
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, histDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pgadvisor_history.runs WHERE target = 'small'").Scan(&n); err != nil || n != 2 {
		t.Errorf("history database holds %d runs (%v), want 2", n, err)
	}
	// The audited database itself is refused, and gets no schema.
	code, _, stderr := runCLI(t, "report", "--dsn", dsn, "--history", pgURL(t, dsn), "--format", "json", "--sample-window", "0", "--no-what-if")
	if code != exitFailure || !strings.Contains(stderr, "never writes to the database it audits") {
		t.Errorf("history in the audited database: exit %d, %q", code, stderr)
	}
	audited, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer audited.Close(ctx)
	var exists bool
	if err := audited.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'pgadvisor_history')").Scan(&exists); err != nil || exists {
		t.Errorf("the audited database got the history schema (%v)", err)
	}
}

// TestReportFleetConfigAndPGHistory: a target's own configuration applies to
// that target only (an ignore on one, a threshold on another, the third
// reports the finding; a target whose configuration does not load fails
// alone), and with --history postgres://… every target's runs are stored
// under its own name (the schema created once although the targets open the
// history at the same time) and its report is written beside the index,
// which links it.
func TestReportFleetConfigAndPGHistory(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write("ignored.yaml", "ignore:\n  - rule: fk-missing-index\n    object: public.child\n    reason: the children are never deleted\n")
	write("threshold.yaml", "rules:\n  fk-missing-index:\n    thresholds:\n      large_table_rows: 1000000\n")
	write("broken.yaml", "rules:\n  fk-missing-index:\n    thresholds:\n      large_table_row: 5\n")
	var b strings.Builder
	b.WriteString("targets:\n")
	for _, name := range []string{"plain", "ignored", "threshold", "broken"} {
		dsn := pgtest.DB(t)
		// A foreign key without an index on a 12,000-row table: fk-missing-index
		// (large_table_rows 10000 by default).
		execSQL(t, dsn, "CREATE TABLE parent (id int PRIMARY KEY)", "INSERT INTO parent SELECT generate_series(1, 100)",
			"CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent)",
			"INSERT INTO child SELECT g, 1 + g % 100 FROM generate_series(1, 12000) g", "ANALYZE parent, child")
		fmt.Fprintf(&b, "  - name: %s\n    dsn: '%s'\n", name, dsn)
		if name != "plain" {
			fmt.Fprintf(&b, "    config: %s.yaml\n", name) // relative to the fleet file
		}
	}
	fleet := write("fleet.yaml", b.String())
	hist := pgURL(t, pgtest.DB(t))
	out := filepath.Join(dir, "site", "index.json")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 2; run++ {
		code, _, stderr := runCLI(t, "report", "--targets", fleet, "--history", hist, "--parallel", "4", "--format", "json", "--output", out, "--sample-window", "0", "--no-what-if")
		if code != exitFailure || !strings.Contains(stderr, "1 of 4 targets") {
			t.Errorf("run %d: exit %d, stderr %q: want %d for the broken configuration only", run, code, stderr, exitFailure)
		}
	}
	idx := readJSON[fleetIndex](t, out)
	has := map[string]bool{}
	for _, e := range idx.Targets {
		if e.Name == "broken" {
			if e.Status != "failed" || !strings.Contains(e.Error, "broken.yaml") || !strings.Contains(e.Error, "large_table_rows") {
				t.Errorf("broken target: %+v, want failed naming its file and the known threshold", e)
			}
			continue
		}
		want := filepath.Join(dir, "site", e.Name, "latest.json")
		if e.Status != "ok" || e.Report != want || !strings.Contains(e.Stored, "target "+e.Name) {
			t.Errorf("target %s: %+v, want ok, its report at %s, stored under its name", e.Name, e, want)
			continue
		}
		r := readJSON[history.Report](t, e.Report)
		if r.Target != e.Name || !r.Period.Compared {
			t.Errorf("target %s: report of %q, compared %v: want its own second run", e.Name, r.Target, r.Period.Compared)
		}
		for _, f := range r.Findings {
			if f.Rule == "fk-missing-index" && f.Status != history.StatusFixed {
				has[e.Name] = true
			}
		}
	}
	if !has["plain"] || has["ignored"] || has["threshold"] {
		t.Errorf("fk-missing-index reported for %v: want plain only (ignored and threshold have their own configuration)", has)
	}
	ctx := context.Background()
	hconn, err := pgx.Connect(ctx, hist)
	if err != nil {
		t.Fatal(err)
	}
	defer hconn.Close(ctx)
	rows, err := hconn.Query(ctx, "SELECT target, count(*) FROM pgadvisor_history.runs GROUP BY target ORDER BY target")
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		stored[name] = n
	}
	if rows.Err() != nil || len(stored) != 3 || stored["plain"] != 2 || stored["ignored"] != 2 || stored["threshold"] != 2 {
		t.Errorf("history database holds runs %v (%v), want two for each of plain, ignored, threshold", stored, rows.Err())
	}
	// The html index links each target's report, relative to the index.
	html := filepath.Join(dir, "site", "index.html")
	if code, _, stderr := runCLI(t, "report", "--targets", fleet, "--history", hist, "--format", "html", "--output", html, "--sample-window", "0", "--no-what-if"); code != exitFailure || !strings.Contains(stderr, "1 of 4 targets") {
		t.Errorf("html index: exit %d: %s", code, stderr)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), `<td class="failed">failed: `) || !strings.Contains(string(page), "1 persisting") {
		t.Errorf("index.html does not list the failed target and plain's persisting finding:\n%s", page)
	}
	for _, name := range []string{"plain", "ignored", "threshold"} {
		link := `<a href="` + name + `/latest.html">`
		if !strings.Contains(string(page), link) {
			t.Errorf("index.html has no %s", link)
		}
		if _, err := os.Stat(filepath.Join(dir, "site", name, "latest.html")); err != nil {
			t.Errorf("target %s: %v", name, err)
		}
	}
}
