package advisor

import (
	"testing"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/whatif"
)

// TestCustomCostedSource: the missing-index message names why a statement
// was costed with a custom plan, a pg_qualstats sample or pg_stats values.
func TestCustomCostedSource(t *testing.T) {
	gains := []whatif.StatementGain{{QueryID: "1"}}
	res := func(source string) *whatif.Result {
		return &whatif.Result{Statements: []whatif.StatementCost{{QueryID: "1", Mode: explain.ModeCustom,
			Representative: &whatif.Representative{Values: []whatif.RepresentativeValue{{Param: 1, Source: source}}}}}}
	}
	sampled, stats := res(whatif.SampledSource), res("pg_stats most common values")
	if !customCosted(sampled, gains, whatif.SampledSource) || customCosted(sampled, gains, "") {
		t.Error("a sampled value is not told apart")
	}
	if !customCosted(stats, gains, "") || customCosted(stats, gains, whatif.SampledSource) {
		t.Error("a pg_stats value is not told apart")
	}
	generic := &whatif.Result{Statements: []whatif.StatementCost{{QueryID: "1", Mode: explain.ModeGeneric}}}
	if customCosted(generic, gains, "") || customCosted(generic, gains, whatif.SampledSource) {
		t.Error("a generic plan counted as custom")
	}
}
