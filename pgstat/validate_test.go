package pgstat

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/pglog"
)

func ptr[T any](v T) *T { return &v }

// validSnapshot is a small snapshot with one of everything Validate checks.
func validSnapshot() *Snapshot {
	s := New()
	s.CollectedAt = time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)
	s.Server = Server{Version: "15.18", VersionNum: 150018}
	s.StatStatements = &StatStatementsInfo{Version: "1.10", Dealloc: 3, Max: 5000}
	s.Statements = []Statement{
		{QueryID: -4392619211830383022, Query: "SELECT 1", Calls: 10, Rows: 10, TotalExecTime: 12.5, MeanExecTime: 1.25, MaxExecTime: 3, TopLevel: true},
		{QueryID: 42, Query: "SELECT * FROM shop.orders WHERE customer_id = $1", Calls: 750, Rows: 7500, TotalExecTime: 25600, MeanExecTime: 34.1, SharedBlksHit: 1e6},
	}
	s.Tables = []Table{{OID: 16384, Schema: "shop", Name: "orders", Kind: "r", Rows: -1, Pages: 100, SizeBytes: 819200, TotalBytes: 1 << 20,
		Columns: []Column{{Name: "customer_id", Type: "bigint", NullFrac: ptr(0.0), NDistinct: ptr(-0.25), Correlation: ptr(-0.5), AvgWidth: 8}}}}
	s.Indexes = []Index{{OID: 16390, Schema: "shop", Table: "orders", Name: "orders_pkey", Definition: "CREATE UNIQUE INDEX orders_pkey ON shop.orders USING btree (id)",
		Method: "btree", Columns: []string{"id"}, Descending: []bool{false}, Unique: true, Primary: true, Valid: true, Ready: true, SizeBytes: 8192}}
	s.ForeignKeys = []ForeignKey{{Schema: "shop", Table: "orders", Name: "orders_customer_fk", Columns: []string{"customer_id"}, RefSchema: "shop", RefTable: "orders", RefColumns: []string{"id"}}}
	s.Activity = []ActivitySample{{At: s.CollectedAt, Sessions: []Session{{PID: 123, State: "idle in transaction", BlockedBy: []int{7}, QueryID: -5}}}}
	s.Waits = &WaitProfile{IntervalMS: 100, Ticks: 30, WindowMS: 2900, QueryMS: 15, ActiveSamples: 40, Entries: []WaitEntry{
		{QueryID: -5, Query: "UPDATE t SET n = n + $1 WHERE id = $2", WaitEventType: "Lock", WaitEvent: "tuple", Relation: "public.t", Samples: 25,
			Blockers: []WaitBlocker{{Query: "UPDATE t SET n = n + $1 WHERE id = $2", State: "idle in transaction", Samples: 25}}},
		{QueryID: 7, Query: "SELECT 1", Samples: 15}}}
	s.Log = &pglog.Summary{Format: pglog.FormatCSV, Statements: 5, TotalMS: 3}
	s.Plans = []explain.Result{{QueryID: "42", Query: "SELECT ...", Mode: explain.ModeGeneric, DurationMS: 1.5,
		Plan: &explain.Plan{Plan: &explain.Node{NodeType: "Seq Scan", TotalCost: 1e12, PlanRows: 1e20, PlanWidth: 8,
			Plans: []*explain.Node{{NodeType: "Hash", TotalCost: 3}}}}}}
	s.Timings["statements"] = 12.5
	return s
}

