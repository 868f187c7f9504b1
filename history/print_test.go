package history

import (
	"strings"
	"testing"
	"time"

	"github.com/pgadvisor/pgadvisor/advisor"
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
