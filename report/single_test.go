package report

import "testing"

func TestSingleStatementLine(t *testing.T) {
	for _, c := range []struct {
		s    Summary
		want string
		ok   bool
	}{
		{Summary{Source: "statement", TotalMS: 12.5, PlansByMode: map[string]int{"analyze": 1}}, "one statement, executed with EXPLAIN ANALYZE in " + Duration(12.5) + " (rolled back)", true},
		{Summary{Source: "statement", PlansByMode: map[string]int{"generic": 1}}, "one statement, planned with a generic plan (not executed)", true},
		{Summary{Source: "statement", PlansByMode: map[string]int{"plain": 1}}, "one statement, planned with a plain EXPLAIN (not executed)", true},
		{Summary{Source: "statement", PlansByMode: map[string]int{"error": 1}}, "one statement, not planned", true},
		{Summary{Source: "live", PlansByMode: map[string]int{"analyze": 1}}, "", false},
	} {
		got, ok := singleStatementLine(c.s)
		if ok != c.ok || got != c.want {
			t.Errorf("%+v: %q %v, want %q %v", c.s, got, ok, c.want, c.ok)
		}
	}
}
