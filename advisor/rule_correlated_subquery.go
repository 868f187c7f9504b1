package advisor

import (
	"fmt"
	"strings"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/num"
)

// CorrelatedSubquery reports SubPlans executed once per outer row.
var CorrelatedSubquery = &Rule{
	Name:     "correlated-subquery",
	Family:   "plan",
	Severity: SeverityWarning,
	Doc: `A correlated subquery runs once per outer row
A SubPlan (Parent Relationship "SubPlan"; an InitPlan runs once and is not
concerned, nor is a hashed SubPlan) is re-executed for every row its parent
node processes: a scalar subquery in the SELECT list or a correlated EXISTS /
IN / comparison the planner could not turn into a join. With EXPLAIN ANALYZE
its loops are measured; with a plain or generic plan the rule uses the parent
node's estimated rows.
Fix: rewrite it as a JOIN (with GROUP BY for an aggregate), a semi-join the
planner can flatten (EXISTS without OR/LIMIT), or a LEFT JOIN LATERAL, so that
it runs once as a set; at least index the correlated column of the inner table.`,
	Criteria: `Statement gate: calls >= min_calls, total time >= min_total_ms, share >= min_share.
Measured: Actual Loops of the SubPlan >= subplan_min_loops. Estimated: Plan Rows of its parent >= subplan_min_loops.
Severity: error when loops >= 100 x subplan_min_loops and share >= plan_error_share; notice when small and share < 10 x min_share.`,
	Run: runCorrelatedSubquery,
}

func init() { register(CorrelatedSubquery) }

// CorrelatedSubqueryThresholds are the thresholds of correlated-subquery (rules.correlated-subquery.thresholds in .pgadvisor.yaml).
type CorrelatedSubqueryThresholds struct {
	MinLoops float64 `json:"subplan_min_loops" doc:"a SubPlan run at least this many times (or under a node estimated to produce that many rows) is a correlated subquery to rewrite"`
}

var defaultCorrelatedSubquery = CorrelatedSubqueryThresholds{
	MinLoops: 100,
}

func runCorrelatedSubquery(p *Pass) error {
	for _, s := range p.Statements {
		root := planRoot(s)
		if root == nil || !costsTime(p, s) {
			continue
		}
		isMeasured := measured(s)
		var worst, worstParent *explain.Node
		var worstLoops float64
		eachNode(root, func(n *explain.Node, anc []*explain.Node) {
			if n.ParentRelationship != "SubPlan" || strings.HasPrefix(n.SubplanName, "hashed ") || len(anc) == 0 {
				return
			}
			parent := anc[len(anc)-1]
			l := parent.PlanRows
			if isMeasured {
				l = n.ActualLoops
			}
			if l >= p.Options.CorrelatedSubquery.MinLoops && l > worstLoops {
				worst, worstParent, worstLoops = n, parent, l
			}
		})
		if worst == nil {
			continue
		}
		name := worst.SubplanName
		if name == "" {
			name = "SubPlan"
		}
		ev := map[string]any{
			"plan_mode":    planMode(s),
			"subplan_name": name,
			"loops":        worstLoops,
			"parent_node":  worstParent.Title(),
		}
		outer := worstParent.Title()
		if worstParent.RelationName != "" {
			outer = nodeObject(p, worstParent)
		}
		var msg string
		if isMeasured {
			subMS := worst.TotalActualTime()
			ev["actual_rows_per_loop"] = worst.ActualRows
			ev["time_per_loop_ms"] = round(worst.ActualTotalTime, 4)
			ev["subplan_total_ms"] = round(subMS, 3)
			share := ""
			if exec := s.Plan.Plan.ExecutionTime; exec > 0 {
				ev["execution_time_ms"] = round(exec, 3)
				ev["subplan_share"] = round(subMS/exec, 3)
				share = fmt.Sprintf(", %.0f%% of execution time", 100*subMS/exec)
			}
			msg = fmt.Sprintf("%s runs %s times, once per row of %s (%.3f ms each%s), %s",
				name, num.Compact(worstLoops), outer, worst.ActualTotalTime, share, modeNote(s))
		} else {
			ev["estimated_outer_rows"] = worstParent.PlanRows
			msg = fmt.Sprintf("%s is re-executed for each of ~%s rows of %s, %s",
				name, num.Compact(worstLoops), outer, modeNote(s))
		}
		objects := objectsUnder(p, worst)
		inner := strings.Join(objects, ", ")
		if inner == "" {
			inner = "the inner table"
		}
		p.Report(p.StatementFinding(s, Finding{
			Severity: severityFor(p, s, worstLoops >= 100*p.Options.CorrelatedSubquery.MinLoops),
			Message:  msg,
			Objects:  objects,
			Evidence: ev,
			Fix: &Fix{
				Summary: fmt.Sprintf("Rewrite the correlated subquery (%s) so it runs once as a set: a JOIN with GROUP BY for an aggregate, "+
					"EXISTS/NOT EXISTS the planner can turn into a semi/anti join, or LEFT JOIN LATERAL (…) ON true; "+
					"and make sure the column it is correlated on is indexed in %s", name, inner),
				Advisory: true,
			},
		}))
	}
	return nil
}
