package advisor

import "testing"

func TestLinkFixes(t *testing.T) {
	a := Finding{Rule: "seq-scan", QueryID: "1", Fix: sqlFix("CREATE INDEX i ON t (a)")}
	b := Finding{Rule: "seq-scan", QueryID: "2", Fix: sqlFix("CREATE  INDEX i\n ON t (a);")}
	c := Finding{Rule: "seq-scan", QueryID: "3", Fix: sqlFix("CREATE INDEX j ON t (b)")}
	d := Finding{Rule: "n-plus-one", QueryID: "4", Fix: &Fix{Summary: "batch"}}
	p := &Processing{Findings: []Finding{a, b, c, d}}
	linkFixes(p)
	got := p.Findings
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"one fix for two statements has one id", got[0].FixID != "" && got[0].FixID == got[1].FixID},
		{"another fix has another id", got[2].FixID != "" && got[2].FixID != got[0].FixID},
		{"a fix without SQL has none", got[3].FixID == ""},
		{"the id is stable across runs", got[0].FixID == FixID(FixKey(sqlFix("CREATE INDEX i ON t (a)")))},
	} {
		if !c.ok {
			t.Errorf("%s: %+v", c.name, got)
		}
	}
}
