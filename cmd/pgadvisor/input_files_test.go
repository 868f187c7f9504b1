package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/report"
)

// recordedSnapshot is a snapshot recorded from PostgreSQL with findings
// (missing-index, verified with HypoPG, what-if results included), decoded
// generically so that a test can break any part of it.
const recordedSnapshot = "../../advisor/testdata/missing-index-verified/snapshot.json"

func loadGeneric(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func writeJSON(t *testing.T, dir, name string, v any) string {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return writeText(t, dir, name, string(data))
}

func writeText(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func item(m map[string]any, key string, i int) map[string]any {
	return m[key].([]any)[i].(map[string]any)
}

// TestHostileSnapshot: a snapshot file with values no server produces is
// refused with exit 2 and a message naming the field, and nothing of it is
// reported.
func TestHostileSnapshot(t *testing.T) {
	dir := t.TempDir()
	// The unbroken file reports findings: an empty stdout below means the
	// file was refused, not that it had nothing to say.
	code, out, stderr := runCLI(t, "audit", "--snapshot", writeJSON(t, dir, "good.json", loadGeneric(t, recordedSnapshot)), "--format", "json")
	if code != exitClean {
		t.Fatalf("the recorded snapshot: exit %d: %s", code, stderr)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.Findings) == 0 {
		t.Fatalf("the recorded snapshot reports no findings (%v): %s", err, out)
	}

	for _, c := range []struct {
		name   string
		break_ func(m map[string]any)
		text   func(string) string // applied to the file's text, after break_
		want   string
	}{
		{"absurd time", func(m map[string]any) { item(m, "statements", 3)["total_exec_time"] = 1e308 }, nil,
			"statements[3].total_exec_time = 1e308 is out of range"},
		{"negative counter", func(m map[string]any) { item(m, "statements", 0)["calls"] = -750 }, nil,
			"statements[0].calls = -750 is out of range"},
		{"negative size", func(m map[string]any) { item(m, "tables", 0)["size_bytes"] = -1 }, nil,
			"tables[0].size_bytes = -1 is out of range"},
		{"index without a name", func(m map[string]any) { item(m, "indexes", 0)["name"] = "" }, nil,
			"indexes[0].name is empty"},
		{"table without a name", func(m map[string]any) { item(m, "tables", 0)["name"] = "" }, nil,
			"tables[0].name is empty"},
		{"unknown relkind", func(m map[string]any) { item(m, "tables", 0)["kind"] = "z" }, nil,
			`tables[0].kind = "z" is not a known value`},
		{"what-if results that do not decode", func(m map[string]any) { m["what_if"] = "garbage" }, nil,
			"what_if does not decode"},
		{"what-if results about nothing", func(m map[string]any) {
			w := m["what_if"].(map[string]any)
			w["chosen"] = []any{"public.nowhere btree (x)"}
		}, nil, `what_if.chosen[0] = "public.nowhere btree (x)" refers to no candidate`},
		{"what-if statement not in the snapshot", func(m map[string]any) {
			item(m["what_if"].(map[string]any), "statements", 0)["queryid"] = "999"
		}, nil, `refers to no statement of the snapshot`},
		{"duplicate key", nil, func(s string) string {
			return strings.Replace(s, `"total_exec_time": 4000`, `"total_exec_time": 4000, "total_exec_time": 1`, 1)
		}, `duplicate key "total_exec_time" in statements[3]`},
		{"trailing garbage", nil, func(s string) string { return s + "\n}garbage" }, "unexpected data after the JSON value"},
	} {
		m := loadGeneric(t, recordedSnapshot)
		if c.break_ != nil {
			c.break_(m)
		}
		path := writeJSON(t, dir, "hostile.json", m)
		if c.text != nil {
			data, _ := os.ReadFile(path)
			broken := c.text(string(data))
			if broken == string(data) {
				t.Fatalf("%s: the edit changed nothing", c.name)
			}
			writeText(t, dir, "hostile.json", broken)
		}
		for _, format := range []string{"json", "table"} {
			code, out, stderr := runCLI(t, "audit", "--snapshot", path, "--format", format)
			if code != exitUsage {
				t.Errorf("%s (%s): exit %d, want %d; stderr %q", c.name, format, code, exitUsage, stderr)
			}
			if want := "snapshot " + path + ": "; !strings.Contains(stderr, want) || !strings.Contains(stderr, c.want) {
				t.Errorf("%s (%s): stderr %q does not say %q%s", c.name, format, stderr, want, c.want)
			}
			if out != "" {
				t.Errorf("%s (%s): printed a report from a refused snapshot:\n%s", c.name, format, out)
			}
		}
	}
}

// TestThresholdsOutOfRange: a threshold out of its range, from a file or a
// flag, is a usage error naming it and the range; so is a thresholds file
// with a repeated key or trailing data.
func TestThresholdsOutOfRange(t *testing.T) {
	dir := t.TempDir()
	snap := writeJSON(t, dir, "snap.json", loadGeneric(t, recordedSnapshot))
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"fraction above 1 in a file", []string{"--thresholds", writeText(t, dir, "t1.json", `{"min_share": 1.5}`)},
			[]string{"--thresholds", "min_share = 1.5 is out of range: a fraction from 0 to 1"}},
		{"negative in a file", []string{"--thresholds", writeText(t, dir, "t2.json", `{"large_table_rows": -10}`)},
			[]string{"large_table_rows = -10 is out of range"}},
		{"count below 1 in a file", []string{"--thresholds", writeText(t, dir, "t3.json", `{"large_offset": 0}`)},
			[]string{"large_offset = 0 is out of range: a count from 1"}},
		{"two in a file", []string{"--thresholds", writeText(t, dir, "t4.json", `{"jit_share": 2, "misestimate_factor": 0.1}`)},
			[]string{"jit_share = 2", "misestimate_factor = 0.1 is out of range: a factor from 1"}},
		{"duplicate key", []string{"--thresholds", writeText(t, dir, "t5.json", `{"min_share": 0.01, "min_share": 0.5}`)},
			[]string{`duplicate key "min_share"`}},
		{"trailing garbage", []string{"--thresholds", writeText(t, dir, "t6.json", `{"min_share": 0.01} {"min_share": 0.5}`)},
			[]string{"unexpected data after the JSON value"}},
		{"unknown key", []string{"--thresholds", writeText(t, dir, "t7.json", `{"min_shares": 0.01}`)},
			[]string{"min_shares"}},
		{"negative --min-calls", []string{"--min-calls", "-1"}, []string{"--min-calls -1 is out of range: a count from 0"}},
		{"--log-min-repeats 0", []string{"--log-min-repeats", "0"}, []string{"--log-min-repeats 0 is out of range: a count from 1"}},
		{"negative --log-min-ms", []string{"--log-min-ms", "-5"}, []string{"--log-min-ms -5 is out of range"}},
		{"--min-cost-reduction above 1", []string{"--min-cost-reduction", "1.5"}, []string{"--min-cost-reduction 1.5 is out of range: a fraction above 0 and below 1"}},
		{"negative --max-new-indexes", []string{"--max-new-indexes", "-2"}, []string{"--max-new-indexes -2 is out of range"}},
		{"absurd --storage-budget", []string{"--storage-budget", "1e30GB"}, []string{"--storage-budget", "out of range"}},
		{"flag beats a valid file, still checked", []string{"--thresholds", writeText(t, dir, "t8.json", `{"min_calls": 5}`), "--min-calls", "-3"},
			[]string{"--min-calls -3 is out of range"}},
	} {
		code, out, stderr := runCLI(t, append([]string{"audit", "--snapshot", snap}, c.args...)...)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want %d; stderr %q", c.name, code, exitUsage, stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr %q does not say %q", c.name, stderr, w)
			}
		}
		if out != "" {
			t.Errorf("%s: printed a report", c.name)
		}
	}
	// In range, at the edges: accepted.
	edges := writeText(t, dir, "edges.json", `{"min_share": 1, "min_calls": 0, "stale_stats_fraction": 3, "max_new_indexes": 0}`)
	if code, _, stderr := runCLI(t, "audit", "--snapshot", snap, "--thresholds", edges, "--min-calls", "0", "--format", "json"); code != exitClean {
		t.Errorf("thresholds at the edges of their ranges: exit %d: %s", code, stderr)
	}
}

