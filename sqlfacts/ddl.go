package sqlfacts

import (
	"fmt"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// DDL is what a schema-changing statement (a migration's) does to tables,
// indexes and foreign keys: the input of the migration rules of review.
type DDL struct {
	// CreatesTable is the table a CREATE TABLE creates.
	CreatesTable *Relation `json:"creates_table,omitempty"`
	// Indexes are the indexes built: CREATE INDEX, and the ones PRIMARY KEY
	// and UNIQUE constraints build.
	Indexes []IndexDef `json:"indexes,omitempty"`
	// ForeignKeys are the foreign keys added (in CREATE TABLE or ALTER TABLE).
	ForeignKeys []ForeignKeyDef `json:"foreign_keys,omitempty"`
}

// IndexDef is an index a statement builds.
type IndexDef struct {
	Table Relation `json:"table"`
	Name  string   `json:"name,omitempty"`
	// Columns are the key columns in order; an expression key is "" (it
	// leads with no column).
	Columns []string `json:"columns"`
	// Concurrently is set for CREATE INDEX CONCURRENTLY.
	Concurrently bool `json:"concurrently,omitempty"`
	// Statement is set for CREATE INDEX (not for a constraint's index).
	Statement bool `json:"statement,omitempty"`
	// Partial is set for an index with a WHERE clause.
	Partial bool `json:"partial,omitempty"`
}

// ForeignKeyDef is a foreign key a statement adds.
type ForeignKeyDef struct {
	Table      Relation `json:"table"`
	Columns    []string `json:"columns"`
	References Relation `json:"references"`
	Name       string   `json:"name,omitempty"`
}

// AnalyzeDDL reads the DDL facts of one statement; a statement that is not
// DDL has empty facts. A text that does not parse returns a *SyntaxError.
func AnalyzeDDL(sql string) (DDL, error) {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return DDL{}, fmt.Errorf("parse: %w", syntaxError(sql, err))
	}
	var d DDL
	for _, raw := range tree.Stmts {
		n := raw.GetStmt()
		switch {
		case n.GetCreateStmt() != nil:
			cs := n.GetCreateStmt()
			t := rangeVarRelation(cs.GetRelation())
			d.CreatesTable = &t
			for _, elt := range cs.GetTableElts() {
				if col := elt.GetColumnDef(); col != nil {
					for _, c := range col.GetConstraints() {
						d.constraint(t, c.GetConstraint(), col.GetColname())
					}
				}
				d.constraint(t, elt.GetConstraint(), "")
			}
		case n.GetIndexStmt() != nil:
			is := n.GetIndexStmt()
			ix := IndexDef{
				Table:        rangeVarRelation(is.GetRelation()),
				Name:         is.GetIdxname(),
				Concurrently: is.GetConcurrent(),
				Statement:    true,
				Partial:      is.GetWhereClause() != nil,
			}
			for _, p := range is.GetIndexParams() {
				ix.Columns = append(ix.Columns, p.GetIndexElem().GetName())
			}
			d.Indexes = append(d.Indexes, ix)
		case n.GetAlterTableStmt() != nil:
			as := n.GetAlterTableStmt()
			t := rangeVarRelation(as.GetRelation())
			for _, cmdNode := range as.GetCmds() {
				cmd := cmdNode.GetAlterTableCmd()
				switch cmd.GetSubtype() {
				case pg_query.AlterTableType_AT_AddConstraint:
					d.constraint(t, cmd.GetDef().GetConstraint(), "")
				case pg_query.AlterTableType_AT_AddColumn:
					if col := cmd.GetDef().GetColumnDef(); col != nil {
						for _, c := range col.GetConstraints() {
							d.constraint(t, c.GetConstraint(), col.GetColname())
						}
					}
				}
			}
		}
	}
	return d, nil
}

// constraint records a table or column constraint (column is the column of
// a column constraint, "" for a table constraint).
func (d *DDL) constraint(t Relation, c *pg_query.Constraint, column string) {
	if c == nil {
		return
	}
	names := func(nodes []*pg_query.Node) []string {
		var out []string
		for _, k := range nodes {
			out = append(out, k.GetString_().GetSval())
		}
		if len(out) == 0 && column != "" {
			out = []string{column}
		}
		return out
	}
	switch c.GetContype() {
	case pg_query.ConstrType_CONSTR_PRIMARY, pg_query.ConstrType_CONSTR_UNIQUE:
		d.Indexes = append(d.Indexes, IndexDef{Table: t, Name: c.GetConname(), Columns: names(c.GetKeys())})
	case pg_query.ConstrType_CONSTR_FOREIGN:
		d.ForeignKeys = append(d.ForeignKeys, ForeignKeyDef{
			Table:      t,
			Columns:    names(c.GetFkAttrs()),
			References: rangeVarRelation(c.GetPktable()),
			Name:       c.GetConname(),
		})
	}
}

func rangeVarRelation(rv *pg_query.RangeVar) Relation {
	return Relation{Schema: rv.GetSchemaname(), Name: rv.GetRelname()}
}
