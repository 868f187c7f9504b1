package advisor

// Helpers of the rules that read a statement's filter predicates on large
// tables (non-sargable, leading-wildcard): which predicates, on which table,
// what the plan does with them, and which column expressions were met.

import (
	"regexp"
	"strings"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
	"github.com/pgadvisor/pgadvisor/whatif"
)

// LargeTableThresholds are the thresholds of a rule about predicates on large
// tables (leading-wildcard, non-sargable), each rule's set in its own section.
type LargeTableThresholds struct {
	LargeTableRows float64 `json:"large_table_rows" doc:"tables with fewer rows are too small to matter; a table of 100 x this many rows makes the finding an error"`
}

// filterPredicate is a predicate of a statement that is not a join
// condition, on a table large enough to matter.
type filterPredicate struct {
	s   *model.Statement
	pr  sqlfacts.Predicate
	t   *pgstat.Table // nil when the snapshot does not know the table (offline review)
	obj string        // the table as findings name it
}

// largeTableFilters lists the predicates that want accepts, join conditions
// left out, of the statements that cost enough time (costsTime), on tables
// large enough to matter (largePredicateTable), in statement and predicate
// order.
func largeTableFilters(p *Pass, want func(sqlfacts.Predicate) bool) []filterPredicate {
	var out []filterPredicate
	for _, s := range p.Statements {
		f := s.Facts
		if f == nil || !costsTime(p, s) {
			continue
		}
		for _, pr := range f.Predicates {
			if pr.Join || !want(pr) {
				continue
			}
			if t, obj, ok := largePredicateTable(p, f, pr.Column); ok {
				out = append(out, filterPredicate{s: s, pr: pr, t: t, obj: obj})
			}
		}
	}
	return out
}

// expressionsSeen remembers the column expressions a rule has met, per
// statement and table, expressions compared normalised
// (whatif.NormalizeExpression).
type expressionsSeen map[expressionSeen]bool

type expressionSeen struct {
	s    *model.Statement
	obj  string
	expr string
}

// first reports whether expr on fp's table is met for the first time in
// fp's statement, and remembers it.
func (seen expressionsSeen) first(fp filterPredicate, expr string) bool {
	k := expressionSeen{s: fp.s, obj: fp.obj, expr: whatif.NormalizeExpression(expr)}
	if seen[k] {
		return false
	}
	seen[k] = true
	return true
}

// largePredicateTable resolves a predicate's column to its table and reports
// whether the table is large enough to matter. t is nil when the snapshot
// does not know the table; that is accepted only when the snapshot has no
// tables at all (offline review).
func largePredicateTable(p *Pass, f *sqlfacts.Facts, c sqlfacts.ColumnRef) (t *pgstat.Table, obj string, ok bool) {
	schema, name := c.Schema, c.Table
	if name == "" {
		switch {
		case len(f.Relations) == 1:
			schema, name = f.Relations[0].Schema, f.Relations[0].Name
		default:
			for _, r := range f.Relations {
				rt := p.Table(r.Schema, r.Name)
				if rt == nil || columnType(rt, c.Column) == "" {
					continue
				}
				if t != nil {
					return nil, "", false // ambiguous
				}
				t = rt
			}
			if t == nil {
				return nil, "", false
			}
			return t, t.QualifiedName(), p.Snapshot.RowCount(t) >= p.Options.NonSargable.LargeTableRows
		}
	}
	if t = p.Table(schema, name); t != nil {
		return t, t.QualifiedName(), p.Snapshot.RowCount(t) >= p.Options.NonSargable.LargeTableRows
	}
	return nil, pgstat.QuoteQualified(schema, name), len(p.Snapshot.Tables) == 0
}

// columnExpression is the predicate's column-side expression without table
// or alias qualifiers, usable in CREATE INDEX.
func columnExpression(f *sqlfacts.Facts, pr sqlfacts.Predicate) string {
	expr := pr.Expression
	if expr == "" {
		switch {
		case pr.Function == "" && pr.Cast == "":
			expr = pgstat.QuoteIdent(pr.Column.Column)
		case pr.Function != "":
			expr = pr.Function + "(" + pgstat.QuoteIdent(pr.Column.Column) + ")"
		default:
			expr = pgstat.QuoteIdent(pr.Column.Column) + "::" + pr.Cast
		}
	}
	for _, r := range f.Relations {
		for _, q := range []string{r.Alias, r.Name, pgstat.QuoteQualified(r.Schema, r.Name)} {
			if q == "" || !strings.Contains(expr, q+".") {
				continue // no qualifier to drop: no regexp to compile
			}
			re := regexp.MustCompile(`(^|[^\w."])` + regexp.QuoteMeta(q) + `\.`)
			expr = re.ReplaceAllString(expr, "$1")
		}
	}
	return expr
}

// filterScanOf looks in the statement's plan for the scan of a table that
// applies a condition on column col as a Filter (reading rows to discard
// them), rather than as an Index Cond or Recheck Cond. planned is false when
// there is no plan or it does not scan the table by name; scan is nil when the
// table is scanned but no scan filters on col, or an index serves col.
func filterScanOf(s *model.Statement, t *pgstat.Table, obj, col string) (scan *explain.Node, planned bool) {
	root := planRoot(s)
	if root == nil {
		return nil, false
	}
	served := false
	eachNode(root, func(n *explain.Node, _ []*explain.Node) {
		if n.RelationName == "" {
			return
		}
		if t != nil {
			if n.RelationName != t.Name || (n.Schema != "" && n.Schema != t.Schema) {
				return
			}
		} else if pgstat.QuoteQualified(n.Schema, n.RelationName) != obj && n.RelationName != obj {
			return
		}
		planned = true
		switch {
		case mentionsColumn(n.IndexCond, col) || mentionsColumn(n.RecheckCond, col):
			served = true
		case scan == nil && mentionsColumn(n.Filter, col):
			scan = n
		}
	})
	if served {
		return nil, true
	}
	return scan, planned
}
