package history

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/report"
)

var t0 = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)

func snapshotAt(at time.Time, stmts ...pgstat.Statement) *pgstat.Snapshot {
	reset := t0.Add(-time.Hour)
	return &pgstat.Snapshot{Kind: pgstat.Kind, SchemaVersion: pgstat.SchemaVersion, CollectedAt: at, Database: "shop",
		StatStatements: &pgstat.StatStatementsInfo{Version: "1.10", StatsReset: &reset}, Statements: stmts}
}

// stmt is a statement with calls of mean ms each, stddev sd.
func stmt(id int64, query string, calls int64, mean, sd float64) pgstat.Statement {
	return pgstat.Statement{QueryID: id, UserID: 10, TopLevel: true, Query: query, Calls: calls, Rows: calls,
		TotalExecTime: float64(calls) * mean, MeanExecTime: mean, StddevExecTime: sd, SharedBlksRead: calls * 2}
}

// grow is s after more calls of mean ms each (stddev within them sd): the
// cumulative counters pg_stat_statements would show.
func grow(s pgstat.Statement, calls int64, mean, sd float64) pgstat.Statement {
	n1, n2 := float64(s.Calls), float64(calls)
	sq := n1*(s.StddevExecTime*s.StddevExecTime+s.MeanExecTime*s.MeanExecTime) + n2*(sd*sd+mean*mean)
	s.Calls += calls
	s.Rows += calls
	s.SharedBlksRead += calls * 2
	s.TotalExecTime += n2 * mean
	n := float64(s.Calls)
	s.MeanExecTime = s.TotalExecTime / n
	v := sq/n - s.MeanExecTime*s.MeanExecTime
	if v < 0 {
		v = 0
	}
	s.StddevExecTime = sqrt(v)
	return s
}

func sqrt(v float64) float64 {
	x := v
	for i := 0; i < 50 && x > 0; i++ {
		x = (x + v/x) / 2
	}
	return x
}

func find(r *Report, id int64) *StatementDelta {
	for i := range r.Statements {
		if r.Statements[i].QueryID == fmt.Sprint(id) {
			return &r.Statements[i]
		}
	}
	return nil
}

