package advisor

import (
	"strings"
	"testing"
)

func TestHideUnpreparedRewrites(t *testing.T) {
	good := "-- one statement for all parent rows\nSELECT a FROM t WHERE id = ANY($1)"
	bad := "-- or one round trip\nSELECT p.*, c.* FROM (SELECT id FROM p WHERE k = $1) AS p JOIN c ON c.p_id = p.nope"
	p := &Processing{
		Findings: []Finding{
			{Rule: "n-plus-one", Fix: &Fix{Summary: "Fetch all at once", SQL: []string{good, bad}, Advisory: true}},
			{Rule: "large-offset", Fix: &Fix{Summary: "Keyset", SQL: []string{"SELECT a FROM t WHERE id < $2 ORDER BY id DESC LIMIT $1"}, Advisory: true}},
		},
		FixChecks: map[string]string{
			FixStatement(good): "",
			FixStatement(bad):  `column p.nope does not exist`,
		},
	}
	hideUnpreparedRewrites(p)
	f := p.Findings[0]
	if len(f.Fix.SQL) != 1 || f.Fix.SQL[0] != good {
		t.Errorf("kept %q, want only the statement that prepared", f.Fix.SQL)
	}
	if !strings.Contains(f.Fix.Summary, "did not prepare on the server (column p.nope does not exist)") || f.Evidence["rewrite_not_prepared"] == nil {
		t.Errorf("the fix does not say why: %q %v", f.Fix.Summary, f.Evidence)
	}
	if g := p.Findings[1]; len(g.Fix.SQL) != 1 || strings.Contains(g.Fix.Summary, "prepare") {
		t.Errorf("an unchecked rewrite changed: %+v", g.Fix)
	}
}