// TestHostileSavedPlan: explain --plan refuses a plan file with a repeated
// key, trailing data or negative numbers.
func TestHostileSavedPlan(t *testing.T) {
	data, err := os.ReadFile("../../explain/testdata/hashagg_disk.json")
	if err != nil {
		t.Fatal(err)
	}
	good := string(data)
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "explain", "--plan", writeText(t, dir, "good.json", good)); code != exitClean {
		t.Fatalf("the recorded plan: exit %d: %s", code, stderr)
	}
	for _, c := range []struct{ name, text, want string }{
		{"duplicate key", strings.Replace(good, `"Plan Rows": 200000,`, `"Plan Rows": 200000, "Plan Rows": 1,`, 1), `duplicate key "Plan Rows"`},
		{"trailing garbage", good + "\ngarbage", "plan "},
		{"negative rows", strings.Replace(good, `"Actual Rows": 200000,`, `"Actual Rows": -200000,`, 1), "Actual Rows = -200000 is out of range"},
		{"absurd execution time", strings.Replace(good, `"Execution Time": 251.439`, `"Execution Time": 1e308`, 1), "Execution Time = 1e308 is out of range"},
	} {
		if c.text == good {
			t.Fatalf("%s: the edit changed nothing", c.name)
		}
		path := writeText(t, dir, "hostile.json", c.text)
		code, out, stderr := runCLI(t, "explain", "--plan", path)
		if code != exitUsage || !strings.Contains(stderr, "plan "+path+": ") || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q, want exit 2 saying %q", c.name, code, stderr, c.want)
		}
		if out != "" {
			t.Errorf("%s: printed a report", c.name)
		}
	}
}