func TestCompareVerdicts(t *testing.T) {
	th := advisor.DefaultOptions().Report
	slow := stmt(1, "SELECT * FROM t WHERE a = $1", 1000, 2, 0.5)
	wobble := stmt(2, "SELECT * FROM t WHERE id = $1", 5000, 0.03, 0.01)
	fast := stmt(3, "SELECT * FROM u WHERE b = $1", 1000, 40, 5)
	noisy := stmt(4, "SELECT * FROM v WHERE c = $1", 1000, 10, 30)
	few := stmt(5, "SELECT * FROM w WHERE d = $1", 5, 10, 1)
	gone := stmt(6, "SELECT * FROM x", 100, 1, 0.1)
	prev := snapshotAt(t0, slow, wobble, fast, noisy, few, gone)
	base := Compare("shop", prev, &report.Report{}, nil, th)
	if base.Period.Compared || base.Period.From == nil || len(base.Statements) != 6 {
		t.Fatalf("first run: period %+v, %d statements", base.Period, len(base.Statements))
	}
	cur := snapshotAt(t0.Add(24*time.Hour),
		grow(slow, 500, 6, 0.5),                    // mean 2 -> 6 ms: regressed
		grow(wobble, 5000, 0.05, 0.01),             // 0.03 -> 0.05 ms: below the floor
		grow(fast, 500, 10, 2),                     // 40 -> 10 ms: improved
		grow(noisy, 1000, 12, 30),                  // 10 -> 12 ms, stddev 30: within the noise
		grow(few, 3, 30, 1),                        // too few calls
		stmt(7, "SELECT pg_sleep($1)", 20, 100, 1), // new and heavy (2 s)
		stmt(8, "SELECT 1", 2, 0.01, 0),            // new and light: not listed
	)
	r := Compare("shop", cur, &report.Report{}, &Previous{Snapshot: prev, Report: base}, th)
	for id, want := range map[int64]string{1: VerdictRegressed, 2: VerdictUnchanged, 3: VerdictImproved, 4: VerdictUnchanged, 5: VerdictUnchanged, 6: VerdictGone, 7: VerdictNew} {
		d := find(r, id)
		if d == nil {
			t.Errorf("statement %d not listed", id)
			continue
		}
		if d.Verdict != want {
			t.Errorf("statement %d: %s (mean %v, previous %+v), want %s", id, d.Verdict, d.MeanMS, d.Previous, want)
		}
	}
	if d := find(r, 8); d != nil || r.Summary.UnlistedNew != 1 {
		t.Errorf("light new statement listed (%+v) or not counted (%d)", d, r.Summary.UnlistedNew)
	}
	d := find(r, 1)
	if d.Calls != 500 || d.TotalMS != 3000 || d.MeanMS != 6 || d.Rows != 500 || d.SharedBlksRead != 1000 || d.MeanChange != 2 {
		t.Errorf("interval of statement 1: %+v", d)
	}
	if d.StddevMS < 0.49 || d.StddevMS > 0.51 {
		t.Errorf("interval stddev %v, want 0.5 (from the sums of squares)", d.StddevMS)
	}
	if d.Previous == nil || d.Previous.Calls != 1000 || d.Previous.MeanMS != 2 {
		t.Errorf("previous of statement 1: %+v", d.Previous)
	}
	if r.Statements[0].Verdict != VerdictRegressed {
		t.Errorf("regressed statements come first: %s", r.Statements[0].Verdict)
	}
	if !r.Regressions() {
		t.Error("Regressions() is false with a regressed statement")
	}
}

func TestCompareResets(t *testing.T) {
	th := advisor.DefaultOptions().Report
	a := stmt(1, "SELECT * FROM t WHERE a = $1", 1000, 2, 0.5)
	b := stmt(2, "SELECT * FROM t WHERE b = $1", 1000, 2, 0.5)
	prev := snapshotAt(t0, a, b)
	base := Compare("shop", prev, nil, nil, th)

	// One entry reset (calls went backwards), the other grew.
	cur := snapshotAt(t0.Add(time.Hour), stmt(1, a.Query, 300, 2, 0.5), grow(b, 10, 2, 0.5))
	r := Compare("shop", cur, nil, &Previous{Snapshot: prev, Report: base}, th)
	if !r.Period.CountersReset || r.Period.EntriesReset != 1 || r.Period.ResetAt != nil {
		t.Errorf("entry reset: period %+v", r.Period)
	}
	if d := find(r, 1); d == nil || !d.Reset || d.Calls != 300 {
		t.Errorf("reset entry: %+v, want its 300 calls since the reset", d)
	}
	noNegative(t, r)

	// pg_stat_statements_reset(): stats_reset moved; every number since it.
	at := t0.Add(30 * time.Minute)
	cur = snapshotAt(t0.Add(time.Hour), stmt(1, a.Query, 1500, 1, 0.5))
	cur.StatStatements.StatsReset = &at
	r = Compare("shop", cur, nil, &Previous{Snapshot: prev, Report: base}, th)
	if !r.Period.CountersReset || r.Period.ResetAt == nil || !r.Period.ResetAt.Equal(at) || !r.Period.From.Equal(at) {
		t.Errorf("global reset: period %+v", r.Period)
	}
	if d := find(r, 1); d == nil || d.Calls != 1500 {
		t.Errorf("after a reset the interval is the counters since it: %+v", d)
	}
	noNegative(t, r)

	// Evictions (dealloc moved) are a reset of unknown entries.
	prev.StatStatements.Dealloc = 5
	cur = snapshotAt(t0.Add(time.Hour), grow(a, 10, 2, 0.5), grow(b, 10, 2, 0.5))
	cur.StatStatements.Dealloc = 9
	r = Compare("shop", cur, nil, &Previous{Snapshot: prev, Report: base}, th)
	if !r.Period.CountersReset || r.Period.Deallocations != 4 || !strings.Contains(r.Period.Note, "evicted") {
		t.Errorf("deallocations: period %+v", r.Period)
	}
}

