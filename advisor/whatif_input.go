package advisor

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/whatif"
)

// WhatIfInput converts the statement to the index advisor's input.
func (s *Statement) WhatIfInput() whatif.Input {
	in := whatif.Input{
		QueryID: strconv.FormatInt(s.QueryID, 10),
		Query:   s.Query,
		Calls:   s.Calls,
		TotalMS: s.TotalTime(),
		MeanMS:  s.MeanExecTime,
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
	stmts, total := Statements(snap)
	return WhatIfInputsOf(snap, stmts, total, opts)
}

// WhatIfInputsOf is WhatIfInputs over statements already built by Statements.
func WhatIfInputsOf(snap *pgstat.Snapshot, stmts []*Statement, total float64, opts Options) []whatif.Input {
	return whatIfInputs(&Pass{Snapshot: snap, Statements: stmts, TotalMS: total, Options: opts})
}

func whatIfInputs(p *Pass) []whatif.Input {
	var out []whatif.Input
	for _, s := range p.Statements {
		if s.Facts == nil || !(costsTime(p, s) || (s.Calls == 0 && s.TotalTime() == 0)) {
			continue
		}
		out = append(out, s.WhatIfInput())
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
	return w
}

// whatIfResult decodes the snapshot's recorded what-if results (nil when there are none).
func whatIfResult(snap *pgstat.Snapshot) (*whatif.Result, error) {
	if len(snap.WhatIf) == 0 || string(snap.WhatIf) == "null" {
		return nil, nil
	}
	var res whatif.Result
	if err := json.Unmarshal(snap.WhatIf, &res); err != nil {
		return nil, fmt.Errorf("read the snapshot's what-if results: %w", err)
	}
	return &res, nil
}
