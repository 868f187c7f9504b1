package explain

import (
	"fmt"
	"strings"

	"github.com/pgadvisor/pgadvisor/internal/num"
)

// Tree is the plan as compact lines, one node a line indented by depth:
// the node, its relation and index, the estimated rows and total cost and,
// for an analysed plan, the actual rows (all loops) and time.
func (p *Plan) Tree() []string {
	if p == nil || p.Plan == nil {
		return nil
	}
	analyzed := p.Analyzed()
	var lines []string
	Walk(p.Plan, func(n *Node, depth int) bool {
		var b strings.Builder
		b.WriteString(strings.Repeat("  ", depth))
		if depth > 0 {
			b.WriteString("-> ")
		}
		b.WriteString(n.NodeType)
		if n.SubplanName != "" {
			b.WriteString(" (" + n.SubplanName + ")")
		}
		if rel := n.QualifiedRelation(); rel != "" {
			b.WriteString(" on " + rel)
		}
		if n.IndexName != "" {
			b.WriteString(" using " + n.IndexName)
		}
		fmt.Fprintf(&b, "  est %s rows, cost %.1f", num.Compact(n.PlanRows), n.TotalCost)
		if analyzed && n.ActualLoops > 0 {
			fmt.Fprintf(&b, "; actual %s rows", num.Compact(n.TotalActualRows()))
			if n.ActualLoops > 1 {
				fmt.Fprintf(&b, " in %s loops", num.Compact(n.ActualLoops))
			}
			fmt.Fprintf(&b, ", %.3g ms", n.TotalActualTime())
		} else if analyzed {
			b.WriteString("; never executed")
		}
		lines = append(lines, b.String())
		return true
	})
	return lines
}
