package advisor

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
	"github.com/pgadvisor/pgadvisor/whatif"
)

// NonSargable reports predicates that wrap a column in a function or cast,
// which keeps a plain index on the column from being used.
var NonSargable = &Rule{
	Name:     "non-sargable",
	Family:   "sql",
	Severity: SeverityWarning,
	Doc: `A function or cast on a column prevents index use
A condition such as lower(email) = $1, created_at::date = $1 or
date_trunc('day', created_at) = $1 compares an expression, not the column: an
index on the column cannot serve it and the table is read in full. Found from
the SQL text (so it works without a plan, with a generic plan, and in review);
when the statement has a plan, the rule reports only if that plan applies the
condition as a Filter of a scan of the table (not as an index condition).
Fix: rewrite the condition so the bare column is compared (a range for dates:
created_at >= $1::date AND created_at < $1::date + 1; a cast on the other side
instead of the column), or create an index on the expression when its function
is IMMUTABLE (lower, upper, ...).`,
	Criteria: `Statement gate: calls >= min_calls, total time >= min_total_ms, share >= min_share.
Table rows (max of reltuples, n_live_tup) >= large_table_rows; with a plan, a scan of the table filtering on the column;
no index on the same expression. Tables unknown to the snapshot are reported (as notices) only when the snapshot has no tables at all (offline review).
Severity: error when the table has >= 100 x large_table_rows rows and share >= plan_error_share.`,
	Run: runNonSargable,
}

func init() { register(NonSargable) }

// NonSargableThresholds are the thresholds of non-sargable (rules.non-sargable.thresholds in .pgadvisor.yaml).
type NonSargableThresholds struct {
	LargeTableRows float64 `json:"large_table_rows" doc:"tables with fewer rows are too small to matter; a table of 100 x this many rows makes the finding an error"`
}

var defaultNonSargable = NonSargableThresholds{
	LargeTableRows: 10000,
}

func runNonSargable(p *Pass) error {
	for _, s := range p.Statements {
		f := s.Facts
		if f == nil || !costsTime(p, s) {
			continue
		}
		seen := map[string]bool{}
		for _, pr := range f.Predicates {
			if pr.Join || (pr.Function == "" && pr.Cast == "") {
				continue
			}
			t, obj, ok := largePredicateTable(p, f, pr.Column)
			if !ok {
				continue
			}
			expr := columnExpression(f, pr)
			key := obj + "\x00" + normalizeExpr(expr)
			if seen[key] {
				continue
			}
			seen[key] = true
			if t != nil && hasExpressionIndex(p, t, expr) {
				continue
			}
			scan, planned := filterScanOf(s, t, obj, pr.Column.Column)
			if planned && scan == nil {
				continue
			}
			reportNonSargable(p, s, t, obj, pr, expr, scan)
		}
	}
	return nil
}

func reportNonSargable(p *Pass, s *model.Statement, t *pgstat.Table, obj string, pr sqlfacts.Predicate, expr string, scan *explain.Node) {
	col := pr.Column.Column
	colType := ""
	var rows float64
	if t != nil {
		colType = columnType(t, col)
		rows = relRows(t)
	}
	wrap := "wrapped in " + pr.Function + "()"
	if pr.Function == "" {
		wrap = "cast to " + pr.Cast
	}
	ev := map[string]any{
		"plan_mode":  planMode(s),
		"expression": expr,
		"column":     col,
		"operator":   pr.Operator,
	}
	if colType != "" {
		ev["column_type"] = colType
	}
	size := ""
	if t != nil {
		ev["table_rows"] = rows
		size = fmt.Sprintf(" (%s rows)", formatCount(rows))
	}
	planNote := modeNote(s)
	if scan != nil {
		ev["node_type"] = scan.NodeType
		ev["rows_removed_by_filter"] = scan.TotalRowsRemovedByFilter()
		planNote = fmt.Sprintf("the plan reads it with a %s (%s)", scan.Title(), modeNote(s))
	}
	fix := nonSargableFix(p, t, obj, pr, expr, colType)
	sev := SeverityNotice
	if t != nil {
		sev = severityFor(p, s, rows >= 100*p.Options.NonSargable.LargeTableRows)
	}
	p.Report(p.StatementFinding(s, Finding{
		Severity: sev,
		Message:  fmt.Sprintf("%s %s%s on %s%s cannot use an index on %s: the column is %s; %s", expr, pr.Operator, otherSide(pr), obj, size, col, wrap, planNote),
		Objects:  []string{obj},
		Evidence: ev,
		Fix:      fix,
	}))
}

