package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/report"
)

// savedPlanReport runs explain --plan path and decodes its JSON report.
func savedPlanReport(t *testing.T, path string) *report.Report {
	t.Helper()
	code, out, stderr := runCLI(t, "explain", "--plan", path, "--format", "json")
	if code != exitClean {
		t.Fatalf("%s: exit %d: %s", path, code, stderr)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &r
}

// findingOf returns the report's finding of rule, or nil.
func findingOf(r *report.Report, rule string) *advisor.Finding {
	for i := range r.Findings {
		if r.Findings[i].Rule == rule {
			return &r.Findings[i]
		}
	}
	return nil
}

// TestExplainSavedPlanShapes: the plan shapes of issue 10 §8, through
// explain --plan (explain/testdata/shapes/README.md says where each comes from).
func TestExplainSavedPlanShapes(t *testing.T) {
	const dir = "../../explain/testdata/"
	t.Run("pg17 JIT Generation object", func(t *testing.T) {
		f := findingOf(savedPlanReport(t, dir+"shapes/jit_pg17.json"), "jit-dominates")
		if f == nil {
			t.Fatal("no jit-dominates finding")
		}
		if f.Evidence["jit_generation_ms"] != 0.292 || f.Evidence["jit_generation_deform_ms"] != 0.071 || f.Evidence["jit_total_ms"] != 141.353 {
			t.Errorf("evidence %v", f.Evidence)
		}
	})
	t.Run("plan's own Settings work_mem", func(t *testing.T) {
		// Recorded with EXPLAIN SETTINGS at work_mem 64kB; the saved plan has no
		// snapshot, whose default would be 4 MB.
		f := findingOf(savedPlanReport(t, dir+"sort_external_merge.json"), "sort-spill")
		if f == nil {
			t.Fatal("no sort-spill finding")
		}
		if !strings.Contains(f.Message, "work_mem 64 kB") || f.Evidence["work_mem_kb"] != 64.0 {
			t.Errorf("message %q, work_mem_kb %v", f.Message, f.Evidence["work_mem_kb"])
		}
		for _, name := range []string{"hash_join_batches.json", "hashagg_disk.json"} {
			f := findingOf(savedPlanReport(t, dir+name), "hash-spill")
			if f == nil || !strings.Contains(f.Message, "work_mem 64 kB x hash_mem_multiplier 1") {
				t.Errorf("%s: %v", name, f)
			}
		}
		// hash_mem_multiplier from the plan's Settings too.
		data, err := os.ReadFile(dir + "hash_join_batches.json")
		if err != nil {
			t.Fatal(err)
		}
		var plans []map[string]any
		if err := json.Unmarshal(data, &plans); err != nil {
			t.Fatal(err)
		}
		plans[0]["Settings"].(map[string]any)["hash_mem_multiplier"] = "8"
		edited, _ := json.Marshal(plans)
		path := filepath.Join(t.TempDir(), "plan.json")
		os.WriteFile(path, edited, 0o644)
		if f := findingOf(savedPlanReport(t, path), "hash-spill"); f == nil || !strings.Contains(f.Message, "work_mem 64 kB x hash_mem_multiplier 8") {
			t.Errorf("hash_mem_multiplier 8 in Settings: %v", f)
		}
	})
	t.Run("WindowAgg Run Condition", func(t *testing.T) {
		// 15 (recorded) and 17 (joe's corpus plan: the 4560x of the issue).
		for _, path := range []string{dir + "windowagg_run_condition.json", dir + "corpus/joe-pg17-window_run_condition.json"} {
			if f := findingOf(savedPlanReport(t, path), "row-misestimate"); f != nil {
				t.Errorf("%s: %s: %s", path, f.Severity, f.Message)
			}
		}
		// Without the Run Condition the same overestimate is reported.
		data, err := os.ReadFile(dir + "windowagg_run_condition.json")
		if err != nil {
			t.Fatal(err)
		}
		var plans []map[string]any
		if err := json.Unmarshal(data, &plans); err != nil {
			t.Fatal(err)
		}
		delete(plans[0]["Plan"].(map[string]any), "Run Condition")
		stripped, _ := json.Marshal(plans)
		path := filepath.Join(t.TempDir(), "plan.json")
		os.WriteFile(path, stripped, 0o644)
		if findingOf(savedPlanReport(t, path), "row-misestimate") == nil {
			t.Error("no row-misestimate without the Run Condition: the test shows nothing")
		}
	})
	t.Run("parallel sort spill in the workers", func(t *testing.T) {
		f := findingOf(savedPlanReport(t, dir+"parallel_sort_spill.json"), "sort-spill")
		if f == nil {
			t.Fatal("no sort-spill finding")
		}
		// Leader 3952 kB, workers 2848 kB and 3248 kB.
		if f.Evidence["sort_space_used_kb"] != 10048.0 || f.Evidence["largest_process_spill_kb"] != 3952.0 || f.Evidence["spilling_workers"] != 2.0 {
			t.Errorf("evidence %v", f.Evidence)
		}
		if !strings.Contains(f.Message, "9.8 MB to disk in 3 parallel processes (2 workers and the leader") {
			t.Errorf("message %q", f.Message)
		}
	})
	t.Run("BOM, psql frame, newer fields", func(t *testing.T) {
		for _, name := range []string{"shapes/bom.json", "shapes/psql_framed.txt", "shapes/newer_fields.json"} {
			savedPlanReport(t, dir+name)
		}
		code, _, stderr := runCLI(t, "explain", "--plan", dir+"shapes/psql_framed_text.txt")
		if code != exitUsage || !strings.Contains(stderr, "EXPLAIN text output; use EXPLAIN (FORMAT JSON)") {
			t.Errorf("framed text plan: exit %d, %q", code, stderr)
		}
	})
	t.Run("error message keeps UTF-8 characters", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "plan.txt")
		os.WriteFile(path, []byte(strings.Repeat("план ", 10)), 0o644)
		code, _, stderr := runCLI(t, "explain", "--plan", path)
		if code != exitUsage || !utf8.ValidString(stderr) || !strings.Contains(stderr, "…") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}

// TestExplainSavedPlanCorpus: every real plan of explain/testdata/corpus
// goes through explain --plan (parse, strict checks, every plan rule)
// without an error.
func TestExplainSavedPlanCorpus(t *testing.T) {
	files, err := filepath.Glob("../../explain/testdata/corpus/*.json")
	if err != nil || len(files) < 84 {
		t.Fatalf("%d corpus plans (%v)", len(files), err)
	}
	for _, f := range files {
		code, _, stderr := runCLI(t, "explain", "--plan", f, "--format", "json")
		if code != exitClean || stderr != "" {
			t.Errorf("%s: exit %d: %s", filepath.Base(f), code, stderr)
		}
	}
}
