package history

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/report"
)

// TestTextListing: the text formats leave out unchanged statements that did
// not run in the interval and show no change for them; the findings tables
// carry the message; the trend follows statements that ran, not one idle
// now and slow once.
func TestTextListing(t *testing.T) {
	th := advisor.DefaultOptions().Report
	busy := stmt(1, "SELECT * FROM t WHERE a = $1", 1000, 2, 0.5)
	idle := stmt(2, "INSERT INTO t SELECT generate_series(1, 1000000)", 1, 9000, 0)
	prev := snapshotAt(t0, busy, idle)
	f := advisor.Finding{Rule: "seq-scan", Severity: advisor.SeverityWarning, Message: "t is read by sequential scan for a = $1", Fingerprint: "aa", Objects: []string{"public.t"}}
	base := Compare("shop", prev, &report.Report{Findings: []advisor.Finding{f}}, nil, th)
	cur := snapshotAt(t0.Add(24*time.Hour), grow(busy, 1000, 2, 0.5), idle)
	r := Compare("shop", cur, &report.Report{Findings: []advisor.Finding{f}}, &Previous{Snapshot: prev, Report: base}, th)
	if d := find(r, 2); d == nil || d.Verdict != VerdictUnchanged || d.Calls != 0 {
		t.Fatalf("idle statement: %+v, want unchanged without calls", d)
	}
	r.SetTrend([]*Report{base})
	if _, ok := r.Runs[0].MeanMS["2"]; ok || len(r.Runs[1].MeanMS) != 1 {
		t.Errorf("trend follows %v / %v, want the busy statement only", r.Runs[0].MeanMS, r.Runs[1].MeanMS)
	}
	for _, format := range []string{"table", "markdown"} {
		var b strings.Builder
		if err := Printers[format](&b, r); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.Contains(out, "generate_series") {
			t.Errorf("%s lists the idle statement:\n%s", format, out)
		}
		if !strings.Contains(out, "SELECT * FROM t WHERE a = $1") || !strings.Contains(out, f.Message) {
			t.Errorf("%s lacks the busy statement or the finding's message:\n%s", format, out)
		}
	}
	if c := change(*find(r, 2)); c != "" {
		t.Errorf("change of a statement without calls: %q", c)
	}
	if got := shortQuery("é"+strings.Repeat("ü", 10), 5); got != "éüüü…" {
		t.Errorf("shortQuery cut %q", got)
	}
}

// TestJSONContract: the keys the README's contract names are present on a
// first run and on a compared one, previous is null for a new statement,
// and the first run says it compares with nothing.
func TestJSONContract(t *testing.T) {
	th := advisor.DefaultOptions().Report
	q := stmt(1, "SELECT * FROM shop.orders WHERE shipping_country = $1", 100, 60, 5)
	f := advisor.Finding{Rule: "missing-index", Severity: advisor.SeverityError, Message: "m", QueryID: "1", Fingerprint: "aa", Objects: []string{"shop.orders"},
		Fix: &advisor.Fix{SQL: []string{"CREATE INDEX orders_sc_idx ON shop.orders (shipping_country)"}}}
	prev := snapshotAt(t0, q)
	first := Compare("shop", prev, &report.Report{Findings: []advisor.Finding{f}}, nil, th)
	cur := snapshotAt(t0.Add(time.Hour), grow(q, 100, 0.2, 0.05), stmt(2, "SELECT 2", 50, 30, 1))
	cur.Indexes = []pgstat.Index{{Schema: "shop", Table: "orders", Name: "orders_sc_idx", Definition: "CREATE INDEX orders_sc_idx ON shop.orders USING btree (shipping_country)"}}
	second := Compare("shop", cur, &report.Report{}, &Previous{Snapshot: prev, Report: first}, th)
	decode := func(r *Report) map[string]any {
		var b strings.Builder
		if err := JSON(&b, r); err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(b.String()), &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	need := func(where string, m any, keys ...string) {
		t.Helper()
		obj, ok := m.(map[string]any)
		if !ok {
			t.Errorf("%s is %T, want an object", where, m)
			return
		}
		for _, k := range keys {
			if _, ok := obj[k]; !ok {
				t.Errorf("%s has no %q", where, k)
			}
		}
	}
	for i, doc := range []map[string]any{decode(first), decode(second)} {
		need("report", doc, "schema_version", "kind", "target", "database", "generated_at", "period", "summary", "statements", "findings", "advice_effects", "problems")
		need("period", doc["period"], "from", "to", "compared", "counters_reset", "reset_at", "entries_reset", "deallocations", "note")
		need("summary", doc["summary"], "calls", "total_ms", "verdicts", "findings")
		stmts := doc["statements"].([]any)
		need("statements[0]", stmts[0], "fingerprint", "queryid", "query", "verdict", "calls", "total_ms", "mean_ms", "stddev_ms", "rows", "shared_blks_read", "temp_blks", "previous", "mean_change")
		need("findings[0]", doc["findings"].([]any)[0], "rule", "severity", "message", "objects", "id", "status", "first_seen")
		if i == 0 {
			if p := doc["period"].(map[string]any); p["compared"] != false || p["note"] == "" || stmts[0].(map[string]any)["previous"] != nil {
				t.Errorf("first run: period %v, previous %v", p, stmts[0].(map[string]any)["previous"])
			}
			continue
		}
		need("advice_effects[0]", doc["advice_effects"].([]any)[0], "fix", "index", "applied", "statements", "mean_ms_before", "mean_ms_after", "temp_blks_before", "temp_blks_after", "index_size_bytes", "index_scans")
		found := false
		for _, s := range stmts {
			if s := s.(map[string]any); s["queryid"] == "2" {
				found = true
				if s["verdict"] != VerdictNew || s["previous"] != nil {
					t.Errorf("new statement: %v", s)
				}
			}
		}
		if !found {
			t.Error("the new statement is not listed")
		}
	}
}