// nonSargableFix is a range rewrite for dates, a cast moved to the other
// side, or an expression index.
func nonSargableFix(p *Pass, t *pgstat.Table, obj string, pr sqlfacts.Predicate, expr, colType string) *Fix {
	col := pgstat.QuoteIdent(pr.Column.Column)
	fn := strings.TrimPrefix(strings.ToLower(pr.Function), "pg_catalog.")
	cast := strings.TrimPrefix(strings.ToLower(pr.Cast), "pg_catalog.")
	timestamp := strings.HasPrefix(colType, "timestamp")
	plainIndex := func(fix *Fix) *Fix {
		if t != nil && !hasLeadingIndex(p, t, pr.Column.Column) {
			fix.SQL = p.indexSQL(columnIndex(t, pr.Column.Column))
		}
		return fix
	}
	switch {
	case (cast == "date" || fn == "date") && (timestamp || colType == ""):
		return plainIndex(&Fix{
			Summary: fmt.Sprintf("Compare the bare column with a day range instead of casting it: %s >= $1::date AND %s < $1::date + 1 (same result, and an index on %s serves it)", col, col, col),
		})
	case fn == "date_trunc" && (timestamp || colType == ""):
		return plainIndex(&Fix{
			Summary: fmt.Sprintf("Compare the bare column with a range instead of truncating it: %s >= date_trunc(unit, $1) AND %s < date_trunc(unit, $1) + interval '1 unit' (an index on %s serves it)", col, col, col),
		})
	case fn == "extract" || fn == "date_part":
		return plainIndex(&Fix{
			Summary: fmt.Sprintf("Rewrite the condition on %s as a range of the bare column (e.g. a year as %s >= make_date($1, 1, 1) AND %s < make_date($1 + 1, 1, 1)), which an index on %s serves", expr, col, col, col),
		})
	case pr.Function == "" && cast != "" && colType != "":
		return &Fix{
			Summary: fmt.Sprintf("Cast the other side, not the column: %s %s $1::%s keeps an index on %s usable; otherwise index the expression", col, pr.Operator, colType, col),
			SQL:     exprIndexSQL(p, t, expr),
		}
	}
	return &Fix{
		Summary: fmt.Sprintf("Create an index on the expression %s (its function must be IMMUTABLE), or rewrite the condition to compare the bare column", expr),
		SQL:     exprIndexSQL(p, t, expr),
	}
}

// otherSide renders what a predicate compares its column with: " $1",
// " 'x'", or " …" when it is neither a parameter nor a constant.
func otherSide(pr sqlfacts.Predicate) string {
	switch {
	case pr.Param > 0:
		return fmt.Sprintf(" $%d", pr.Param)
	case pr.HasConst:
		return " '" + strings.ReplaceAll(strings.Trim(pr.Const, "'"), "'", "''") + "'"
	}
	return " …"
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
			return t, t.QualifiedName(), relRows(t) >= p.Options.NonSargable.LargeTableRows
		}
	}
	if t = p.Table(schema, name); t != nil {
		return t, t.QualifiedName(), relRows(t) >= p.Options.NonSargable.LargeTableRows
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
			if q == "" {
				continue
			}
			re := regexp.MustCompile(`(^|[^\w."])` + regexp.QuoteMeta(q) + `\.`)
			expr = re.ReplaceAllString(expr, "$1")
		}
	}
	return expr
}

// textCast matches the casts to text that pg_get_indexdef adds around
// varchar and char columns, e.g. lower((email)::text).
var textCast = regexp.MustCompile(`::\s*(text|character varying|varchar|bpchar)\b`)

// normalizeExpr reduces an expression text to compare the SQL side with
// pg_get_indexdef: lower case, text casts, quotes, parentheses and spaces
// removed; other casts are kept (created_at::date is not created_at).
func normalizeExpr(s string) string {
	s = textCast.ReplaceAllString(strings.ToLower(s), "")
	return strings.Map(func(r rune) rune {
		switch r {
		case '(', ')', ' ', '"', '\t', '\n':
			return -1
		}
		return r
	}, s)
}

// hasExpressionIndex reports whether a valid index of t has expr as its
// leading key, an expression key.
func hasExpressionIndex(p *Pass, t *pgstat.Table, expr string) bool {
	want := normalizeExpr(expr)
	for _, ix := range p.IndexesOf(t) {
		if !ix.Valid || len(ix.Columns) == 0 || len(ix.Expressions) == 0 || !ix.Expressions[0] {
			continue
		}
		if normalizeExpr(ix.Columns[0]) == want {
			return true
		}
	}
	return false
}

// hasLeadingIndex reports whether a valid btree index of t leads with column col.
func hasLeadingIndex(p *Pass, t *pgstat.Table, col string) bool {
	for _, ix := range p.IndexesOf(t) {
		if ix.Valid && len(ix.Columns) > 0 && ix.Columns[0] == col && (len(ix.Expressions) == 0 || !ix.Expressions[0]) && (ix.Method == "" || ix.Method == "btree") {
			return true
		}
	}
	return false
}

func columnType(t *pgstat.Table, col string) string {
	for _, c := range t.Columns {
		if c.Name == col {
			return c.Type
		}
	}
	return ""
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

// mentionsColumn reports whether a plan condition names column col outside
// string literals.
func mentionsColumn(cond, col string) bool {
	if cond == "" {
		return false
	}
	for _, w := range identWord.FindAllString(stringLiteral.ReplaceAllString(cond, "''"), -1) {
		if strings.Trim(w, `"`) == col {
			return true
		}
	}
	return false
}

// columnIndex is the btree index on one column, as the index advisor names it.
func columnIndex(t *pgstat.Table, column string) whatif.Candidate {
	return whatif.Candidate{Schema: t.Schema, Table: t.Name, Method: "btree", Partitioned: t.Kind == "p", Keys: []whatif.Key{{Column: column}}}
}

// exprIndexSQL is the fix SQL of the expression index: none for an unknown
// table, or for an expression the server would refuse to index (not
// IMMUTABLE, as the what-if found), where only the rewrite helps.
func exprIndexSQL(p *Pass, t *pgstat.Table, expr string) []string {
	if t == nil {
		return nil
	}
	c := expressionIndex(t, expr)
	if _, res := p.IndexAdvice(); res != nil && slices.Contains(res.NotImmutable, c.ID()) {
		return nil
	}
	return p.indexSQL(c)
}

// expressionIndex is the btree index on one expression, as the index advisor names it.
func expressionIndex(t *pgstat.Table, expr string) whatif.Candidate {
	return whatif.Candidate{Schema: t.Schema, Table: t.Name, Method: "btree", Partitioned: t.Kind == "p", Keys: []whatif.Key{{Expression: expr}}}
}
