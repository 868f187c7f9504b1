package whatif

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// ValidateRecorded checks the what-if results (Snapshot.WhatIf) and the
// --verify measurements (Snapshot.Verify) of a snapshot read from a file
// (pgstat.Read has decoded them, and refused values that do not decode):
// their numbers must be in range, and every statement, candidate and table
// they name must exist — the statements in the snapshot, the candidates in
// the result, the tables in the snapshot. It returns a *pgstat.InvalidError,
// or nil. Call it after pgstat.Read (which validates the rest).
func ValidateRecorded(snap *pgstat.Snapshot) error {
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	statements := map[string]bool{}
	for _, s := range snap.Statements {
		statements[model.QueryID(s.QueryID).String()] = true
	}
	tables := map[[2]string]bool{}
	for _, t := range snap.Tables {
		tables[[2]string{t.Schema, t.Name}] = true
	}

	if snap.WhatIf != nil {
		problems = append(problems, resultProblems(snap.WhatIf, statements, tables)...)
	}
	for i, m := range snap.Verify {
		p := fmt.Sprintf("verify[%d]", i)
		problems = append(problems, pgstat.NumberProblems(p, m, pgstat.MaxValue, "estimated_reduction")...)
		if m.EstimatedReduction < 0 || m.EstimatedReduction > 1 {
			add("%s.estimated_reduction = %v is out of range (0 to 1)", p, m.EstimatedReduction)
		}
		if !statements[m.QueryID] {
			add("%s.queryid = %q refers to no statement of the snapshot", p, m.QueryID)
		}
		for j, name := range m.Indexes {
			if strings.TrimSpace(name) == "" {
				add("%s.indexes[%d] is empty: a name is required", p, j)
			}
		}
	}
	if len(problems) > 0 {
		return &pgstat.InvalidError{Problems: problems}
	}
	return nil
}

var methodName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

func resultProblems(res *Result, statements map[string]bool, tables map[[2]string]bool) []string {
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	// Planner costs may be large; counts, sizes and times are bounded like the snapshot's.
	problems = append(problems, pgstat.NumberProblems("what_if", *res, pgstat.MaxPlanValue)...)
	for _, n := range []struct {
		name string
		v    float64
	}{{"duration_ms", res.DurationMS}, {"candidates_tried", float64(res.CandidatesTried)}, {"planner_calls", float64(res.PlannerCalls)}} {
		if n.v > pgstat.MaxValue {
			add("what_if.%s = %v is out of range (0 to %d)", n.name, n.v, int64(pgstat.MaxValue))
		}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"min_cost_reduction", res.Options.MinCostReduction}, {"write_heavy_share", res.Options.WriteHeavyShare}} {
		if f.v < 0 || f.v > 1 {
			add("what_if.options.%s = %v is out of range (0 to 1)", f.name, f.v)
		}
	}

	stmts := map[string]bool{}
	for i, s := range res.Statements {
		p := fmt.Sprintf("what_if.statements[%d]", i)
		switch {
		case !statements[s.QueryID]:
			add("%s.queryid = %q refers to no statement of the snapshot", p, s.QueryID)
		case stmts[s.QueryID]:
			add("%s.queryid = %q appears twice", p, s.QueryID)
		}
		stmts[s.QueryID] = true
		switch s.Mode {
		case "", explain.ModeAnalyze, explain.ModeGeneric, explain.ModePlain, explain.ModeCustom:
		default:
			add("%s.mode = %q is not a known value (\"analyze\", \"custom\", \"generic\", \"plain\")", p, s.Mode)
		}
	}

	cands := map[string]bool{}
	for i, c := range res.Candidates {
		p := fmt.Sprintf("what_if.candidates[%d]", i)
		if strings.TrimSpace(c.ID) == "" {
			add("%s.id is empty: candidates are referred to by id", p)
		} else if cands[c.ID] {
			add("%s.id = %q appears twice", p, c.ID)
		}
		cands[c.ID] = true
		if strings.TrimSpace(c.Schema) == "" || strings.TrimSpace(c.Table) == "" {
			add("%s: schema and table are required (got %q.%q)", p, c.Schema, c.Table)
		} else if len(tables) > 0 && !tables[[2]string{c.Schema, c.Table}] {
			add("%s: table %s is not in the snapshot's tables", p, pgstat.QuoteQualified(c.Schema, c.Table))
		}
		if !methodName.MatchString(c.Method) {
			add("%s.method = %q is not an access method name", p, c.Method)
		}
		if len(c.Keys) == 0 {
			add("%s.keys is empty: an index has at least one key", p)
		}
		for j, k := range c.Keys {
			if (strings.TrimSpace(k.Column) == "") == (strings.TrimSpace(k.Expression) == "") {
				add("%s.keys[%d] needs exactly one of column and expression", p, j)
			}
		}
		if c.EqualityKeys > len(c.Keys) {
			add("%s.equality_keys = %d is more than its %d keys", p, c.EqualityKeys, len(c.Keys))
		}
		for j, q := range c.QueryIDs {
			if !stmts[q] {
				add("%s.queryids[%d] = %q refers to no statement of what_if.statements", p, j, q)
			}
		}
	}

	for i, e := range res.Evaluations {
		p := fmt.Sprintf("what_if.evaluations[%d]", i)
		if !stmts[e.QueryID] {
			add("%s.queryid = %q refers to no statement of what_if.statements", p, e.QueryID)
		}
		set := map[string]bool{}
		for j, id := range e.Set {
			if !cands[id] {
				add("%s.set[%d] = %q refers to no candidate", p, j, id)
			}
			set[id] = true
		}
		for j, id := range e.Used {
			if !set[id] {
				add("%s.used[%d] = %q is not in its set", p, j, id)
			}
		}
	}
	for i, id := range res.Chosen {
		if !cands[id] {
			add("what_if.chosen[%d] = %q refers to no candidate", i, id)
		}
	}
	return problems
}
