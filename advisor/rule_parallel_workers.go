package advisor

import (
	"fmt"
	"strconv"

	"github.com/pgadvisor/pgadvisor/explain"
)

// WorkersNotLaunched reports parallel plans that got fewer workers than planned.
var WorkersNotLaunched = &Rule{
	Name:     "workers-not-launched",
	Family:   "plan",
	Severity: SeverityNotice,
	Doc: `Parallel workers were planned but not launched
A Gather or Gather Merge node planned N workers but launched fewer: the plan was
costed for parallel execution and runs (partly) serially, slower than the
planner expected. Workers come from a pool of max_parallel_workers, itself
within max_worker_processes, shared by all sessions; when it is exhausted (or
set to 0) queries run without their workers. Needs EXPLAIN ANALYZE.
Fix: raise max_parallel_workers up to max_worker_processes (a reload), or raise
max_worker_processes too (a restart); on a busy OLTP server, rather lower
max_parallel_workers_per_gather so that plans do not count on workers that are
rarely free.`,
	Criteria: `Statement gate: calls >= min_calls, total time >= min_total_ms, share >= min_share; plan measured with EXPLAIN ANALYZE.
Workers Launched < Workers Planned on a Gather / Gather Merge node.
Severity: warning when no worker was launched and share >= plan_error_share; notice otherwise.`,
	Run: runWorkersNotLaunched,
}

func init() { register(WorkersNotLaunched) }

func runWorkersNotLaunched(p *Pass) error {
	_, known := p.Snapshot.Settings["max_parallel_workers"]
	mpw := settingFloat(p.Snapshot, "max_parallel_workers", 8)
	mwp := settingFloat(p.Snapshot, "max_worker_processes", 8)
	for _, s := range p.Statements {
		if !measured(s) || !costsTime(p, s) {
			continue
		}
		var worst *explain.Node
		eachNode(planRoot(s), func(n *explain.Node, _ []*explain.Node) {
			if (n.NodeType == "Gather" || n.NodeType == "Gather Merge") && n.ActualLoops > 0 && n.WorkersLaunched < n.WorkersPlanned &&
				(worst == nil || n.WorkersPlanned-n.WorkersLaunched > worst.WorkersPlanned-worst.WorkersLaunched) {
				worst = n
			}
		})
		if worst == nil {
			continue
		}
		n := worst
		ev := map[string]any{
			"plan_mode":            planMode(s),
			"node_type":            n.NodeType,
			"workers_planned":      n.WorkersPlanned,
			"workers_launched":     n.WorkersLaunched,
			"max_parallel_workers": mpw,
			"max_worker_processes": mwp,
		}
		if v, ok := p.Snapshot.Settings["max_parallel_workers_per_gather"]; ok {
			ev["max_parallel_workers_per_gather"] = v
		}
		var fix *Fix
		switch {
		case !known:
			delete(ev, "max_parallel_workers")
			fix = &Fix{
				Summary:  fmt.Sprintf("Check max_parallel_workers (SHOW max_parallel_workers): raise it up to max_worker_processes (%g) and reload; if it is already there, the pool is exhausted by concurrent queries: raise both (a restart), or lower max_parallel_workers_per_gather for OLTP sessions", mwp),
				Advisory: true,
			}
		case mpw < mwp:
			fix = &Fix{
				Summary: fmt.Sprintf("Raise max_parallel_workers from %g to max_worker_processes (%g) and reload; if workers are still short, the pool is exhausted by concurrent queries", mpw, mwp),
				SQL: []string{
					"ALTER SYSTEM SET max_parallel_workers = " + strconv.FormatFloat(mwp, 'f', -1, 64),
					"SELECT pg_reload_conf()",
				},
			}
		default:
			want := mwp + float64(n.WorkersPlanned)
			fix = &Fix{
				Summary: fmt.Sprintf("The worker pool (max_parallel_workers %g, max_worker_processes %g) is exhausted by concurrent queries: raise both (max_worker_processes needs a restart), or lower max_parallel_workers_per_gather for OLTP sessions so plans do not count on workers", mpw, mwp),
				SQL: []string{
					"ALTER SYSTEM SET max_worker_processes = " + strconv.FormatFloat(want, 'f', -1, 64),
					"ALTER SYSTEM SET max_parallel_workers = " + strconv.FormatFloat(want, 'f', -1, 64),
				},
				Advisory: true,
			}
		}
		limits := fmt.Sprintf("max_parallel_workers %g, max_worker_processes %g", mpw, mwp)
		if !known {
			limits = fmt.Sprintf("max_worker_processes %g", mwp)
		}
		sev := SeverityNotice
		if n.WorkersLaunched == 0 && s.Share >= p.Options.PlanErrorShare {
			sev = SeverityWarning
		}
		p.Report(p.StatementFinding(s, Finding{
			Severity: sev,
			Message: fmt.Sprintf("%s planned %d parallel workers but launched %d (%s): the statement ran with less parallelism than it was planned for; %s",
				n.NodeType, n.WorkersPlanned, n.WorkersLaunched, limits, modeNote(s)),
			Objects:  objectsUnder(p, n),
			Evidence: ev,
			Fix:      fix,
		}))
	}
	return nil
}
