package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// leftOutSnapshot holds the 10 kept statements of 10 ms each out of a
// workload of 40 entries and 1,000 ms in all.
func leftOutSnapshot() *pgstat.Snapshot {
	snap := pgstat.New()
	total, entries := 1000.0, 40
	snap.StatStatements = &pgstat.StatStatementsInfo{Version: "1.10", OmittedRows: 30, TotalTime: &total, Entries: &entries}
	for i := 1; i <= 10; i++ {
		snap.Statements = append(snap.Statements, pgstat.Statement{
			QueryID: int64(i), TopLevel: true, Calls: 10, TotalExecTime: 10, MeanExecTime: 1,
			Query: fmt.Sprintf("SELECT c%d FROM t WHERE id = $1", i),
		})
	}
	return snap
}

// TestTotalsIncludeLeftOut: shares and the report's total come from the
// recorded total of all statements, the report says how many were left
// out, and a snapshot from before totals were recorded falls back to the sum
// of its kept statements.
func TestTotalsIncludeLeftOut(t *testing.T) {
	snap := leftOutSnapshot()
	stmts, total := model.Statements(snap)
	if total != 1000 || len(stmts) != 10 {
		t.Fatalf("total %v over %d statements, want 1000 over 10", total, len(stmts))
	}
	for _, s := range stmts {
		if math.Abs(s.Share-0.01) > 1e-9 {
			t.Errorf("%s: share %v, want 0.01 (10 ms of 1,000 ms)", s.Query, s.Share)
		}
	}
	r := New("test", snap, advisor.Run(snap, nil, advisor.DefaultOptions()), "live")
	if r.Summary.TotalMS != 1000 || r.Summary.StatementsLeftOut != 30 {
		t.Errorf("summary total %v, left out %d; want 1000 and 30", r.Summary.TotalMS, r.Summary.StatementsLeftOut)
	}
	for name, print := range map[string]Printer{"table": Table, "markdown": Markdown} {
		var buf bytes.Buffer
		if err := print(&buf, r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "30 statements left out") {
			t.Errorf("%s report does not say how many statements were left out:\n%s", name, buf.String())
		}
	}
	var js bytes.Buffer
	if err := JSON(&js, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"statements_left_out": 30`) {
		t.Errorf("JSON report has no statements_left_out: %s", js.String())
	}

	// An older snapshot: no total_time_ms nor entries.
	data, err := json.Marshal(leftOutSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	ss := raw["pg_stat_statements"].(map[string]any)
	delete(ss, "total_time_ms")
	delete(ss, "entries")
	if data, err = json.Marshal(raw); err != nil {
		t.Fatal(err)
	}
	old, err := pgstat.Read(data)
	if err != nil {
		t.Fatalf("an old snapshot no longer loads: %v", err)
	}
	if _, total := model.Statements(old); total != 100 {
		t.Errorf("old snapshot: total %v, want the kept statements' 100", total)
	}
	if r := New("test", old, advisor.Run(old, nil, advisor.DefaultOptions()), "old.json"); r.Summary.StatementsLeftOut != 30 {
		t.Errorf("old snapshot: %d left out, want omitted_rows 30", r.Summary.StatementsLeftOut)
	}
}

// TestFootprintLine: the table and Markdown reports say what the audit did
// to pg_stat_statements, evictions included.
func TestFootprintLine(t *testing.T) {
	before, after := int64(3), int64(4)
	for _, c := range []struct {
		f    pgstat.Footprint
		want string
	}{
		{pgstat.Footprint{Track: "none", Entries: 99, Max: 100}, "The audit added 0 pg_stat_statements entries (its session was not tracked) and caused no evictions (99 of pg_stat_statements.max 100 entries in use)"},
		{pgstat.Footprint{Track: "top", Added: 12, Evicted: 10, DeallocBefore: &before, DeallocAfter: &after}, "The audit added 12 pg_stat_statements entries and caused evictions: dealloc 3 → 4, 10 earlier entries lost"},
	} {
		snap := leftOutSnapshot()
		f := c.f
		snap.StatStatements.Footprint = &f
		r := New("test", snap, advisor.Run(snap, nil, advisor.DefaultOptions()), "live")
		for name, print := range map[string]Printer{"table": Table, "markdown": Markdown} {
			var buf bytes.Buffer
			if err := print(&buf, r); err != nil {
				t.Fatal(err)
			}
			if got := strings.ReplaceAll(strings.Join(strings.Fields(buf.String()), " "), `\`, ""); !strings.Contains(got, c.want) {
				t.Errorf("%s report does not say %q:\n%s", name, c.want, buf.String())
			}
		}
	}
}