func TestCompareFingerprintFallback(t *testing.T) {
	th := advisor.DefaultOptions().Report
	a := stmt(1, "SELECT * FROM t WHERE a = $1", 1000, 2, 0.5)
	prev := snapshotAt(t0, a)
	// The table was recreated: same text, another queryid.
	moved := grow(a, 100, 2, 0.5)
	moved.QueryID = 99
	cur := snapshotAt(t0.Add(time.Hour), moved)
	r := Compare("shop", cur, nil, &Previous{Snapshot: prev}, th)
	d := find(r, 99)
	if d == nil || d.MatchedBy != "fingerprint" || d.Calls != 100 || d.Verdict != VerdictUnchanged {
		t.Errorf("queryid changed: %+v, want matched by fingerprint with 100 calls", d)
	}
	if g := find(r, 1); g != nil {
		t.Errorf("the old queryid is listed as %s", g.Verdict)
	}
}

func TestFindingsOverTime(t *testing.T) {
	th := advisor.DefaultOptions().Report
	f1 := advisor.Finding{Rule: "seq-scan", Severity: advisor.SeverityWarning, Message: "m1", Fingerprint: "aa", Objects: []string{"shop.t"}}
	f2 := advisor.Finding{Rule: "missing-index", Severity: advisor.SeverityError, Message: "m2", Fingerprint: "bb", Objects: []string{"shop.u"}}
	prev := snapshotAt(t0)
	base := Compare("shop", prev, &report.Report{Findings: []advisor.Finding{f1, f2}}, nil, th)
	// The message changes (numbers in it do, every night): same identity.
	f1.Message = "m1 with other numbers"
	f3 := advisor.Finding{Rule: "jit-dominates", Severity: advisor.SeverityError, Message: "m3", Fingerprint: "cc", Objects: []string{}}
	cur := snapshotAt(t0.Add(24 * time.Hour))
	r := Compare("shop", cur, &report.Report{Findings: []advisor.Finding{f1, f3}}, &Previous{Snapshot: prev, Report: base}, th)
	status := map[string]FindingStatus{}
	for _, f := range r.Findings {
		status[f.Rule] = f
	}
	if f := status["seq-scan"]; f.Status != StatusPersisting || !f.FirstSeen.Equal(t0) {
		t.Errorf("seq-scan: %s first seen %s, want persisting since %s", f.Status, f.FirstSeen, t0)
	}
	if status["missing-index"].Status != StatusFixed || status["jit-dominates"].Status != StatusNew {
		t.Errorf("statuses: %+v", status)
	}
	if !r.Regressions() {
		t.Error("a new error-level finding does not fail --fail-on-regression")
	}
	// Fixed findings are not carried into the next run.
	r2 := Compare("shop", snapshotAt(t0.Add(48*time.Hour)), &report.Report{Findings: []advisor.Finding{f1, f3}}, &Previous{Snapshot: cur, Report: r}, th)
	for _, f := range r2.Findings {
		if f.Status != StatusPersisting {
			t.Errorf("run 3: %s is %s", f.Rule, f.Status)
		}
	}
}

