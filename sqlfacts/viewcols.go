package sqlfacts

import (
	"errors"
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// OutputColumns maps the output columns of a SELECT (a view's definition)
// that are a plain column of its FROM to that column: "view_id" →
// ColumnRef{Table: "p", Column: "id"} for SELECT p.id AS view_id FROM posts p.
// Expressions, stars and the branches of a UNION are left out.
func OutputColumns(sql string) (map[string]ColumnRef, error) {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if len(tree.Stmts) != 1 {
		return nil, errors.New("not one statement")
	}
	sel := tree.Stmts[0].Stmt.GetSelectStmt()
	if sel == nil || sel.GetOp() != pg_query.SetOperation_SETOP_NONE {
		return nil, errors.New("not a simple SELECT")
	}
	out := map[string]ColumnRef{}
	for _, n := range sel.GetTargetList() {
		rt := n.GetResTarget()
		cr := rt.GetVal().GetColumnRef()
		if cr == nil {
			continue
		}
		var names []string
		for _, f := range cr.GetFields() {
			s := f.GetString_()
			if s == nil {
				names = nil // a star
				break
			}
			names = append(names, s.GetSval())
		}
		if len(names) == 0 {
			continue
		}
		ref := ColumnRef{Column: names[len(names)-1]}
		if len(names) >= 2 {
			ref.Table = names[len(names)-2]
		}
		if len(names) >= 3 {
			ref.Schema = names[len(names)-3]
		}
		name := rt.GetName()
		if name == "" {
			name = ref.Column
		}
		out[name] = ref
	}
	return out, nil
}

// ReturnsColumn reports whether the result of a simple SELECT has a column
// named name: an output column of that name, or a star (which may expand
// to it). A text that is not one simple SELECT returns false.
func ReturnsColumn(sql, name string) bool {
	tree, err := pg_query.Parse(sql)
	if err != nil || len(tree.Stmts) != 1 {
		return false
	}
	sel := tree.Stmts[0].Stmt.GetSelectStmt()
	if sel == nil || sel.GetOp() != pg_query.SetOperation_SETOP_NONE {
		return false
	}
	for _, n := range sel.GetTargetList() {
		rt := n.GetResTarget()
		if rt.GetName() != "" {
			if rt.GetName() == name {
				return true
			}
			continue
		}
		cr := rt.GetVal().GetColumnRef()
		if cr == nil {
			continue
		}
		fields := cr.GetFields()
		if len(fields) == 0 {
			continue
		}
		last := fields[len(fields)-1]
		if last.GetAStar() != nil {
			return true
		}
		if s := last.GetString_(); s != nil && s.GetSval() == name {
			return true
		}
	}
	return false
}