// TestLargeTotalsDoNotOverflow: times at the top of the valid range, summed
// over many statements, stay positive through rounding in the report (a
// float-to-int64 conversion once made such a total -922337203685477600).
func TestLargeTotalsDoNotOverflow(t *testing.T) {
	m := loadGeneric(t, recordedSnapshot)
	stmts := m["statements"].([]any)
	base := stmts[0].(map[string]any)
	for _, s := range stmts {
		s := s.(map[string]any)
		s["total_exec_time"] = float64(pgstat.MaxValue)
		s["mean_exec_time"] = float64(pgstat.MaxValue) / s["calls"].(float64)
	}
	for i := 0; i < 150; i++ {
		s := map[string]any{}
		for k, v := range base {
			s[k] = v
		}
		s["queryid"] = strconv.Itoa(1000 + i)
		s["query"] = "SELECT " + strconv.Itoa(i) + " FROM orders WHERE customer_id = $1"
		s["total_exec_time"] = float64(pgstat.MaxValue)
		s["mean_exec_time"] = float64(pgstat.MaxValue) / 750
		stmts = append(stmts, s)
	}
	m["statements"] = stmts
	path := writeJSON(t, t.TempDir(), "large.json", m)
	code, out, stderr := runCLI(t, "audit", "--snapshot", path, "--format", "json")
	if code != exitClean {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if want := float64(len(stmts)) * float64(pgstat.MaxValue); r.Summary.TotalMS < want*0.99 {
		t.Errorf("summary total_ms = %v, want about %v", r.Summary.TotalMS, want)
	}
	if len(r.Findings) == 0 {
		t.Fatal("no findings: nothing checked")
	}
	for _, f := range r.Findings {
		if f.Impact.TotalMS < 0 || f.Impact.Share < 0 || f.Impact.Share > 1 {
			t.Errorf("%s: impact %+v out of range", f.Rule, f.Impact)
		}
	}
}

// TestLiveSnapshotWithVerifyReloads: everything a live audit saves (what-if
// results and --verify measurements included) passes the validation of
// --snapshot, and gives the same findings offline.
func TestLiveSnapshotWithVerifyReloads(t *testing.T) {
	dsn := pgtest.DB(t)
	execSQL(t, dsn, "CREATE TABLE big (id bigint PRIMARY KEY, code int NOT NULL, note text)",
		"INSERT INTO big SELECT g, g % 5000, 'n' || g FROM generate_series(1, 200000) g", "ANALYZE big")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		if _, err := conn.Exec(ctx, "SELECT note FROM big WHERE code = $1", i); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close(ctx)

	snapPath := filepath.Join(t.TempDir(), "snap.json")
	code, live, stderr := runCLI(t, "audit", "--dsn", dsn, "--format", "json", "--sample-window", "0", "--verify", "--save-snapshot", snapPath)
	if code != exitClean {
		t.Fatalf("live audit: exit %d: %s", code, stderr)
	}
	snap, err := os.ReadFile(snapPath)
	if err != nil {
		t.Fatal(err)
	}
	var saved struct {
		WhatIf json.RawMessage `json:"what_if"`
		Verify json.RawMessage `json:"verify"`
	}
	if err := json.Unmarshal(snap, &saved); err != nil {
		t.Fatal(err)
	}
	if len(saved.WhatIf) < 10 || len(saved.Verify) < 10 {
		t.Fatalf("the snapshot has no what-if results or measurements to check (what_if %d bytes, verify %d bytes)", len(saved.WhatIf), len(saved.Verify))
	}
	code, offline, stderr := runCLI(t, "audit", "--snapshot", snapPath, "--format", "json")
	if code != exitClean {
		t.Fatalf("--snapshot of a live audit's snapshot: exit %d: %s", code, stderr)
	}
	rules := func(out string) string {
		var r report.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, f := range r.Findings {
			ids = append(ids, f.Rule+" "+f.Message)
		}
		return strings.Join(ids, "\n")
	}
	if l, o := rules(live), rules(offline); l != o || !strings.Contains(l, "missing-index") {
		t.Errorf("findings live:\n%s\noffline:\n%s\n(want the same, with missing-index)", l, o)
	}
}

// TestSnapshotVersion1Findings: a snapshot saved with schema version 1 (what
// it holds: pgstat/testdata/v1-verify) is audited offline exactly as it was
// when it was saved: the same findings, the --verify measurements in the
// missing-index evidence included.
func TestSnapshotVersion1Findings(t *testing.T) {
	const dir = "../../pgstat/testdata/v1-verify/"
	code, out, stderr := runCLI(t, "audit", "--snapshot", dir+"snapshot.json", "--format", "json")
	if code != exitClean {
		t.Fatalf("--snapshot of a version-1 snapshot: exit %d: %s", code, stderr)
	}
	var got struct {
		Findings []any `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(dir + "findings.json")
	if err != nil {
		t.Fatal(err)
	}
	var want []any
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Findings, want) {
		g, _ := json.MarshalIndent(got.Findings, "", "  ")
		t.Errorf("findings of the version-1 snapshot changed:\n%s\nwant (%s):\n%s", g, dir+"findings.json", data)
	}
	if !strings.Contains(out, `"speedup": 118.46`) {
		t.Errorf("the --verify measurement is not in the report:\n%s", out)
	}
}
