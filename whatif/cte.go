package whatif

import (
	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// materializedBodies returns the SQL of each MATERIALIZED CTE of the
// statement, by CTE name (nil when there is none or the text does not parse).
// The facts resolve a CTE's columns through to its base table, so the body's
// own predicates are what tells which predicates stay inside the fence.
func materializedBodies(query string) map[string]string {
	tree, err := pg_query.Parse(query)
	if err != nil || len(tree.Stmts) == 0 {
		return nil
	}
	var with *pg_query.WithClause
	switch n := tree.Stmts[0].Stmt.GetNode().(type) {
	case *pg_query.Node_SelectStmt:
		with = n.SelectStmt.GetWithClause()
	case *pg_query.Node_UpdateStmt:
		with = n.UpdateStmt.GetWithClause()
	case *pg_query.Node_DeleteStmt:
		with = n.DeleteStmt.GetWithClause()
	case *pg_query.Node_InsertStmt:
		with = n.InsertStmt.GetWithClause()
	}
	if with == nil {
		return nil
	}
	out := map[string]string{}
	for _, node := range with.GetCtes() {
		cte := node.GetCommonTableExpr()
		if cte == nil || cte.GetCtematerialized() != pg_query.CTEMaterialize_CTEMaterializeAlways {
			continue
		}
		sql, err := pg_query.Deparse(&pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: cte.GetCtequery()}}})
		if err == nil {
			out[cte.GetCtename()] = sql
		}
	}
	return out
}