func TestValidate(t *testing.T) {
	if err := validSnapshot().Validate(); err != nil {
		t.Fatalf("the valid snapshot: %v", err)
	}
	for _, c := range []struct {
		name   string
		break_ func(*Snapshot)
		want   string
	}{
		{"huge time", func(s *Snapshot) { s.Statements[1].TotalExecTime = 1e308 }, "statements[1].total_exec_time = 1e308 is out of range"},
		{"negative time", func(s *Snapshot) { s.Statements[0].MeanExecTime = -1 }, "statements[0].mean_exec_time = -1 is out of range"},
		{"negative counter", func(s *Snapshot) { s.Statements[0].Calls = -5 }, "statements[0].calls = -5"},
		{"negative blocks", func(s *Snapshot) { s.Statements[1].TempBlksWritten = -1 }, "statements[1].temp_blks_written"},
		{"counter beyond 2^53", func(s *Snapshot) { s.Statements[0].Rows = 1 << 60 }, "statements[0].rows"},
		{"negative size", func(s *Snapshot) { s.Tables[0].SizeBytes = -8192 }, "tables[0].size_bytes = -8192"},
		{"negative index size", func(s *Snapshot) { s.Indexes[0].SizeBytes = -1 }, "indexes[0].size_bytes"},
		{"rows below -1", func(s *Snapshot) { s.Tables[0].Rows = -2 }, "tables[0].rows = -2"},
		{"huge rows", func(s *Snapshot) { s.Tables[0].Rows = 1e300 }, "tables[0].rows = 1e300"},
		{"null_frac above 1", func(s *Snapshot) { s.Tables[0].Columns[0].NullFrac = ptr(1.5) }, "tables[0].columns[0].null_frac = 1.5"},
		{"correlation below -1", func(s *Snapshot) { s.Tables[0].Columns[0].Correlation = ptr(-3.0) }, "correlation"},
		{"empty table name", func(s *Snapshot) { s.Tables[0].Name = "" }, "tables[0].name is empty"},
		{"blank schema", func(s *Snapshot) { s.Tables[0].Schema = "  " }, "tables[0].schema is empty"},
		{"empty column name", func(s *Snapshot) { s.Tables[0].Columns[0].Name = "" }, "tables[0].columns[0].name is empty"},
		{"unknown relkind", func(s *Snapshot) { s.Tables[0].Kind = "x" }, `tables[0].kind = "x" is not a known value`},
		{"duplicate table", func(s *Snapshot) { s.Tables = append(s.Tables, s.Tables[0]) }, "table shop.orders appears twice"},
		{"index without a name", func(s *Snapshot) { s.Indexes[0].Name = "" }, "indexes[0].name is empty"},
		{"index without a table", func(s *Snapshot) { s.Indexes[0].Table = "" }, "indexes[0].table is empty"},
		{"index on a table not collected", func(s *Snapshot) { s.Indexes[0].Table = "ghost" }, "not in the snapshot's tables"},
		{"index method", func(s *Snapshot) { s.Indexes[0].Method = "DROP TABLE x" }, "indexes[0].method"},
		{"index without keys", func(s *Snapshot) { s.Indexes[0].Columns = nil; s.Indexes[0].Descending = nil }, "indexes[0].columns is empty"},
		{"per-key list too long", func(s *Snapshot) { s.Indexes[0].Descending = []bool{true, false} }, "descending has 2 entries for 1 key columns"},
		{"duplicate index", func(s *Snapshot) { s.Indexes = append(s.Indexes, s.Indexes[0]) }, "appears twice"},
		{"foreign key columns", func(s *Snapshot) { s.ForeignKeys[0].RefColumns = nil }, "foreign_keys[0]: 1 columns reference 0 columns"},
		{"foreign key name", func(s *Snapshot) { s.ForeignKeys[0].Name = "" }, "foreign_keys[0].name is empty"},
		{"session state", func(s *Snapshot) { s.Activity[0].Sessions[0].State = "sleeping" }, `activity[0].sessions[0].state = "sleeping"`},
		{"negative pid", func(s *Snapshot) { s.Activity[0].Sessions[0].PID = -1 }, "activity[0].sessions[0].pid"},
		{"negative wait samples", func(s *Snapshot) { s.Waits.Entries[1].Samples = -1 }, "waits.entries[1].samples = -1"},
		{"wait samples beyond the active ones", func(s *Snapshot) { s.Waits.Entries[1].Samples = 16 }, "the entries count 41 active samples, more than active_samples 40"},
		{"negative blocker samples", func(s *Snapshot) { s.Waits.Entries[0].Blockers[0].Samples = -2 }, "waits.entries[0].blockers[0].samples"},
		{"negative tick cost", func(s *Snapshot) { s.Waits.QueryMS = -1 }, "waits.query_ms"},
		{"log format", func(s *Snapshot) { s.Log.Format = "xml" }, `log.format = "xml"`},
		{"log time", func(s *Snapshot) { s.Log.TotalMS = -3 }, "log.total_ms"},
		{"plan mode", func(s *Snapshot) { s.Plans[0].Mode = "execute" }, `plans[0].mode = "execute"`},
		{"plan queryid", func(s *Snapshot) { s.Plans[0].QueryID = "abc" }, `plans[0].queryid = "abc"`},
		{"negative plan cost", func(s *Snapshot) { s.Plans[0].Plan.Plan.Plans[0].TotalCost = -1 }, "plans[0].plan.Plan.Plans[0].Total Cost = -1"},
		{"absurd plan rows", func(s *Snapshot) { s.Plans[0].Plan.Plan.PlanRows = 1e300 }, "Plan Rows = 1e300"},
		{"plan node type", func(s *Snapshot) { s.Plans[0].Plan.Plan.Plans[0].NodeType = "" }, `no "Node Type"`},
		{"plan without Plan", func(s *Snapshot) { s.Plans[0].Plan.Plan = nil }, `plans[0].plan has no "Plan"`},
		{"negative dealloc", func(s *Snapshot) { s.StatStatements.Dealloc = -1 }, "pg_stat_statements.dealloc"},
		{"timing", func(s *Snapshot) { s.Timings["explain"] = 1e300 }, "timings_ms.explain"},
		{"version_num", func(s *Snapshot) { s.Server.VersionNum = -1 }, "server.version_num"},
		{"duplicate statement", func(s *Snapshot) { s.Statements = append(s.Statements, s.Statements[1]) }, "statements[2]: queryid 42 of user 0 appears twice"},
	} {
		s := validSnapshot()
		c.break_(s)
		err := s.Validate()
		var ie *InvalidError
		if !errors.As(err, &ie) {
			t.Errorf("%s: accepted (err %v)", c.name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not say %q", c.name, err, c.want)
		}
	}
}

func TestValidateCountsEveryProblem(t *testing.T) {
	s := validSnapshot()
	s.Statements[0].Calls, s.Statements[1].Calls, s.Indexes[0].SizeBytes = -1, -2, -3
	var ie *InvalidError
	if err := s.Validate(); !errors.As(err, &ie) || len(ie.Problems) != 3 || !strings.Contains(err.Error(), "and 2 more problems") {
		t.Errorf("three problems: %v", err)
	}
}

func TestReadStrict(t *testing.T) {
	var buf bytes.Buffer
	if err := validSnapshot().Write(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	if _, err := Read([]byte(good)); err != nil {
		t.Fatalf("a snapshot pgadvisor wrote does not read back: %v", err)
	}
	for _, c := range []struct {
		name, data, want string // want "" = accepted
	}{
		{"unknown optional field (a newer pgadvisor)", strings.Replace(good, `"kind"`, `"standby": {"in_recovery": true}, "kind"`, 1), ""},
		{"trailing garbage", good + "garbage", "after the JSON value"},
		{"second document", good + good, "after the JSON value"},
		{"duplicate key", strings.Replace(good, `"calls": 10,`, `"calls": 10, "calls": 99999,`, 1), `duplicate key "calls" in statements[0]`},
		{"duplicate kind", strings.Replace(good, `"kind"`, `"kind": "other", "kind"`, 1), `duplicate key "kind"`},
		{"wrong type", strings.Replace(good, `"calls": 10,`, `"calls": "ten",`, 1), "statements.calls"},
		{"counter beyond int64", strings.Replace(good, `"calls": 10,`, `"calls": 1e30,`, 1), "calls"},
		{"absurd value", strings.Replace(good, `"total_exec_time": 12.5`, `"total_exec_time": 1e308`, 1), "statements[0].total_exec_time = 1e308 is out of range"},
		{"NaN", strings.Replace(good, `"total_exec_time": 12.5`, `"total_exec_time": NaN`, 1), "invalid JSON"},
		{"Infinity", strings.Replace(good, `"total_exec_time": 12.5`, `"total_exec_time": Infinity`, 1), "invalid JSON"},
		{"empty index name", strings.Replace(good, `"name": "orders_pkey"`, `"name": ""`, 1), "indexes[0].name is empty"},
	} {
		_, err := Read([]byte(c.data))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: rejected: %v", c.name, err)
		case c.want != "" && err == nil:
			t.Errorf("%s: accepted", c.name)
		case c.want != "" && !strings.Contains(err.Error(), c.want):
			t.Errorf("%s: error %q does not say %q", c.name, err, c.want)
		}
	}
}

// TestRecordedSnapshotsValidate: every snapshot recorded from a real server
// in the repository's testdata passes Validate, so the ranges reject only
// what no server produces.
func TestRecordedSnapshotsValidate(t *testing.T) {
	paths, _ := filepath.Glob("../*/testdata/*/snapshot.json")
	more, _ := filepath.Glob("../*/testdata/*.json")
	n := 0
	for _, p := range append(paths, more...) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte(`"`+Kind+`"`)) {
			continue
		}
		n++
		if _, err := Read(data); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	if n < 20 {
		t.Errorf("found %d recorded snapshots, expected the advisor's golden cases", n)
	}
}

func TestValidatePlan(t *testing.T) {
	if err := ValidatePlan(&explain.Plan{Plan: &explain.Node{NodeType: "Result"}, ExecutionTime: 0.01}); err != nil {
		t.Errorf("a valid plan: %v", err)
	}
	for _, c := range []struct {
		name string
		plan *explain.Plan
		want string
	}{
		{"no plan", &explain.Plan{}, `no "Plan"`},
		{"negative rows", &explain.Plan{Plan: &explain.Node{NodeType: "Result", ActualRows: -4}}, "plan.Plan.Actual Rows = -4"},
		{"absurd execution time", &explain.Plan{Plan: &explain.Node{NodeType: "Result"}, ExecutionTime: 1e300}, "plan.Execution Time = 1e300"},
		{"negative trigger time", &explain.Plan{Plan: &explain.Node{NodeType: "Result"}, Triggers: []explain.Trigger{{Name: "t", Time: -1}}}, "plan.Triggers[0].Time"},
	} {
		err := ValidatePlan(c.plan)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}
