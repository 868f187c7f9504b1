package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/report"
)

// TestConfigCommand: pgadvisor config prints the effective configuration
// and where each value came from: the default, the file (found in the
// working directory's parents or given with --config, before or after the
// command), --thresholds, a flag.
func TestConfigCommand(t *testing.T) {
	dir := t.TempDir()
	file := writeText(t, dir, ".pgadvisor.yaml", `rules:
  unused-index:
    enabled: false
  seq-scan:
    thresholds:
      large_table_rows: 50000
what_if:
  max_new_indexes: 5
  storage_budget: 2GB
thresholds:
  min_calls: 3
trust_functions: [public.slugify]
`)
	thresholds := writeText(t, dir, "t.json", `{"min_calls": 4, "jit_share": 0.7}`)
	for _, args := range [][]string{
		{"config", "--config", file, "--thresholds", thresholds, "--max-new-indexes", "2"},
		{"--config", file, "config", "--thresholds", thresholds, "--max-new-indexes", "2"},
	} {
		code, out, stderr := runCLI(t, args...)
		if code != exitClean {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		for _, want := range []string{
			"effective configuration: defaults, then " + file,
			"      large_table_rows: 50000", file + ":6",
			"  max_new_indexes: 2", "# --max-new-indexes", // the flag beats the file
			"  storage_budget: 2GB", file + ":9",
			"  min_calls: 4", "# --thresholds " + thresholds, // --thresholds beats the file
			"      jit_share: 0.7",
			"  min_share: 0.001", "# default",
			`trust_functions: ["public.slugify"]`, file + ":12",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: output does not say %q:\n%s", args, want, out)
			}
		}
		if !lineHas(out, "enabled: false", file+":3") || !lineHas(out, "min_calls: 4", "--thresholds") || !lineHas(out, "seq_scan_discard: 0.9", "# default") {
			t.Errorf("%v: a value and its source are not on one line:\n%s", args, out)
		}
	}

	// An invalid file is a usage error naming file, line and key, for every command that reads it.
	bad := writeText(t, dir, "bad.yaml", "rules:\n  seq-scan:\n    thresholds:\n      large_table_row: 5\n")
	snap := writeJSON(t, dir, "snap.json", loadGeneric(t, recordedSnapshot))
	for _, args := range [][]string{
		{"config", "--config", bad},
		{"audit", "--config", bad, "--snapshot", snap},
		{"--config", bad, "explain", "--plan", "../../explain/testdata/hashagg_disk.json"},
	} {
		code, out, stderr := runCLI(t, args...)
		if code != exitUsage || out != "" {
			t.Errorf("%v: exit %d, output %q; want %d and nothing", args, code, out, exitUsage)
		}
		if want := bad + ":4: rules.seq-scan.thresholds.large_table_row: unknown threshold; did you mean large_table_rows?"; !strings.Contains(stderr, want) {
			t.Errorf("%v: stderr %q does not say %q", args, stderr, want)
		}
	}
	if code, _, stderr := runCLI(t, "config", "--config", filepath.Join(dir, "none.yaml")); code != exitUsage || !strings.Contains(stderr, "none.yaml") {
		t.Errorf("a missing --config file: exit %d: %s", code, stderr)
	}

	// Found from the working directory: a sub-directory of the file's.
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	code, out, stderr := runCLI(t, "config", "--trust-functions", "app.f,app.g")
	if code != exitClean {
		t.Fatalf("found file: exit %d: %s", code, stderr)
	}
	if !lineHas(out, "large_table_rows: 50000", file+":6") || !lineHas(out, `trust_functions: ["app.f", "app.g"]`, "--trust-functions") {
		t.Errorf("the file of a parent directory was not read, or the flag did not win:\n%s", out)
	}

}

