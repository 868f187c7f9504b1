package pgstat

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
)

// v1Snapshot was saved by a live `pgadvisor audit --verify --save-snapshot`
// (TestLiveSnapshotWithVerifyReloads' workload) before schema version 2,
// when what_if and verify were opaque JSON; findings.json next to it is what
// `audit --snapshot` reported from it then.
const v1Snapshot = "testdata/v1-verify/snapshot.json"

// TestReadSchemaVersion1: a recorded version-1 snapshot still loads, and
// its what-if results and --verify measurements arrive typed.
func TestReadSchemaVersion1(t *testing.T) {
	data, err := os.ReadFile(v1Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := Read(data)
	if err != nil {
		t.Fatalf("read a version-1 snapshot: %v", err)
	}
	if snap.SchemaVersion != 1 || SchemaVersion != 2 {
		t.Fatalf("schema_version %d read, %d current; want 1 and 2", snap.SchemaVersion, SchemaVersion)
	}
	w := snap.WhatIf
	if w == nil {
		t.Fatal("what_if did not arrive")
	}
	if w.HypoPG == "" || w.CandidatesTried != 1 || w.PlannerCalls == 0 || w.Options.MinCostReduction != 0.5 {
		t.Errorf("what_if: hypopg %q, %d candidates tried, %d planner calls, min_cost_reduction %v", w.HypoPG, w.CandidatesTried, w.PlannerCalls, w.Options.MinCostReduction)
	}
	const id = "public.big btree (code)"
	if len(w.Candidates) != 1 || w.Candidates[0].ID != id || w.Candidates[0].ID != w.Candidates[0].Candidate.ID() ||
		len(w.Candidates[0].Keys) != 1 || w.Candidates[0].Keys[0].Column != "code" || w.Candidates[0].SizeBytes <= 0 {
		t.Errorf("what_if.candidates: %+v, want one on big (code) with its size", w.Candidates)
	}
	if got := w.Candidates[0].Candidate.CreateSQL(); got != "CREATE INDEX CONCURRENTLY IF NOT EXISTS big_code_idx ON public.big USING btree (code)" {
		t.Errorf("the recorded candidate writes %q", got)
	}
	if !reflect.DeepEqual(w.Chosen, []string{id}) || len(w.Evaluations) != 1 || w.Evaluations[0].QueryID != "2205726621569143630" || w.Evaluations[0].Cost <= 0 {
		t.Errorf("what_if: chosen %v, evaluations %+v", w.Chosen, w.Evaluations)
	}
	if len(w.Statements) == 0 || w.Statements[0].Cost <= 0 || w.Statements[0].Mode == "" {
		t.Errorf("what_if.statements: %+v", w.Statements)
	}
	if len(snap.Verify) != 1 {
		t.Fatalf("verify: %d measurements, want 1", len(snap.Verify))
	}
	m := snap.Verify[0]
	if m.QueryID != "2205726621569143630" || !reflect.DeepEqual(m.Indexes, []string{"big_code_idx"}) ||
		m.BeforeMS != 13.86 || m.AfterMS != 0.12 || m.Speedup != 118.46 || m.EstimatedReduction != 0.962 || !m.UsedIndex || m.Skipped != "" {
		t.Errorf("verify[0] = %+v", m)
	}

	// Written again, the typed results read back the same.
	var buf bytes.Buffer
	if err := snap.Write(&buf); err != nil {
		t.Fatal(err)
	}
	again, err := Read(buf.Bytes())
	if err != nil {
		t.Fatalf("re-read: %v", err)
	}
	if !reflect.DeepEqual(again.WhatIf, snap.WhatIf) || !reflect.DeepEqual(again.Verify, snap.Verify) {
		t.Errorf("what_if or verify changed through Write and Read")
	}
}

// TestReadSchemaVersions: versions 1 and 2 load, others are refused with
// the supported range.
func TestReadSchemaVersions(t *testing.T) {
	for v, ok := range map[string]bool{"0": false, "1": true, "2": true, "3": false} {
		data := []byte(`{"kind": "pgadvisor-snapshot", "schema_version": ` + v + `, "server": {"version": "15.18", "version_num": 150018}, "statements": [], "tables": [], "indexes": [], "foreign_keys": []}`)
		_, err := Read(data)
		if ok && err != nil {
			t.Errorf("schema_version %s: %v", v, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), "supports 1..2")) {
			t.Errorf("schema_version %s: got %v, want a refusal naming 1..2", v, err)
		}
	}
}