func TestAdviceEffect(t *testing.T) {
	th := advisor.DefaultOptions().Report
	q := stmt(1, "SELECT * FROM shop.orders WHERE shipping_country = $1 AND status = $2", 100, 60, 5)
	prev := snapshotAt(t0, q)
	f := advisor.Finding{Rule: "missing-index", Severity: advisor.SeverityError, QueryID: "1", Fingerprint: "aa", Objects: []string{"shop.orders"},
		Fix: &advisor.Fix{SQL: []string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_sc_idx ON shop.orders USING btree (shipping_country, status)"}}}
	base := Compare("shop", prev, &report.Report{Findings: []advisor.Finding{f}}, nil, th)
	cur := snapshotAt(t0.Add(time.Hour), grow(q, 100, 0.2, 0.05))
	// Created under another name: the same table, method and keys.
	cur.Indexes = []pgstat.Index{{Schema: "shop", Table: "orders", Name: "my_idx", SizeBytes: 8192, IdxScan: 100,
		Definition: "CREATE INDEX my_idx ON shop.orders USING btree (shipping_country, status)"}}
	r := Compare("shop", cur, &report.Report{}, &Previous{Snapshot: prev, Report: base}, th)
	if len(r.AdviceEffects) != 1 {
		t.Fatalf("advice effects %+v, want one", r.AdviceEffects)
	}
	e := r.AdviceEffects[0]
	if e.Index != "shop.my_idx" || *e.MeanMSBefore != 60 || *e.MeanMSAfter != 0.2 || e.IndexBytes != 8192 || e.IndexScans != 100 || e.Statements[0] != "1" {
		t.Errorf("effect %+v", e)
	}
	if d := find(r, 1); d.Verdict != VerdictImproved {
		t.Errorf("its statement is %s, want improved", d.Verdict)
	}
	if e.Applied != "created" {
		t.Errorf("applied %q, want created", e.Applied)
	}
	// An index of other keys is not the advice.
	cur.Indexes[0].Definition = "CREATE INDEX my_idx ON shop.orders USING btree (status)"
	if r := Compare("shop", cur, &report.Report{}, &Previous{Snapshot: prev, Report: base}, th); len(r.AdviceEffects) != 0 {
		t.Errorf("another index counted as the advice: %+v", r.AdviceEffects)
	}
}

func noNegative(t *testing.T, r *Report) {
	t.Helper()
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if k != "mean_change" {
					walk(e, path+"."+k)
				}
			}
		case []any:
			for i, e := range x {
				walk(e, fmt.Sprintf("%s[%d]", path, i))
			}
		case float64:
			if x < 0 {
				t.Errorf("negative number at %s: %v", path, x)
			}
		}
	}
	walk(doc, "")
}

func TestAdviceDropped(t *testing.T) {
	th := advisor.DefaultOptions().Report
	prev := snapshotAt(t0)
	prev.Indexes = []pgstat.Index{{Schema: "shop", Table: "orders", Name: "orders_payment_method_idx", SizeBytes: 4096, Definition: "CREATE INDEX orders_payment_method_idx ON shop.orders USING btree (payment_method)"}}
	f := advisor.Finding{Rule: "unused-index", Severity: advisor.SeverityWarning, Objects: []string{"shop.orders_payment_method_idx"},
		Fix: &advisor.Fix{SQL: []string{"DROP INDEX CONCURRENTLY shop.orders_payment_method_idx"}}}
	base := Compare("shop", prev, &report.Report{Findings: []advisor.Finding{f}}, nil, th)
	// Still there: no effect.
	if r := Compare("shop", prev, &report.Report{Findings: []advisor.Finding{f}}, &Previous{Snapshot: prev, Report: base}, th); len(r.AdviceEffects) != 0 {
		t.Errorf("effects while the index exists: %+v", r.AdviceEffects)
	}
	cur := snapshotAt(t0.Add(time.Hour))
	r := Compare("shop", cur, &report.Report{}, &Previous{Snapshot: prev, Report: base}, th)
	if len(r.AdviceEffects) != 1 || r.AdviceEffects[0].Applied != "dropped" || r.AdviceEffects[0].IndexBytes != 4096 || r.Findings[0].Status != StatusFixed {
		t.Errorf("dropped index: effects %+v, findings %+v", r.AdviceEffects, r.Findings)
	}
}
