package explain

import (
	"strconv"
	"strings"
)

// Loops is the number of times the node ran (Actual Loops), at least 1, so
// that per-loop figures can be multiplied by it.
func (n *Node) Loops() float64 {
	if n.ActualLoops < 1 {
		return 1
	}
	return n.ActualLoops
}

// TotalActualRows is the number of rows the node returned over all its loops
// (EXPLAIN reports Actual Rows per loop).
func (n *Node) TotalActualRows() float64 { return n.ActualRows * n.Loops() }

// TotalRowsRemovedByFilter is the number of rows the node's Filter discarded
// over all its loops (EXPLAIN reports it per loop).
func (n *Node) TotalRowsRemovedByFilter() float64 { return n.RowsRemovedByFilter * n.Loops() }

// TotalRowsRemovedByJoinFilter is the number of rows the node's Join Filter
// discarded over all its loops.
func (n *Node) TotalRowsRemovedByJoinFilter() float64 { return n.RowsRemovedByJoinFilter * n.Loops() }

// TotalActualTime is the time spent in the node and below it over all its
// loops, in milliseconds (Actual Total Time × Actual Loops).
func (n *Node) TotalActualTime() float64 { return n.ActualTotalTime * n.Loops() }

// Analyzed reports whether the plan comes from EXPLAIN ANALYZE (it carries
// actual rows, loops or an execution time).
func (p *Plan) Analyzed() bool {
	if p == nil || p.Plan == nil {
		return false
	}
	if p.ExecutionTime > 0 {
		return true
	}
	analyzed := false
	Walk(p.Plan, func(n *Node, _ int) bool {
		if n.ActualLoops > 0 || n.ActualTotalTime > 0 || n.ActualRows > 0 {
			analyzed = true
		}
		return !analyzed
	})
	return analyzed
}

// Nodes returns every node of the plan, parents before children, depth first
// (SubPlans and InitPlans included: they are children with Parent
// Relationship "SubPlan" or "InitPlan").
func (p *Plan) Nodes() []*Node {
	if p == nil || p.Plan == nil {
		return nil
	}
	var out []*Node
	Walk(p.Plan, func(n *Node, _ int) bool {
		out = append(out, n)
		return true
	})
	return out
}

// QualifiedRelation is the node's relation as schema.name (the schema is
// present in VERBOSE plans, which Run produces), the bare name when the plan
// has no schema, and "" for nodes that do not read a relation.
func (n *Node) QualifiedRelation() string {
	if n.RelationName == "" {
		return ""
	}
	if n.Schema == "" {
		return n.RelationName
	}
	return n.Schema + "." + n.RelationName
}

// Title is the node's heading as EXPLAIN's text format writes it, e.g.
// "Index Scan Backward using orders_pkey on shop.orders o", "Hash Left
// Join", "HashAggregate", "Update on shop.orders", "Parallel Seq Scan on t".
func (n *Node) Title() string {
	var b strings.Builder
	if n.ParallelAware {
		b.WriteString("Parallel ")
	}
	if n.AsyncCapable {
		b.WriteString("Async ")
	}
	switch n.NodeType {
	case "Aggregate":
		switch n.Strategy {
		case "Hashed":
			b.WriteString("HashAggregate")
		case "Sorted":
			b.WriteString("GroupAggregate")
		case "Mixed":
			b.WriteString("MixedAggregate")
		default:
			b.WriteString("Aggregate")
		}
		if n.PartialMode != "" && n.PartialMode != "Simple" {
			return n.PartialMode + " " + b.String()
		}
	case "SetOp":
		if n.Strategy == "Hashed" {
			b.WriteString("HashSetOp")
		} else {
			b.WriteString("SetOp")
		}
	case "ModifyTable":
		if n.Operation != "" {
			b.WriteString(n.Operation)
		} else {
			b.WriteString(n.NodeType)
		}
	case "Nested Loop", "Hash Join", "Merge Join":
		b.WriteString(n.NodeType)
		if n.JoinType != "" && n.JoinType != "Inner" {
			// "Hash Left Join", "Nested Loop Semi Join"
			name := b.String()
			if strings.HasSuffix(name, " Join") {
				b.Reset()
				b.WriteString(strings.TrimSuffix(name, " Join") + " " + n.JoinType + " Join")
			} else {
				b.WriteString(" " + n.JoinType + " Join")
			}
		}
	default:
		b.WriteString(n.NodeType)
	}
	if n.ScanDirection == "Backward" {
		b.WriteString(" Backward")
	}
	if n.IndexName != "" {
		if n.NodeType == "Bitmap Index Scan" {
			b.WriteString(" on " + n.IndexName)
		} else {
			b.WriteString(" using " + n.IndexName)
		}
	}
	target := ""
	switch {
	case n.RelationName != "":
		target = n.QualifiedRelation()
		if n.Alias != "" && n.Alias != n.RelationName {
			target += " " + n.Alias
		}
	case n.CTEName != "":
		target = n.CTEName
		if n.Alias != "" && n.Alias != n.CTEName {
			target += " " + n.Alias
		}
	case n.FunctionName != "":
		target = n.FunctionName
		if n.Schema != "" {
			target = n.Schema + "." + target
		}
		if n.Alias != "" && n.Alias != n.FunctionName {
			target += " " + n.Alias
		}
	}
	if target != "" {
		b.WriteString(" on " + target)
	}
	return b.String()
}

// String is a one-line summary of the node as EXPLAIN's text format heads
// it, e.g. "Seq Scan on shop.orders (cost=0.00..21450.20 rows=12 width=64)",
// followed by "(actual time=… rows=… loops=…)" when analysed.
func (n *Node) String() string {
	if n == nil {
		return "<nil>"
	}
	var b strings.Builder
	b.WriteString(n.Title())
	b.WriteString(" (cost=")
	b.WriteString(strconv.FormatFloat(n.StartupCost, 'f', 2, 64))
	b.WriteString("..")
	b.WriteString(strconv.FormatFloat(n.TotalCost, 'f', 2, 64))
	b.WriteString(" rows=")
	b.WriteString(strconv.FormatFloat(n.PlanRows, 'f', 0, 64))
	b.WriteString(" width=")
	b.WriteString(strconv.Itoa(n.PlanWidth))
	b.WriteString(")")
	if n.ActualLoops > 0 {
		b.WriteString(" (actual time=")
		b.WriteString(strconv.FormatFloat(n.ActualStartupTime, 'f', 3, 64))
		b.WriteString("..")
		b.WriteString(strconv.FormatFloat(n.ActualTotalTime, 'f', 3, 64))
		b.WriteString(" rows=")
		b.WriteString(strconv.FormatFloat(n.ActualRows, 'f', 0, 64))
		b.WriteString(" loops=")
		b.WriteString(strconv.FormatFloat(n.ActualLoops, 'f', 0, 64))
		b.WriteString(")")
	}
	return b.String()
}
