package report

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// TestTopStatementsAndNotPlanned builds a report from a recorded snapshot
// (the blog fixture's) in which one plan failed and one was skipped: every
// format lists the heaviest statements with how each was planned and the
// findings about it, and every statement that could not be planned with
// its cause.
func TestTopStatementsAndNotPlanned(t *testing.T) {
	data, err := os.ReadFile("../advisor/testdata/blog-unseen-schema/snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := pgstat.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Plans) < 3 {
		t.Fatalf("snapshot has %d plans", len(snap.Plans))
	}
	snap.Plans[1].Plan, snap.Plans[1].Error, snap.Plans[1].SQLState = nil, `permission denied for table secret`, "42501"
	snap.Plans[2].Plan, snap.Plans[2].Skipped = nil, "blog.posts was locked (lock_timeout 1s) earlier in the audit"
	res := advisor.Run(snap, advisor.All(), advisor.DefaultOptions())
	r := New("test", snap, res, "live")

	if len(r.TopStatements) != TopStatementsShown {
		t.Fatalf("%d top statements, want %d", len(r.TopStatements), TopStatementsShown)
	}
	withFindings, without := 0, 0
	for i, s := range r.TopStatements {
		if i > 0 && s.TotalMS > r.TopStatements[i-1].TotalMS {
			t.Errorf("top statements not heaviest first at %d", i)
		}
		if s.Plan == "" || s.Calls == 0 || s.Query == "" {
			t.Errorf("top statement %d incomplete: %+v", i, s)
		}
		for _, rank := range s.Findings {
			if !containsStatement(r.Findings[rank-1], s.QueryID) {
				t.Errorf("top statement %d names finding #%d, which is not about it", i, rank)
			}
		}
		if len(s.Findings) > 0 {
			withFindings++
		} else {
			without++
		}
	}
	if withFindings == 0 {
		t.Errorf("no top statement is linked to a finding")
	}
	// The findings' impacts overlap (one statement, several problems); the
	// time they concern counts each statement once and never exceeds the total.
	var impacts float64
	for _, f := range r.Findings {
		impacts += f.Impact.TotalMS
	}
	if c := r.Summary.ConcernedMS; c <= 0 || c > r.Summary.TotalMS || c >= impacts {
		t.Errorf("concerned %.1f ms, total %.1f ms, impacts summed %.1f ms", c, r.Summary.TotalMS, impacts)
	}
	if len(r.NotPlanned) != 2 || !strings.Contains(r.NotPlanned[0].Cause, "permission denied") || r.NotPlanned[0].SQLState != "42501" ||
		!strings.Contains(r.NotPlanned[1].Cause, "locked") {
		t.Fatalf("not planned: %+v", r.NotPlanned)
	}

	for name, print := range Printers {
		var buf bytes.Buffer
		if err := print(&buf, r); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		switch name {
		case "json":
			var got struct {
				Top        []TopStatement `json:"top_statements"`
				NotPlanned []NotPlanned   `json:"not_planned"`
			}
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil || len(got.Top) != TopStatementsShown || len(got.NotPlanned) != 2 {
				t.Errorf("json: %d top statements, %d not planned, %v", len(got.Top), len(got.NotPlanned), err)
			}
		case "sql":
			// A script of fixes: no statistics in it.
		default:
			heaviest := Shorten(oneLine(r.TopStatements[0].Query), 40)
			for _, want := range []string{"Top statements", "Not planned", "permission denied for table secret", "42501", "locked", strings.TrimSuffix(heaviest, "…")} {
				if !strings.Contains(out, want) {
					t.Errorf("%s: %q missing", name, want)
				}
			}
			if without > 0 && !strings.Contains(out, "none") {
				t.Errorf("%s: a top statement without findings is not shown as such", name)
			}
		}
	}
}

func containsStatement(f advisor.Finding, queryID string) bool {
	for _, q := range advisor.StatementsOf(f) {
		if q == queryID {
			return true
		}
	}
	return false
}

// TestIndexCurve: the verified recommended indexes of a recorded snapshot,
// by time saved per byte, with cumulative saving and size that only grow,
// printed in the table and Markdown views.
func TestIndexCurve(t *testing.T) {
	data, err := os.ReadFile("../advisor/testdata/blog-unseen-schema/snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := pgstat.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	r := New("test", snap, advisor.Run(snap, advisor.All(), advisor.DefaultOptions()), "live")
	if len(r.IndexCurve) < 2 {
		t.Fatalf("want a curve of several indexes, got %+v", r.IndexCurve)
	}
	for i, p := range r.IndexCurve {
		if p.SizeBytes <= 0 || p.BenefitMS <= 0 || p.FixLabel == "" {
			t.Errorf("point %d incomplete: %+v", i, p)
		}
		if i == 0 {
			continue
		}
		prev := r.IndexCurve[i-1]
		if p.CumulativeMS < prev.CumulativeMS || p.CumulativeBytes <= prev.CumulativeBytes || p.CumulativeShare < prev.CumulativeShare {
			t.Errorf("cumulative values shrink at %d: %+v after %+v", i, p, prev)
		}
		if p.BenefitMS/float64(p.SizeBytes) > prev.BenefitMS/float64(prev.SizeBytes) {
			t.Errorf("not ordered by saving per byte at %d", i)
		}
	}
	for name, print := range map[string]Printer{"table": Table, "markdown": Markdown} {
		var buf bytes.Buffer
		if err := print(&buf, r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "Index set") || !strings.Contains(buf.String(), r.IndexCurve[0].Index) {
			t.Errorf("%s: no index curve", name)
		}
	}
}
