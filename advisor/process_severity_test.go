package advisor

import "testing"

func TestOverrideSeverities(t *testing.T) {
	for _, c := range []struct {
		name     string
		override map[string]Severity
		want     []Severity
	}{
		{"none", nil, []Severity{SeverityWarning, SeverityError}},
		{"one rule lowered", map[string]Severity{"fk-missing-index": SeverityNotice}, []Severity{SeverityNotice, SeverityError}},
		{"one rule raised", map[string]Severity{"seq-scan": SeverityError, "fk-missing-index": SeverityError}, []Severity{SeverityError, SeverityError}},
		{"an unknown severity is ignored", map[string]Severity{"fk-missing-index": "fatal"}, []Severity{SeverityWarning, SeverityError}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &Processing{
				Findings: []Finding{{Rule: "fk-missing-index", Severity: SeverityWarning}, {Rule: "seq-scan", Severity: SeverityError}},
				Policy:   Policy{Severity: c.override},
			}
			overrideSeverities(p)
			for i, f := range p.Findings {
				if f.Severity != c.want[i] {
					t.Errorf("finding %d (%s): %s, want %s", i, f.Rule, f.Severity, c.want[i])
				}
			}
		})
	}
}

// TestProcessOrder runs the whole pipeline: merged before suppressed (an
// ignore entry for the keeper takes the merged finding), severity after
// suppress, ranked last.
func TestProcessOrder(t *testing.T) {
	fix := sqlFix("CREATE INDEX i ON shop.orders (customer_id)")
	p := &Processing{
		Findings: []Finding{
			{Rule: "seq-scan", Severity: SeverityWarning, QueryID: "1", Objects: []string{"shop.orders"}, Impact: Impact{TotalMS: 10}, Fix: fix},
			{Rule: "missing-index", Severity: SeverityWarning, QueryID: "1", Objects: []string{"shop.orders"}, Impact: Impact{TotalMS: 10}, Fix: fix},
			{Rule: "unused-index", Severity: SeverityNotice, Objects: []string{"shop.x_idx"}, Impact: Impact{}, Fix: sqlFix("DROP INDEX shop.x_idx")},
			{Rule: "n-plus-one", Severity: SeverityWarning, QueryID: "2", Impact: Impact{TotalMS: 50}},
		},
		Policy: Policy{
			Ignore:   []Ignore{{Rule: "unused-index", Object: "shop.x_idx", Reason: "kept for the replica"}},
			Severity: map[string]Severity{"missing-index": SeverityError},
		},
		Family: func(r string) string { return testFamilies[r] },
	}
	Process(p)
	if len(p.Findings) != 2 || p.Findings[0].Rule != "n-plus-one" || p.Findings[1].Rule != "missing-index" {
		t.Fatalf("got %+v", p.Findings)
	}
	if p.Findings[1].Severity != SeverityError || p.Findings[1].FixID == "" || len(p.Suppressed) != 1 {
		t.Fatalf("severity %s fix_id %q suppressed %d", p.Findings[1].Severity, p.Findings[1].FixID, len(p.Suppressed))
	}
}
