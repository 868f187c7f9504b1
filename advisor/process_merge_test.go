package advisor

import (
	"reflect"
	"testing"
)

func sqlFix(sql ...string) *Fix { return &Fix{Summary: "create it", SQL: sql} }

var testFamilies = map[string]string{
	"missing-index": "what-if", "non-sargable": "sql", "seq-scan": "plan",
	"fk-missing-index": "catalog", "redundant-index": "catalog", "unused-index": "catalog",
	"n-plus-one": "workload",
}

func TestMergeFindings(t *testing.T) {
	const create = "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON shop.orders USING btree (customer_id)"
	const drop = "DROP INDEX CONCURRENTLY IF EXISTS shop.orders_old_idx"
	type want struct {
		rule     string
		related  []string
		severity Severity
		totalMS  float64
		queryIDs []string
	}
	for _, c := range []struct {
		name string
		in   []Finding
		want []want
	}{
		{
			name: "missing-index keeps the finding of seq-scan and fk-missing-index about its statement",
			in: []Finding{
				{Rule: "seq-scan", Severity: SeverityError, QueryID: "1", Impact: Impact{TotalMS: 900}, Objects: []string{"shop.orders"}, Fix: sqlFix(create)},
				{Rule: "fk-missing-index", Severity: SeverityWarning, Objects: []string{"shop.orders"}, Fix: sqlFix(create)},
				{Rule: "missing-index", Severity: SeverityWarning, QueryID: "1", Impact: Impact{TotalMS: 1000}, Objects: []string{"shop.orders"}, Fix: sqlFix(create + ";")},
			},
			want: []want{{rule: "missing-index", related: []string{"seq-scan", "fk-missing-index"}, severity: SeverityError, totalMS: 1000}},
		},
		{
			name: "an index serving two statements absorbs the seq-scan finding of the second",
			in: []Finding{
				{Rule: "missing-index", QueryID: "1", QueryIDs: []string{"2"}, Impact: Impact{TotalMS: 1500}, Fix: sqlFix(create)},
				{Rule: "seq-scan", QueryID: "2", Impact: Impact{TotalMS: 500}, Fix: sqlFix(create)},
			},
			want: []want{{rule: "missing-index", related: []string{"seq-scan"}, totalMS: 1500, queryIDs: []string{"2"}}},
		},
		{
			name: "different statements with the same fix stay apart (linked, not merged)",
			in: []Finding{
				{Rule: "seq-scan", QueryID: "1", Impact: Impact{TotalMS: 700}, Fix: sqlFix(create)},
				{Rule: "seq-scan", QueryID: "2", Impact: Impact{TotalMS: 300}, Fix: sqlFix(create)},
			},
			want: []want{{rule: "seq-scan", totalMS: 700}, {rule: "seq-scan", totalMS: 300}},
		},
		{
			name: "same statement, different fixes stay apart",
			in: []Finding{
				{Rule: "missing-index", QueryID: "1", Fix: sqlFix(create)},
				{Rule: "non-sargable", QueryID: "1", Fix: sqlFix("CREATE INDEX ON shop.orders ((lower(email)))")},
			},
			want: []want{{rule: "missing-index"}, {rule: "non-sargable"}},
		},
		{
			name: "an index both unused and redundant is dropped once; the warning keeps it",
			in: []Finding{
				{Rule: "unused-index", Severity: SeverityNotice, Objects: []string{"shop.orders_old_idx", "shop.orders"}, Fix: sqlFix(drop)},
				{Rule: "redundant-index", Severity: SeverityWarning, Objects: []string{"shop.orders_old_idx"}, Fix: sqlFix(drop)},
			},
			want: []want{{rule: "redundant-index", related: []string{"unused-index"}, severity: SeverityWarning}},
		},
		{
			name: "findings without SQL are never merged, but exact repeats are dropped",
			in: []Finding{
				{Rule: "n-plus-one", QueryID: "1", Message: "a", Fix: &Fix{Summary: "batch", Advisory: true}},
				{Rule: "n-plus-one", QueryID: "1", Message: "a", Fix: &Fix{Summary: "batch", Advisory: true}},
				{Rule: "seq-scan", QueryID: "1", Message: "b", Fix: &Fix{Summary: "batch"}},
			},
			want: []want{{rule: "n-plus-one"}, {rule: "seq-scan"}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &Processing{Findings: c.in, Family: func(r string) string { return testFamilies[r] }}
			mergeFindings(p)
			if len(p.Findings) != len(c.want) {
				t.Fatalf("got %d findings, want %d: %+v", len(p.Findings), len(c.want), p.Findings)
			}
			for i, w := range c.want {
				f := p.Findings[i]
				if f.Rule != w.rule || !reflect.DeepEqual(f.RelatedRules, w.related) {
					t.Errorf("finding %d: rule %s related %v, want %s related %v", i, f.Rule, f.RelatedRules, w.rule, w.related)
				}
				if w.severity != "" && f.Severity != w.severity {
					t.Errorf("finding %d: severity %s, want %s", i, f.Severity, w.severity)
				}
				if f.Impact.TotalMS != w.totalMS {
					t.Errorf("finding %d: impact %v ms, want %v (counted once)", i, f.Impact.TotalMS, w.totalMS)
				}
				if !reflect.DeepEqual(f.QueryIDs, w.queryIDs) {
					t.Errorf("finding %d: queryids %v, want %v", i, f.QueryIDs, w.queryIDs)
				}
				for _, r := range w.related {
					ev, ok := f.Evidence[r].(map[string]any)
					if !ok || ev["severity"] == nil {
						t.Errorf("finding %d: evidence of %s not kept under its name: %v", i, r, f.Evidence)
					}
				}
			}
		})
	}
}

func TestMergeKeepsStatementOfAbsorbedFinding(t *testing.T) {
	// A catalog finding (no statement) that is more specific than nothing
	// else still takes the statement of what it absorbs.
	p := &Processing{
		Findings: []Finding{
			{Rule: "fk-missing-index", Objects: []string{"shop.orders"}, Fix: sqlFix("CREATE INDEX x ON t (a)")},
			{Rule: "redundant-index", Objects: []string{"shop.t_a_idx"}, Fix: sqlFix("CREATE INDEX x ON t (a)")},
		},
		Family: func(r string) string { return testFamilies[r] },
	}
	mergeFindings(p)
	if len(p.Findings) != 1 || !reflect.DeepEqual(p.Findings[0].Objects, []string{"shop.orders", "shop.t_a_idx"}) {
		t.Fatalf("objects not united: %+v", p.Findings)
	}
}
