package sqlfacts

import (
	"errors"
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// IndexSpec is what a CREATE INDEX statement builds, in a form two
// definitions can be compared by: keys as PostgreSQL deparses them, so that
// "(lower(email))" written by pgadvisor and "lower(email)" from
// pg_get_indexdef are the same key. (DDL's IndexDef is the migration-level
// summary review reads: table, plain columns, CONCURRENTLY.)
type IndexSpec struct {
	Schema, Table string
	Name          string
	Method        string // btree when not given
	Unique        bool
	// Only is set for CREATE INDEX … ON ONLY a partitioned table.
	Only bool
	// Keys are the key columns and expressions with their direction, NULLS
	// order and operator class, each deparsed.
	Keys    []string
	Include []string
	// Where is the partial index's predicate, deparsed; "" for none.
	Where string
}

// ParseIndexSpec reads the first CREATE INDEX of sql (a fix may start with
// CREATE EXTENSION).
func ParseIndexSpec(sql string) (IndexSpec, error) {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return IndexSpec{}, fmt.Errorf("parse: %w", err)
	}
	for _, raw := range tree.Stmts {
		st := raw.Stmt.GetIndexStmt()
		if st == nil {
			continue
		}
		d := IndexSpec{Name: st.GetIdxname(), Method: st.GetAccessMethod(), Unique: st.GetUnique()}
		if d.Method == "" {
			d.Method = "btree"
		}
		if rel := st.GetRelation(); rel != nil {
			d.Schema, d.Table, d.Only = rel.GetSchemaname(), rel.GetRelname(), !rel.GetInh()
		}
		for _, p := range st.GetIndexParams() {
			k, err := indexKeyText(p.GetIndexElem())
			if err != nil {
				return IndexSpec{}, err
			}
			d.Keys = append(d.Keys, k)
		}
		for _, p := range st.GetIndexIncludingParams() {
			d.Include = append(d.Include, p.GetIndexElem().GetName())
		}
		if w := st.GetWhereClause(); w != nil {
			if d.Where, err = exprText(w); err != nil {
				return IndexSpec{}, err
			}
		}
		return d, nil
	}
	return IndexSpec{}, errors.New("no CREATE INDEX")
}

// indexKeyText is one index key as comparable text.
func indexKeyText(e *pg_query.IndexElem) (string, error) {
	if e == nil {
		return "", errors.New("index key is not an element")
	}
	var b strings.Builder
	if e.GetName() != "" {
		b.WriteString(QuoteIdent(e.GetName()))
	} else {
		t, err := exprText(e.GetExpr())
		if err != nil {
			return "", err
		}
		b.WriteString("(" + t + ")")
	}
	for _, o := range e.GetOpclass() {
		if s := o.GetString_(); s != nil && s.GetSval() != "" {
			b.WriteString(" " + s.GetSval())
		}
	}
	desc := e.GetOrdering() == pg_query.SortByDir_SORTBY_DESC
	if desc {
		b.WriteString(" DESC")
	}
	switch e.GetNullsOrdering() {
	case pg_query.SortByNulls_SORTBY_NULLS_FIRST:
		if !desc {
			b.WriteString(" NULLS FIRST")
		}
	case pg_query.SortByNulls_SORTBY_NULLS_LAST:
		if desc {
			b.WriteString(" NULLS LAST")
		}
	}
	return b.String(), nil
}

// exprText deparses an expression on its own.
func exprText(n *pg_query.Node) (string, error) {
	sel := &pg_query.SelectStmt{TargetList: []*pg_query.Node{pg_query.MakeResTargetNodeWithVal(n, 0)}}
	out, err := pg_query.Deparse(&pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: &pg_query.Node{Node: &pg_query.Node_SelectStmt{SelectStmt: sel}}}}})
	if err != nil {
		return "", fmt.Errorf("deparse: %w", err)
	}
	return strings.TrimPrefix(out, "SELECT "), nil
}

// LeadsWith reports whether d's keys begin with all of o's keys, on the same
// table, method and predicate, and d holds every INCLUDE column of o (as a
// key or an INCLUDE column): an index d serves every lookup o serves, its
// index-only scans included. A partial index leads only one of the same
// predicate (compared without casts to text and parentheses, so that
// pg_get_indexdef's (status = 'open'::text) is status = 'open'): a
// non-partial index is never a duplicate of a partial one, nor the reverse.
func (d IndexSpec) LeadsWith(o IndexSpec) bool {
	if d.Schema != o.Schema || d.Table != o.Table || d.Method != o.Method || normalizePredicate(d.Where) != normalizePredicate(o.Where) ||
		len(o.Keys) > len(d.Keys) || len(o.Keys) == 0 {
		return false
	}
	if d.Method != "btree" && len(o.Keys) != len(d.Keys) {
		return false // only a btree serves a leading prefix of its keys
	}
	for i, k := range o.Keys {
		if d.Keys[i] != k {
			return false
		}
	}
	for _, col := range o.Include {
		if !d.holds(col) {
			return false
		}
	}
	return true
}

// holds reports whether d stores column col: as a plain key (with any
// direction or operator class) or an INCLUDE column.
func (d IndexSpec) holds(col string) bool {
	for _, c := range d.Include {
		if c == col {
			return true
		}
	}
	q := QuoteIdent(col)
	for _, k := range d.Keys {
		if k == q || strings.HasPrefix(k, q+" ") {
			return true
		}
	}
	return false
}

// normalizePredicate is a deparsed WHERE without casts to text or varchar,
// parentheses and white space, lower case.
func normalizePredicate(s string) string {
	s = strings.ToLower(s)
	for _, c := range []string{"::text", "::character varying", "::varchar", "::bpchar"} {
		s = strings.ReplaceAll(s, c, "")
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '(', ')', ' ', '\t', '\n':
			return -1
		}
		return r
	}, s)
}
