package whatif

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

const candID = "shop.orders btree (customer_id)"

func recordedSnapshot(t *testing.T, res *Result, measured []Measured) *pgstat.Snapshot {
	t.Helper()
	s := pgstat.New()
	s.Statements = []pgstat.Statement{{QueryID: 101, Query: "SELECT * FROM shop.orders WHERE customer_id = $1", Calls: 5, TotalExecTime: 50}}
	s.Tables = []pgstat.Table{{Schema: "shop", Name: "orders", Kind: "r", Rows: 1e5}}
	s.WhatIf, s.Verify = res, measured
	return s
}

func validResult() *Result {
	return &Result{
		HypoPG:     "1.4.1",
		Options:    DefaultOptions(),
		Statements: []StatementCost{{QueryID: "101", Cost: 4391.9, Mode: explain.ModeGeneric}},
		Candidates: []CandidateCost{{ID: candID, SizeBytes: 2 << 20, Candidate: Candidate{Schema: "shop", Table: "orders", Method: "btree",
			Keys: []Key{{Column: "customer_id"}}, EqualityKeys: 1, QueryIDs: []string{"101"}}}},
		Evaluations:     []Evaluation{{QueryID: "101", Set: []string{candID}, Cost: 8.4, Used: []string{candID}}},
		Chosen:          []string{candID},
		CandidatesTried: 1, PlannerCalls: 2, DurationMS: 30,
	}
}

func TestValidateRecorded(t *testing.T) {
	if err := ValidateRecorded(recordedSnapshot(t, validResult(), []Measured{{QueryID: "101", Indexes: []string{"orders_customer_id_idx"}, BeforeMS: 30, AfterMS: 0.1, Speedup: 300, EstimatedReduction: 0.99}})); err != nil {
		t.Fatalf("valid results: %v", err)
	}
	if err := ValidateRecorded(recordedSnapshot(t, nil, nil)); err != nil {
		t.Fatalf("no results: %v", err)
	}
	// A statement costed with a custom plan (representative or sampled
	// values) reads back: a live audit's snapshot with one was refused.
	custom := validResult()
	custom.Statements[0].Mode = explain.ModeCustom
	custom.Statements[0].Representative = &Representative{Values: []RepresentativeValue{{Param: 1, Predicate: "customer_id = <value>", Source: SampledSource}}}
	if err := ValidateRecorded(recordedSnapshot(t, custom, nil)); err != nil {
		t.Fatalf("custom plan: %v", err)
	}
	for _, c := range []struct {
		name   string
		change func(*Result)
		want   string
	}{
		{"statement that is not in the snapshot", func(r *Result) { r.Statements[0].QueryID = "999" }, `what_if.statements[0].queryid = "999" refers to no statement of the snapshot`},
		{"candidate for no statement", func(r *Result) { r.Candidates[0].QueryIDs = []string{"7"} }, `what_if.candidates[0].queryids[0] = "7" refers to no statement`},
		{"candidate on a table not collected", func(r *Result) { r.Candidates[0].Table = "ghost" }, "table shop.ghost is not in the snapshot's tables"},
		{"candidate without id", func(r *Result) { r.Candidates[0].ID = "" }, "what_if.candidates[0].id is empty"},
		{"duplicate candidate", func(r *Result) { r.Candidates = append(r.Candidates, r.Candidates[0]) }, "appears twice"},
		{"candidate without keys", func(r *Result) { r.Candidates[0].Keys, r.Candidates[0].EqualityKeys = nil, 0 }, "keys is empty"},
		{"key with column and expression", func(r *Result) { r.Candidates[0].Keys[0].Expression = "lower(x)" }, "keys[0] needs exactly one of column and expression"},
		{"bad method", func(r *Result) { r.Candidates[0].Method = "btree; DROP" }, "method"},
		{"evaluation of an unknown candidate", func(r *Result) { r.Evaluations[0].Set = []string{"nothing"} }, `what_if.evaluations[0].set[0] = "nothing" refers to no candidate`},
		{"used outside its set", func(r *Result) { r.Evaluations[0].Used = []string{"other"} }, "is not in its set"},
		{"evaluation of an unknown statement", func(r *Result) { r.Evaluations[0].QueryID = "5" }, `what_if.evaluations[0].queryid = "5"`},
		{"chosen unknown", func(r *Result) { r.Chosen = []string{"x"} }, `what_if.chosen[0] = "x" refers to no candidate`},
		{"negative cost", func(r *Result) { r.Evaluations[0].Cost = -8 }, "what_if.evaluations[0].cost = -8 is out of range"},
		{"negative size", func(r *Result) { r.Candidates[0].SizeBytes = -1 }, "what_if.candidates[0].size_bytes"},
		{"absurd duration", func(r *Result) { r.DurationMS = 1e100 }, "what_if.duration_ms"},
		{"reduction above 1", func(r *Result) { r.Options.MinCostReduction = 3 }, "what_if.options.min_cost_reduction = 3"},
		{"unknown mode", func(r *Result) { r.Statements[0].Mode = "guess" }, `what_if.statements[0].mode = "guess"`},
	} {
		res := validResult()
		c.change(res)
		err := ValidateRecorded(recordedSnapshot(t, res, nil))
		var ie *pgstat.InvalidError
		if !errors.As(err, &ie) {
			t.Errorf("%s: accepted (%v)", c.name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not say %q", c.name, err, c.want)
		}
	}
	for _, c := range []struct {
		name, whatIf, verify, want string
	}{
		{"what_if is a string", `"garbage"`, "", "what_if does not decode as what-if results"},
		{"what_if of the wrong shape", `{"statements": {"queryid": 1}}`, "", "what_if does not decode"},
		{"what_if with a duplicate key", `{"chosen": [], "chosen": ["x"]}`, "", `duplicate key "chosen"`},
		{"verify is an object", "", `{"queryid": "101"}`, "verify does not decode"},
		{"verify of an unknown statement", "", `[{"queryid": "404", "indexes": ["i"]}]`, `verify[0].queryid = "404" refers to no statement`},
		{"verify with negative time", "", `[{"queryid": "101", "indexes": ["i"], "before_ms": -1}]`, "verify[0].before_ms = -1"},
		{"verify with an empty index name", "", `[{"queryid": "101", "indexes": [""]}]`, "verify[0].indexes[0] is empty"},
	} {
		// Read as --snapshot reads a file: pgstat.Read decodes what_if and
		// verify with the rest, then ValidateRecorded checks what they name.
		var buf bytes.Buffer
		if err := recordedSnapshot(t, nil, nil).Write(&buf); err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if c.whatIf != "" {
			m["what_if"] = json.RawMessage(c.whatIf)
		}
		if c.verify != "" {
			m["verify"] = json.RawMessage(c.verify)
		}
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := pgstat.Read(data)
		if err == nil {
			err = ValidateRecorded(snap)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}
