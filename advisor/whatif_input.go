package advisor

import (
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/whatif"
)

// whatIfInput converts a statement to the index advisor's input.
func whatIfInput(s *model.Statement) whatif.Input {
	in := whatif.Input{
		QueryID: s.ID().String(),
		Query:   s.Query,
		Calls:   s.Calls,
		TotalMS: s.TotalTime(),
		MeanMS:  s.MeanExecTime,
		Rows:    s.Rows,
		Facts:   s.Facts,
	}
	if s.Plan != nil {
		in.Plan = s.Plan.Plan
	}
	return in
}

// WhatIfInputs are the statements of the snapshot the index advisor
// considers: those that parse and cost enough time by opts (MinCalls,
// MinTotalMS, MinShare), plus statements without any recorded execution
// (calls 0: a statement given to pgadvisor explain). The CLI passes them to whatif.Candidates and
// whatif.Evaluate during collection; the missing-index rule uses the same
// list offline.
func WhatIfInputs(snap *pgstat.Snapshot, opts Options) []whatif.Input {
	stmts, total := model.Statements(snap)
	return WhatIfInputsOf(snap, stmts, total, opts)
}

// WhatIfInputsOf is WhatIfInputs over statements already built by model.Statements.
func WhatIfInputsOf(snap *pgstat.Snapshot, stmts []*model.Statement, total float64, opts Options) []whatif.Input {
	return whatIfInputs(&Pass{Snapshot: snap, Statements: stmts, TotalMS: total, Options: opts})
}

func whatIfInputs(p *Pass) []whatif.Input {
	var out []whatif.Input
	for _, s := range p.Statements {
		if s.Facts == nil || !(costsTime(p, s) || (s.Calls == 0 && s.TotalTime() == 0)) {
			continue
		}
		out = append(out, whatIfInput(s))
	}
	return out
}

// WhatIfOptions are the index advisor's options from the advisor's
// (Options.WhatIf): the one source of them for the live evaluation, the
// offline re-run and the rules' candidate checks. The caller adds what is not
// a threshold (InstallHypoPG, TrustFunctions, Guard).
func WhatIfOptions(opts Options) whatif.Options {
	w := whatif.DefaultOptions()
	t := opts.WhatIf
	w.MinCostReduction = t.MinCostReduction
	w.MinCostSaved = t.MinCostSaved
	w.MaxNewIndexes = t.MaxNewIndexes
	w.StorageBudgetBytes = t.StorageBudgetBytes
	w.MinTableRows = t.MinTableRows
	w.MinTableBytes = t.MinTableBytes
	w.MinRowsToExtend = t.MinRowsToExtend
	w.WriteHeavyShare = t.WriteHeavyShare
	w.MaxCandidates = t.MaxCandidates
	w.PartialMaxFraction = t.PartialMaxFraction
	w.BulkReadFraction = t.BulkReadFraction
	w.CoveringMaxColumns = t.CoveringMaxColumns
	w.CoveringMaxWidth = t.CoveringMaxWidth
	w.CoveringMinAllVisible = t.CoveringMinAllVisible
	w.CustomPlanMisestimate = t.CustomPlanMisestimate
	return w
}
