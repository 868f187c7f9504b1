package explain

import (
	"fmt"
	"strings"
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
		fmt.Fprintf(&b, "  est %s rows, cost %.1f", compactCount(n.PlanRows), n.TotalCost)
		if analyzed && n.ActualLoops > 0 {
			fmt.Fprintf(&b, "; actual %s rows", compactCount(n.TotalActualRows()))
			if n.ActualLoops > 1 {
				fmt.Fprintf(&b, " in %s loops", compactCount(n.ActualLoops))
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

// compactCount writes a row count as 12, 1.2k or 3.4M.
func compactCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
