package advisor

import (
	"slices"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
	"github.com/pgadvisor/pgadvisor/whatif"
)

// foldRewriteIndexes keeps out of the indexes to run one that serves only a
// rewritten statement: non-sargable's index on the bare column of
// date(created_at) = $1 serves created_at >= $1 AND created_at < $1 + 1,
// not the statement the application runs. When another finding about the
// same statement proposes an index that serves it as written (an index on
// the expression, from missing-index or non-sargable's own), the rewrite's
// index becomes part of the rewrite's advice: an advisory fix (a sketch to
// adapt) that says it serves the rewritten statement instead of the
// expression index. It runs before merge, after prefix (the expression
// index's fix as it will be printed).
func foldRewriteIndexes(p *Processing) {
	for i := range p.Findings {
		f := &p.Findings[i]
		if f.Rule != NonSargable.Name || f.Fix == nil || f.Fix.Advisory || f.QueryID == "" {
			continue
		}
		expr, _ := f.Evidence["expression"].(string)
		rewrite, err := sqlfacts.ParseIndexSpec(firstCreateIndex(f.Fix.SQL))
		if expr == "" || err != nil || keysInclude(rewrite.Keys, expr) {
			continue // no index, or the index is on the expression itself
		}
		for j, g := range p.Findings {
			if j == i || g.Fix == nil || g.Fix.Advisory || g.Fix.Hygiene || !aboutStatement(g, f.QueryID) {
				continue
			}
			served, err := sqlfacts.ParseIndexSpec(firstCreateIndex(g.Fix.SQL))
			if err != nil || served.Table != rewrite.Table || served.Schema != rewrite.Schema || len(served.Keys) == 0 || !keysInclude(served.Keys[:1], expr) {
				continue
			}
			fix := *f.Fix
			fix.Advisory = true
			fix.Summary += "; if you rewrite the statement, " + rewrite.Name + " serves it instead of " + served.Name +
				", which " + g.Rule + " proposes for the statement as it runs now"
			f.Fix = &fix
			f.Evidence = withEvidence(f.Evidence, "served_as_written_by", served.Name)
			break
		}
	}
}

// keysInclude reports whether one of an index's deparsed keys is expr.
func keysInclude(keys []string, expr string) bool {
	want := whatif.NormalizeExpression(expr)
	return slices.ContainsFunc(keys, func(k string) bool { return whatif.NormalizeExpression(k) == want })
}

// aboutStatement reports whether a finding concerns statement queryid.
func aboutStatement(f Finding, queryid string) bool {
	return f.QueryID == queryid || slices.Contains(f.QueryIDs, queryid)
}
