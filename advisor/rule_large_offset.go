package advisor

import (
	"fmt"
	"strings"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// LargeOffset reports OFFSET pagination that reads and discards many rows.
var LargeOffset = &Rule{
	Name:     "large-offset",
	Family:   "sql",
	Severity: SeverityWarning,
	Doc: `OFFSET pagination discards many rows
OFFSET n makes the server produce n rows and throw them away before returning
the page: page 500 costs 500 pages of work, and rows shift between pages when
data changes. Found from the SQL text when OFFSET is a constant, or from an
EXPLAIN ANALYZE plan where a Limit node returned far fewer rows than its input
produced (pg_stat_statements replaces constants with $n, so for workload
statements the measured plan is the evidence).
Fix: keyset pagination, where the client passes the ORDER BY values of the
last row of the previous page and the query asks for the rows after them, served
by an index on the ORDER BY columns (with a unique tie-breaker).`,
	Thresholds: `Statement gate: calls >= min_calls, total time >= min_total_ms, share >= min_share.
SQL: a constant OFFSET >= large_offset (1000). Plan (measured): input rows - output rows of a Limit node >= large_offset.
Severity: error when >= 100 x large_offset rows are discarded per call and share >= plan_error_share (0.1).`,
	Run: runLargeOffset,
}

func init() { register(LargeOffset) }

func runLargeOffset(p *Pass) error {
	for _, s := range p.Statements {
		if !costsTime(p, s) {
			continue
		}
		f := s.Facts
		if f != nil && f.Kind != sqlfacts.KindSelect {
			continue
		}
		var discarded, offset float64
		var limitNode *explain.Node
		if f != nil && f.Offset != nil && f.Offset.Param == 0 && f.Offset.Value >= p.Options.LargeOffset {
			offset = float64(f.Offset.Value)
			discarded = offset
		}
		if measured(s) && (f == nil || f.Offset != nil) {
			eachNode(planRoot(s), func(n *explain.Node, _ []*explain.Node) {
				if n.NodeType != "Limit" || len(n.Plans) == 0 || n.ActualLoops <= 0 {
					return
				}
				d := n.Plans[0].TotalActualRows() - n.TotalActualRows()
				if d >= float64(p.Options.LargeOffset) && d > discarded {
					discarded, limitNode = d, n
				}
			})
		}
		if discarded == 0 {
			continue
		}
		ev := map[string]any{"plan_mode": planMode(s)}
		var msg string
		if limitNode != nil {
			ev["rows_discarded"] = discarded
			ev["rows_returned"] = limitNode.TotalActualRows()
			ev["rows_read"] = limitNode.Plans[0].TotalActualRows()
			msg = fmt.Sprintf("OFFSET pagination reads %s rows to return %s: %s are discarded per call, %s",
				formatCount(limitNode.Plans[0].TotalActualRows()), formatCount(limitNode.TotalActualRows()), formatCount(discarded), modeNote(s))
		} else {
			ev["offset"] = offset
			msg = fmt.Sprintf("OFFSET %s makes every call produce and discard %s rows before the page it returns (%s)",
				formatCount(offset), formatCount(offset), modeNote(s))
		}
		var objects []string
		if f != nil {
			for _, r := range f.Relations {
				if t := p.Table(r.Schema, r.Name); t != nil {
					objects = append(objects, t.QualifiedName())
				} else {
					objects = append(objects, pgstat.QuoteQualified(r.Schema, r.Name))
				}
			}
		} else if limitNode != nil {
			objects = objectsUnder(p, limitNode)
		}
		p.Report(p.StatementFinding(s, Finding{
			Severity: severityFor(p, s, discarded >= 100*float64(p.Options.LargeOffset)),
			Message:  msg,
			Objects:  objects,
			Evidence: ev,
			Fix:      offsetKeysetFix(p, f),
		}))
	}
	return nil
}

// offsetKeysetFix sketches the keyset rewrite from the statement's ORDER BY.
func offsetKeysetFix(p *Pass, f *sqlfacts.Facts) *Fix {
	fix := &Fix{Advisory: true}
	if f == nil || len(f.OrderBy) == 0 {
		fix.Summary = "Replace OFFSET with keyset pagination: ORDER BY a unique key (e.g. the primary key), pass the last key of the previous page and select WHERE key > $last … LIMIT n, served by an index on the key"
		return fix
	}
	var cols []string
	desc, mixed := f.OrderBy[0].Desc, false
	for _, o := range f.OrderBy {
		if o.Expression != "" {
			cols = append(cols, o.Expression)
		} else {
			cols = append(cols, pgstat.QuoteIdent(o.Column.Column))
		}
		if o.Desc != desc {
			mixed = true
		}
	}
	var table *pgstat.Table
	if len(f.Relations) == 1 {
		table = p.Table(f.Relations[0].Schema, f.Relations[0].Name)
	}
	tie := ""
	if table != nil && !coversUniqueKey(p, table, f.OrderBy) {
		if pk := primaryKey(p, table); len(pk) > 0 {
			for _, c := range pk {
				cols = append(cols, pgstat.QuoteIdent(c))
			}
			tie = " (the primary key is appended as a tie-breaker so the order is total)"
		}
	}
	if mixed {
		fix.Summary = "Replace OFFSET with keyset pagination: pass the ORDER BY values (" + strings.Join(cols, ", ") +
			") of the last row of the previous page and select the rows after them (ORDER BY directions are mixed, so write the comparison out column by column), served by an index on those columns" + tie
		return fix
	}
	op, dir := ">", ""
	if desc {
		op, dir = "<", " DESC"
	}
	params := make([]string, len(cols))
	for i := range cols {
		params[i] = fmt.Sprintf("$%d", i+1)
	}
	from := "…"
	if len(f.Relations) > 0 {
		r := f.Relations[0]
		from = pgstat.QuoteQualified(r.Schema, r.Name)
		if table != nil {
			from = table.QualifiedName()
		}
		if len(f.Relations) > 1 {
			from += " …"
		}
	}
	order := make([]string, len(cols))
	for i, c := range cols {
		order[i] = c + dir
	}
	left, right := cols[0], params[0]
	if len(cols) > 1 {
		left, right = "("+strings.Join(cols, ", ")+")", "("+strings.Join(params, ", ")+")"
	}
	fix.Summary = ("Replace OFFSET with keyset pagination: the client passes the ORDER BY values of the last row it got and the query adds " +
		left + " " + op + " " + right + " to its WHERE clause, drops OFFSET and keeps LIMIT; an index on (" + strings.Join(cols, ", ") + ") serves it" + tie)
	fix.SQL = []string{fmt.Sprintf("SELECT … FROM %s WHERE %s %s %s ORDER BY %s LIMIT $%d", from, left, op, right, strings.Join(order, ", "), len(cols)+1)}
	return fix
}

// coversUniqueKey reports whether the ORDER BY columns include every column of
// a unique index of the table, so that the order is total.
func coversUniqueKey(p *Pass, t *pgstat.Table, order []sqlfacts.OrderItem) bool {
	have := map[string]bool{}
	for _, o := range order {
		if o.Expression == "" {
			have[o.Column.Column] = true
		}
	}
	for _, ix := range p.IndexesOf(t) {
		if !ix.Unique || ix.Predicate != "" {
			continue
		}
		all := true
		for i, c := range ix.Columns {
			if (i < len(ix.Expressions) && ix.Expressions[i]) || !have[c] {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// primaryKey returns the primary-key columns of a table, or nil.
func primaryKey(p *Pass, t *pgstat.Table) []string {
	for _, ix := range p.IndexesOf(t) {
		if ix.Primary {
			return ix.Columns
		}
	}
	return nil
}
