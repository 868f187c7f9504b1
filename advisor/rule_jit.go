package advisor

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// JITDominates reports statements that spend most of their execution time
// compiling themselves with JIT.
var JITDominates = &Rule{
	Name:     "jit-dominates",
	Family:   "plan",
	Severity: SeverityWarning,
	Doc: `JIT compilation dominates execution time
PostgreSQL compiles a plan with LLVM when its estimated cost exceeds
jit_above_cost (100000 by default). For a statement that runs in milliseconds,
generating, optimising and emitting code can take longer than running it; high
costs from large tables or misestimates trigger it on OLTP queries. Measured by
EXPLAIN ANALYZE ("JIT" → "Timing" → "Total" against "Execution Time"), or from
pg_stat_statements' JIT time (1.10+) against the statement's execution time.
Fix: turn JIT off for the OLTP role or session, or raise jit_above_cost (and
jit_inline_above_cost, jit_optimize_above_cost) above the cost of such plans.
A plan measured with JIT is not reported when the statement's role runs with
jit = off (ALTER ROLE … SET) and pg_stat_statements counts no JIT time.`,
	Criteria: `Statement gate: calls >= min_calls, total time >= min_total_ms, share >= min_share.
JIT total time >= jit_share x execution time, from the measured plan or else from pg_stat_statements.
Severity: error when JIT takes >= 80% of execution and share >= plan_error_share; notice when share < 10 x min_share.`,
	Run: runJITDominates,
}

func init() { register(JITDominates) }

// JITThresholds are the thresholds of jit-dominates (rules.jit-dominates.thresholds in .pgadvisor.yaml).
type JITThresholds struct {
	Share float64 `json:"jit_share" doc:"JIT compilation takes at least this fraction of execution time"`
}

var defaultJIT = JITThresholds{
	Share: 0.5,
}

func runJITDominates(p *Pass) error {
	for _, s := range p.Statements {
		if !costsTime(p, s) {
			continue
		}
		ev := map[string]any{"plan_mode": planMode(s)}
		var jitMS, execMS float64
		var source string
		fromPlan := false
		if measured(s) && s.Plan.Plan.JIT != nil && s.Plan.Plan.JIT.Timing != nil && s.Plan.Plan.ExecutionTime > 0 {
			pl := s.Plan.Plan
			jitMS, execMS = pl.JIT.Timing.Total, pl.ExecutionTime
			source, fromPlan = modeNote(s), true
			ev["jit_functions"] = pl.JIT.Functions
			ev["jit_generation_ms"] = round(pl.JIT.Timing.Generation, 3)
			if d := pl.JIT.Timing.GenerationDeform; d > 0 {
				ev["jit_generation_deform_ms"] = round(d, 3) // 17+
			}
			ev["jit_inlining_ms"] = round(pl.JIT.Timing.Inlining, 3)
			ev["jit_optimization_ms"] = round(pl.JIT.Timing.Optimization, 3)
			ev["jit_emission_ms"] = round(pl.JIT.Timing.Emission, 3)
		} else if s.JITTotalTime > 0 && s.TotalExecTime > 0 && s.Calls > 0 {
			jitMS, execMS = s.JITTotalTime/float64(s.Calls), s.TotalExecTime/float64(s.Calls)
			source = "per call on average, from pg_stat_statements"
		} else {
			continue
		}
		jit, roleJIT := p.SettingFor(s.User, "jit")
		roleJITOff := roleJIT && !settingOn(jit)
		if roleJITOff && fromPlan && s.JITTotalTime == 0 {
			// pgadvisor's plan used JIT, but the statement's role runs with jit = off.
			continue
		}
		share := jitMS / execMS
		if share < p.Options.JIT.Share {
			continue
		}
		ev["jit_total_ms"] = round(jitMS, 3)
		ev["execution_time_ms"] = round(execMS, 3)
		ev["jit_share"] = round(share, 3)
		cost := 0.0
		if root := planRoot(s); root != nil {
			cost = root.TotalCost
			ev["plan_total_cost"] = cost
		}
		if v, ok := p.Snapshot.Settings["jit_above_cost"]; ok {
			ev["jit_above_cost"] = v
		}
		raise := "above the cost of such plans"
		if cost > 0 {
			// At least the default (100000), and ten times this plan's cost.
			raise = "above this plan's cost, e.g. to " + strconv.FormatFloat(math.Max(100000, math.Pow(10, math.Ceil(math.Log10(cost*10)))), 'f', -1, 64)
		}
		sev := SeverityWarning
		switch {
		case share >= 0.8 && s.Share >= p.Options.PlanErrorShare:
			sev = SeverityError
		case s.Share < 10*p.Options.MinShare:
			sev = SeverityNotice
		}
		if roleJIT {
			ev["role_jit"] = jit
		}
		if roleJITOff {
			// pg_stat_statements counts JIT time although the role has jit = off now.
			source += fmt.Sprintf("; role %s has jit = %s now, so that time predates the setting or comes from sessions that SET jit = on", pgstat.QuoteIdent(s.User), jit)
		}
		p.Report(p.StatementFinding(s, Finding{
			Severity: sev,
			Message: fmt.Sprintf("JIT compilation takes %.1f ms of %.1f ms execution (%.0f%%), %s",
				jitMS, execMS, 100*share, source),
			Objects:  []string{},
			Evidence: ev,
			Fix:      jitFix(s, raise),
		}))
	}
	return nil
}

// jitFix turns JIT off for the role that runs the statement (a plain SET
// would change only the session that runs it), or says how when the role is
// not known.
func jitFix(s *model.Statement, raise string) *Fix {
	summary := fmt.Sprintf("Turn JIT off for the role this statement runs as (OLTP statements rarely gain from it), or raise jit_above_cost %s", raise)
	if s.User == "" {
		return &Fix{Summary: summary + "; in one session: SET jit = off", Advisory: true}
	}
	return &Fix{Summary: summary, SQL: []string{"ALTER ROLE " + pgstat.QuoteIdent(s.User) + " SET jit = off"}}
}

// settingOn reports whether a boolean setting's value means on (on, true,
// yes, 1 and their unambiguous prefixes, as PostgreSQL accepts them).
func settingOn(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "tru", "tr", "t", "yes", "ye", "y", "1":
		return true
	}
	return false
}
