package advisor

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/num"
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
is IMMUTABLE (lower, upper, ...). The index on the bare column serves only the
rewritten statement: when another finding proposes an index that serves the
statement as written (on the expression), it is part of the rewrite's sketch,
not of the indexes to run.`,
	Criteria: `Statement gate: calls >= min_calls, total time >= min_total_ms, share >= min_share.
Table rows (max of reltuples, n_live_tup) >= large_table_rows; with a plan, a scan of the table filtering on the column;
no index on the same expression. Tables unknown to the snapshot are reported (as notices) only when the snapshot has no tables at all (offline review).
Severity: error when the table has >= 100 x large_table_rows rows and share >= plan_error_share.`,
	Run: runNonSargable,
}

func init() { register(NonSargable) }

// NonSargableThresholds are the thresholds of non-sargable (rules.non-sargable.thresholds in .pgadvisor.yaml).
type NonSargableThresholds = LargeTableThresholds

var defaultNonSargable = NonSargableThresholds{
	LargeTableRows: 10000,
}

func runNonSargable(p *Pass) error {
	seen := expressionsSeen{}
	for _, fp := range largeTableFilters(p, func(pr sqlfacts.Predicate) bool { return pr.Function != "" || pr.Cast != "" }) {
		s, pr, t, obj := fp.s, fp.pr, fp.t, fp.obj
		expr := columnExpression(s.Facts, pr)
		if !seen.first(fp, expr) || (t != nil && hasExpressionIndex(p, t, expr)) {
			continue
		}
		scan, planned := filterScanOf(s, t, obj, pr.Column.Column)
		if planned && scan == nil {
			continue
		}
		reportNonSargable(p, s, t, obj, pr, expr, scan)
	}
	return nil
}

func reportNonSargable(p *Pass, s *model.Statement, t *pgstat.Table, obj string, pr sqlfacts.Predicate, expr string, scan *explain.Node) {
	col := pr.Column.Column
	colType := ""
	var rows float64
	if t != nil {
		colType = columnType(t, col)
		rows = p.Snapshot.RowCount(t)
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
		size = fmt.Sprintf(" (%s rows)", num.Compact(rows))
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

// hasExpressionIndex reports whether an index of t serves equality on the
// expression expr (whatif.IndexServes: a valid, non-partial index leading
// with it).
func hasExpressionIndex(p *Pass, t *pgstat.Table, expr string) bool {
	for _, ix := range p.IndexesOf(t) {
		if whatif.IndexServes(ix, "btree", []whatif.Key{{Expression: expr}}, 1) {
			return true
		}
	}
	return false
}

// hasLeadingIndex reports whether an index of t serves a range of column col
// (whatif.IndexServes: a valid, non-partial btree index leading with it).
func hasLeadingIndex(p *Pass, t *pgstat.Table, col string) bool {
	for _, ix := range p.IndexesOf(t) {
		if whatif.IndexServes(ix, "btree", []whatif.Key{{Column: col}}, 0) {
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