// lineHas reports whether one line of out contains all of parts.
func lineHas(out string, parts ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// TestConfigLiveAndOffline sets a threshold of each kind in .pgadvisor.yaml
// — a shared one (thresholds.min_calls), a rule's own
// (rules.seq-scan.thresholds.large_table_rows), the what-if engine's
// (what_if.max_new_indexes, what_if.min_table_rows) — and a rule switch
// (rules.unused-index.enabled), and sees each take effect in a live audit
// against the server and in the offline re-run of a snapshot saved without
// the file; and trust_functions reaching explain's safety gate.
func TestConfigLiveAndOffline(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Three tables of 20,000 rows, each read by sequential scan for k = $1;
	// c's statement runs fewer times. An index on a.v is never used.
	for _, sql := range []string{
		`CREATE SCHEMA cfg`,
		`CREATE TABLE cfg.a (id int PRIMARY KEY, k int, v text)`,
		`CREATE TABLE cfg.b (id int PRIMARY KEY, k int, v text)`,
		`CREATE TABLE cfg.c (id int PRIMARY KEY, k int, v text)`,
		`INSERT INTO cfg.a SELECT i, i % 1000, md5(i::text) FROM generate_series(1, 20000) i`,
		`INSERT INTO cfg.b SELECT i, i % 1000, md5(i::text) FROM generate_series(1, 20000) i`,
		`INSERT INTO cfg.c SELECT i, i % 1000, md5(i::text) FROM generate_series(1, 20000) i`,
		`CREATE INDEX a_v_idx ON cfg.a (v)`,
		`CREATE FUNCTION cfg.slugify(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower($1) $$`,
		`ANALYZE cfg.a, cfg.b, cfg.c`,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	for i := 0; i < 60; i++ {
		for _, q := range []string{`SELECT id, v FROM cfg.a WHERE k = $1`, `SELECT id, v FROM cfg.b WHERE k = $1`} {
			if _, err := conn.Exec(ctx, q, i); err != nil {
				t.Fatal(err)
			}
		}
		if i < 10 {
			if _, err := conn.Exec(ctx, `SELECT id, v FROM cfg.c WHERE k = $1`, i); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The table counters unused-index reads are flushed when the session is idle.
	if _, err := conn.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SELECT 1`); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	none := writeText(t, dir, "none.yaml", "# defaults only\n")
	tight := writeText(t, dir, "tight.yaml", `thresholds:
  min_calls: 30          # c's statement (10 calls) is no finding
rules:
  seq-scan:
    thresholds:
      large_table_rows: 100000  # the 20,000-row tables are not large for seq-scan
  unused-index:
    enabled: false
what_if:
  max_new_indexes: 1
`)
	noIndexes := writeText(t, dir, "small.yaml", `what_if:
  min_table_rows: 100000  # the what-if engine and seq-scan's candidate check skip the tables
`)
	snapPath := filepath.Join(dir, "snap.json")
	audit := func(name, config string, source ...string) *report.Report {
		t.Helper()
		out := filepath.Join(dir, name+".json")
		args := []string{"audit", "--config", config, "--format", "json", "--output", out}
		if len(source) > 0 {
			args = append(args, source...)
		} else {
			args = append(args, "--dsn", dsn, "--sample-window", "0")
		}
		if code, _, stderr := runCLI(t, args...); code != exitClean {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		return readReport(t, out)
	}
	base := audit("live-defaults", none, "--dsn", dsn, "--sample-window", "0", "--save-snapshot", snapPath)
	defer keepOnFailure(t, snapPath)
	// The defaults see every problem: the ground the configurations stand on.
	if n := countRule(base, "seq-scan", ""); n != 3 {
		t.Errorf("defaults: %d seq-scan findings, want 3 (a, b, c)", n)
	}
	if n := countRule(base, "missing-index", ""); n != 3 {
		t.Errorf("defaults: %d missing-index findings, want 3", n)
	}
	if countRule(base, "unused-index", "cfg.a_v_idx") != 1 {
		t.Errorf("defaults: cfg.a_v_idx is not reported unused")
	}
	if !t.Failed() {
		for _, run := range []struct {
			name string
			r    *report.Report
		}{
			{"live", audit("live-tight", tight)},
			{"offline", audit("offline-tight", tight, "--snapshot", snapPath)},
		} {
			r := run.r
			if n := countRule(r, "seq-scan", ""); n != 0 {
				t.Errorf("%s: %d seq-scan findings with rules.seq-scan.thresholds.large_table_rows 100000", run.name, n)
				for _, f := range r.Findings {
					t.Logf("%s: %s %v %s %v", run.name, f.Rule, f.Objects, f.Message, f.Evidence)
				}
			}
			if n := countRule(r, "missing-index", ""); n != 1 {
				t.Errorf("%s: %d missing-index findings with what_if.max_new_indexes 1", run.name, n)
			}
			if n := countRule(r, "", "cfg.c"); n != 0 {
				t.Errorf("%s: %d findings on cfg.c, whose statement has fewer calls than thresholds.min_calls", run.name, n)
			}
			if n := countRule(r, "unused-index", ""); n != 0 {
				t.Errorf("%s: unused-index reported while disabled", run.name)
			}
		}
		for _, run := range []struct {
			name string
			r    *report.Report
		}{
			{"live", audit("live-small", noIndexes)},
			{"offline", audit("offline-small", noIndexes, "--snapshot", snapPath)},
		} {
			r := run.r
			if n := countRule(r, "missing-index", ""); n != 0 {
				t.Errorf("%s: %d missing-index findings with what_if.min_table_rows 100000", run.name, n)
			}
			if n := countRule(r, "seq-scan", ""); n != 3 {
				t.Errorf("%s: %d seq-scan findings, want 3 (what_if does not change what seq-scan reports)", run.name, n)
			}
			for _, f := range r.Findings {
				if (f.Rule == "seq-scan" || contains(f.RelatedRules, "seq-scan")) && strings.Contains(fixText(f), "CREATE INDEX") {
					t.Errorf("%s: seq-scan proposes an index on a table what_if.min_table_rows excludes: %s", run.name, fixText(f))
				}
			}
		}
	}
	// trust_functions reaches the safety gate: a statement calling a user
	// function is planned only when the file trusts the function.
	const call = "SELECT id FROM cfg.a WHERE v = cfg.slugify('X')"
	if code, _, stderr := runCLI(t, "explain", "--config", none, "--dsn", dsn, "--no-what-if", call); code != exitFailure || !strings.Contains(stderr, "not planned") {
		t.Errorf("explain of an untrusted function: exit %d: %s", code, stderr)
	}
	trusting := writeText(t, dir, "trust.yaml", "trust_functions: [cfg.slugify]\n")
	code, out, stderr := runCLI(t, "explain", "--config", trusting, "--dsn", dsn, "--no-what-if", "--format", "json", call)
	if code != exitClean {
		t.Errorf("explain with trust_functions [cfg.slugify]: exit %d: %s", code, stderr)
	} else {
		var r report.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		if r.Summary.PlansByMode["analyze"] != 1 {
			t.Errorf("explain with trust_functions [cfg.slugify]: plans %v, want one analyze plan", r.Summary.PlansByMode)
		}
	}
	if t.Failed() {
		for _, f := range base.Findings {
			t.Logf("defaults: %s %v %s | fix %q", f.Rule, f.Objects, f.Message, fixText(f))
		}
	}
}

// countRule counts the findings of a rule ("" any) about an object ("" any),
// including the findings merged into another rule's (related_rules).
func countRule(r *report.Report, rule, object string) int {
	n := 0
	for _, f := range r.Findings {
		if (rule == "" || f.Rule == rule || contains(f.RelatedRules, rule)) && (object == "" || contains(f.Objects, object)) {
			n++
		}
	}
	return n
}

// TestConfigDisablesRules: rules.<id>.enabled: false drops the rule from an
// offline audit; --rules naming it runs it anyway (a flag beats the file).
func TestConfigDisablesRules(t *testing.T) {
	dir := t.TempDir()
	snap := writeJSON(t, dir, "snap.json", loadGeneric(t, recordedSnapshot))
	count := func(args ...string) int {
		t.Helper()
		code, out, stderr := runCLI(t, append([]string{"audit", "--snapshot", snap, "--format", "json"}, args...)...)
		if code != exitClean {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		var r report.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		return countRule(&r, "missing-index", "")
	}
	none := writeText(t, dir, "none.yaml", "")
	off := writeText(t, dir, "off.yaml", "rules:\n  missing-index:\n    enabled: false\n")
	if n := count("--config", none); n == 0 {
		t.Fatalf("the recorded snapshot has no missing-index finding to disable")
	}
	if n := count("--config", off); n != 0 {
		t.Errorf("%d missing-index findings with rules.missing-index.enabled: false", n)
	}
	if n := count("--config", off, "--rules", "missing-index"); n == 0 {
		t.Errorf("--rules missing-index did not run the rule the file disables")
	}
}

// TestConfigPolicyApplied: the ignore entries and severity overrides of
// .pgadvisor.yaml reach the findings pipeline, offline: an ignored finding is
// gone from the findings, kept in suppressed with its reason and counted; an
// entry that matches nothing is reported; a severity override changes the
// finding's severity.
func TestConfigPolicyApplied(t *testing.T) {
	snap := filepath.Join("..", "..", "pgstat", "testdata", "v1-verify", "snapshot.json")
	dir := t.TempDir()
	audit := func(cfg string) *report.Report {
		t.Helper()
		path := writeText(t, dir, "p.yaml", cfg)
		code, out, stderr := runCLI(t, "--config", path, "audit", "--snapshot", snap, "--format", "json")
		if code != exitClean {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		var r report.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		return &r
	}
	base := audit("rules:\n  missing-index:\n    severity: notice\n")
	if countRule(base, "missing-index", "public.big") != 1 {
		t.Fatalf("want one missing-index finding on public.big, got %+v", base.Findings)
	}
	for _, f := range base.Findings {
		if f.Rule == "missing-index" && f.Severity != advisor.SeverityNotice {
			t.Errorf("severity override: %s, want notice", f.Severity)
		}
	}
	r := audit(`ignore:
  - rule: missing-index
    object: public.big
    reason: built on the reporting replica only
  - rule: unused-index
    object: public.no_such_idx
    reason: stale entry
`)
	if countRule(r, "missing-index", "public.big") != 0 {
		t.Errorf("ignored finding still reported: %+v", r.Findings)
	}
	if len(r.Suppressed) != 1 || r.Suppressed[0].Reason != "built on the reporting replica only" || r.Summary.Suppressed != 1 {
		t.Errorf("suppressed: %+v, summary %d", r.Suppressed, r.Summary.Suppressed)
	}
	if len(r.UnmatchedIgnores) != 1 || r.UnmatchedIgnores[0].Object != "public.no_such_idx" {
		t.Errorf("unmatched ignores: %+v", r.UnmatchedIgnores)
	}
	path := writeText(t, dir, "q.yaml", "ignore:\n  - rule: missing-index\n    object: public.big\n    reason: replica\n")
	_, table, _ := runCLI(t, "--config", path, "audit", "--snapshot", snap)
	if !strings.Contains(table, "1 finding suppressed by ignore entries of the configuration (1 missing-index)") {
		t.Errorf("table does not count the suppressed finding:\n%s", table)
	}
}

// TestRulesShowConfiguredSeverity: pgadvisor rules shows the severity each
// rule reports with under the configuration, and the rules it turns off.
func TestRulesShowConfiguredSeverity(t *testing.T) {
	path := writeText(t, t.TempDir(), "r.yaml", "rules:\n  unused-index:\n    enabled: false\n  fk-missing-index:\n    severity: notice\n")
	code, out, stderr := runCLI(t, "--config", path, "rules")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"| fk-missing-index        | catalog  | notice * |", "| unused-index            | catalog  | off *    |", "* set in " + path} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if _, plain, _ := runCLI(t, "--config", writeText(t, t.TempDir(), "e.yaml", "{}\n"), "rules"); strings.Contains(plain, "*") {
		t.Errorf("rules marks a configured value without a configuration:\n%s", plain)
	}
}
