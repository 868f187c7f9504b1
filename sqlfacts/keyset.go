package sqlfacts

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

var paramRef = regexp.MustCompile(`\$(\d+)`)

// KeysetRewrite rewrites a SELECT paginated with OFFSET into keyset
// pagination: the OFFSET is dropped, the WHERE clause gets "cols < (the
// last row's values)" (">" for an ascending order), and tie are appended to
// ORDER BY (a unique key making the order total). The new parameters take
// the OFFSET's number (when it was a parameter) and then numbers after the
// highest in the statement, so the rewrite has no gap in its $n and can be
// prepared. cols are the ORDER BY columns then the tie-breakers, as SQL
// (quoted where needed). The statement is deparsed by pg_query, so its text
// is PostgreSQL's own form of the original.
func KeysetRewrite(sql string, cols, tie []string, desc bool) (string, error) {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return "", fmt.Errorf("parse: %w", err)
	}
	if len(tree.Stmts) != 1 {
		return "", errors.New("not one statement")
	}
	sel := tree.Stmts[0].Stmt.GetSelectStmt()
	if sel == nil || sel.GetLimitOffset() == nil || sel.GetOp() != pg_query.SetOperation_SETOP_NONE || len(cols) == 0 {
		return "", errors.New("not a single SELECT with OFFSET")
	}
	highest := 0
	for _, m := range paramRef.FindAllStringSubmatch(sql, -1) {
		if n, _ := strconv.Atoi(m[1]); n > highest {
			highest = n
		}
	}
	var params []string
	if p := sel.GetLimitOffset().GetParamRef(); p != nil {
		params = append(params, fmt.Sprintf("$%d", p.GetNumber()))
	}
	for len(params) < len(cols) {
		highest++
		params = append(params, fmt.Sprintf("$%d", highest))
	}
	op := ">"
	if desc {
		op = "<"
	}
	left, right := cols[0], params[0]
	if len(cols) > 1 {
		left, right = "("+strings.Join(cols, ", ")+")", "("+strings.Join(params, ", ")+")"
	}
	dir := ""
	if desc {
		dir = " DESC"
	}
	order := make([]string, len(tie))
	for i, c := range tie {
		order[i] = c + dir
	}
	tmpl := "SELECT 1 WHERE " + left + " " + op + " " + right
	if len(order) > 0 {
		tmpl += " ORDER BY " + strings.Join(order, ", ")
	}
	parts, err := pg_query.Parse(tmpl)
	if err != nil {
		return "", fmt.Errorf("keyset condition: %w", err)
	}
	t := parts.Stmts[0].Stmt.GetSelectStmt()
	cond := t.GetWhereClause()
	if w := sel.GetWhereClause(); w != nil {
		cond = pg_query.MakeBoolExprNode(pg_query.BoolExprType_AND_EXPR, []*pg_query.Node{w, cond}, -1)
	}
	sel.WhereClause = cond
	sel.SortClause = append(sel.SortClause, t.GetSortClause()...)
	sel.LimitOffset = nil
	out, err := pg_query.Deparse(tree)
	if err != nil {
		return "", fmt.Errorf("deparse: %w", err)
	}
	return out, nil
}
