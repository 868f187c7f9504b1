package sqlfacts

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Fingerprint returns pg_query's fingerprint of sql (16 hex digits): the same
// for statements that differ only in constants, parameter numbers, whitespace
// and comments. A text that does not parse yields a *SyntaxError (wrapped).
// Results are memoised by text (see analyzeCache).
func Fingerprint(sql string) (string, error) {
	if fp, ok := fingerprintCache.get(sql); ok {
		return fp, nil
	}
	fp, err := pg_query.Fingerprint(sql)
	if err != nil {
		return "", fmt.Errorf("fingerprint statement: %w", syntaxError(sql, err))
	}
	fingerprintCache.put(sql, fp)
	return fp, nil
}

// Analyze parses sql (a statement as pg_stat_statements shows it: $n
// placeholders, maybe a trailing semicolon, maybe several statements) and
// returns the facts of its first statement. A text that does not parse yields
// a *SyntaxError (wrapped; use errors.As). A text without any statement (only
// comments) yields Facts of KindOther with Statements == 0.
//
// Conventions beyond the field comments:
//   - Predicates, Joins, Relations, Functions, Params, Subqueries, SelectStar,
//     Aggregates, Distinct and Locking cover every query level (CTEs and
//     subqueries included); OrderBy, GroupBy, Limit and Offset are those of the
//     outermost SELECT; Target and InsertRows those of the top statement.
//   - A column read through a CTE or a subquery in FROM resolves to its base
//     table when the CTE passes the plain column through (by name or *).
//   - Joins written in WHERE, and correlations into a subquery, have type
//     "inner". A row comparison (a, b) > ($1, $2) yields one predicate per
//     element; all but the first are InOr unless the operator is "=".
//   - ParamColumns maps $n compared with a bare or cast column, an INSERT
//     value and an UPDATE SET value; not $n compared with a function of a
//     column (a value of the column does not fit there).
//   - A CTE's Relations are the base relations named in its own body.
//   - Cast is the type as the parser names it: int4, timestamptz, text.
//   - Expression texts (predicates, ORDER BY keys) are deparsed with column
//     names unqualified, ready for CREATE INDEX: lower(email), not lower(u.email).
//   - Utility statements (KindUtility) get Relations, Functions and Params
//     from a generic walk; EXPLAIN and DECLARE CURSOR also yield the facts of
//     the query they hold.
//
// Results are memoised by text (see analyzeCache); each call returns Facts
// of its own.
func Analyze(sql string) (*Facts, error) {
	if f, ok := analyzeCache.get(sql); ok {
		return f.clone(), nil
	}
	f, err := analyze(sql)
	if err != nil {
		return nil, err
	}
	analyzeCache.put(sql, f.clone())
	fingerprintCache.put(sql, f.Fingerprint)
	return f, nil
}

// analyze is Analyze without its cache.
func analyze(sql string) (*Facts, error) {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return nil, fmt.Errorf("parse statement: %w", syntaxError(sql, err))
	}
	fp, err := pg_query.Fingerprint(sql)
	if err != nil {
		return nil, fmt.Errorf("fingerprint statement: %w", syntaxError(sql, err))
	}
	f := &Facts{Fingerprint: fp, Statements: len(tree.GetStmts()), Kind: KindOther, Relations: []Relation{}}
	if f.Statements == 0 {
		return f, nil
	}
	w := &walker{f: f}
	w.top(tree.Stmts[0].GetStmt())
	w.finish()
	return f, nil
}

// rteKind says what a FROM item is.
type rteKind int

const (
	rteBase    rteKind = iota // a table or view
	rteDerived                // a subquery in FROM or a CTE reference
	rteFunc                   // a function in FROM
)

// rte is one FROM item visible at a query level.
type rte struct {
	kind rteKind
	ref  string   // the name columns are qualified with: alias, else relation name
	rel  Relation // rteBase
	out  *derived // rteDerived: output columns traced to base columns
}

// output is one output column of a derived table.
type output struct {
	name string
	ref  ColumnRef // Table empty when it is not a plain column of a base relation
	expr *pg_query.Node
}

// derived describes the output columns of a subquery or CTE.
type derived struct {
	cols []output
	// star is the item a "SELECT *" (or "t.*") passes through; names not in
	// cols resolve through it.
	star *rte
	// positional is false when the column order is unknown (a * was expanded).
	positional bool
}

func (d *derived) lookup(name string) (ColumnRef, bool) {
	if d == nil {
		return ColumnRef{}, false
	}
	for _, c := range d.cols {
		if c.name == name {
			return c.ref, true
		}
	}
	if d.star != nil {
		ref, _ := resolveIn(d.star, name)
		return ref, ref.Table != ""
	}
	return ColumnRef{}, false
}

// renamed applies a column alias list (WITH x(a, b), AS s(a, b)).
func (d *derived) renamed(names []string) *derived {
	if d == nil || len(names) == 0 {
		return d
	}
	if !d.positional {
		return &derived{}
	}
	n := &derived{positional: true, cols: append([]output(nil), d.cols...)}
	for i, name := range names {
		if i < len(n.cols) {
			n.cols[i].name = name
		}
	}
	return n
}

// cteDef is a CTE name visible in a scope.
type cteDef struct {
	name string
	out  *derived
}

// scope is one query level.
type scope struct {
	parent *scope
	items  []*rte
	hidden []*rte // visible to qualified references only (ON CONFLICT's "excluded")
	ctes   map[string]*cteDef
}

func (s *scope) lookupCTE(name string) *cteDef {
	for ; s != nil; s = s.parent {
		if d, ok := s.ctes[name]; ok {
			return d
		}
	}
	return nil
}

// walker collects facts while it walks one statement.
type walker struct {
	f          *Facts
	ctes       []*CTE
	collectors []*CTE // CTEs whose body is being walked
	relSeen    map[Relation]bool
	funcSeen   map[string]bool
	params     map[int]bool
}

func (w *walker) finish() {
	for _, c := range w.ctes {
		w.f.CTEs = append(w.f.CTEs, *c)
	}
	w.f.Params = len(w.params)
}

// top walks the statement of a RawStmt.
func (w *walker) top(n *pg_query.Node) {
	root := &scope{}
	switch s := n.GetNode().(type) {
	case *pg_query.Node_SelectStmt:
		w.f.Kind = KindSelect
		w.selectStmt(s.SelectStmt, root, true)
	case *pg_query.Node_InsertStmt:
		w.f.Kind = KindInsert
		w.insertStmt(s.InsertStmt, root, true)
	case *pg_query.Node_UpdateStmt:
		w.f.Kind = KindUpdate
		w.updateStmt(s.UpdateStmt, root, true)
	case *pg_query.Node_DeleteStmt:
		w.f.Kind = KindDelete
		w.deleteStmt(s.DeleteStmt, root, true)
	case *pg_query.Node_MergeStmt:
		w.f.Kind = KindMerge
		w.mergeStmt(s.MergeStmt, root, true)
	default:
		w.f.Kind = KindUtility
		w.expr(n, root)
	}
}

// stmt walks a nested statement (subquery, CTE body) and returns its outputs.
func (w *walker) stmt(n *pg_query.Node, sc *scope) *derived {
	switch s := n.GetNode().(type) {
	case *pg_query.Node_SelectStmt:
		return w.selectStmt(s.SelectStmt, sc, false)
	case *pg_query.Node_InsertStmt:
		return w.insertStmt(s.InsertStmt, sc, false)
	case *pg_query.Node_UpdateStmt:
		return w.updateStmt(s.UpdateStmt, sc, false)
	case *pg_query.Node_DeleteStmt:
		return w.deleteStmt(s.DeleteStmt, sc, false)
	case *pg_query.Node_MergeStmt:
		return w.mergeStmt(s.MergeStmt, sc, false)
	}
	w.expr(n, sc)
	return nil
}

func stmtKind(n *pg_query.Node) Kind {
	switch n.GetNode().(type) {
	case *pg_query.Node_SelectStmt:
		return KindSelect
	case *pg_query.Node_InsertStmt:
		return KindInsert
	case *pg_query.Node_UpdateStmt:
		return KindUpdate
	case *pg_query.Node_DeleteStmt:
		return KindDelete
	case *pg_query.Node_MergeStmt:
		return KindMerge
	case nil:
		return KindOther
	}
	return KindUtility
}

// with registers and walks the CTEs of a WITH clause in scope sc.
func (w *walker) with(wc *pg_query.WithClause, sc *scope) {
	if wc == nil {
		return
	}
	if sc.ctes == nil {
		sc.ctes = make(map[string]*cteDef, len(wc.Ctes))
	}
	for _, n := range wc.Ctes {
		c := n.GetCommonTableExpr()
		if c == nil {
			continue
		}
		def := &cteDef{name: c.Ctename}
		if wc.Recursive {
			sc.ctes[c.Ctename] = def // a recursive CTE sees itself
		}
		fact := &CTE{Name: c.Ctename, Kind: stmtKind(c.Ctequery)}
		switch c.Ctematerialized {
		case pg_query.CTEMaterialize_CTEMaterializeAlways:
			fact.Materialized = "materialized"
		case pg_query.CTEMaterialize_CTEMaterializeNever:
			fact.Materialized = "not materialized"
		}
		switch fact.Kind {
		case KindInsert, KindUpdate, KindDelete, KindMerge:
			w.f.ModifyingCTE = true
		}
		w.ctes = append(w.ctes, fact)
		w.collectors = append(w.collectors, fact)
		out := w.stmt(c.Ctequery, sc)
		w.collectors = w.collectors[:len(w.collectors)-1]
		def.out = out.renamed(strs(c.Aliascolnames))
		sc.ctes[c.Ctename] = def
	}
}

func (w *walker) selectStmt(s *pg_query.SelectStmt, parent *scope, top bool) *derived {
	if s == nil {
		return nil
	}
	sc := &scope{parent: parent}
	w.with(s.WithClause, sc)

	if s.Op != pg_query.SetOperation_SETOP_NONE && s.Op != pg_query.SetOperation_SET_OPERATION_UNDEFINED {
		left := w.selectStmt(s.Larg, sc, false)
		w.selectStmt(s.Rarg, sc, false)
		if !s.All {
			w.f.Distinct = true
		}
		// ORDER BY and LIMIT of a set operation see the output columns of its
		// left branch.
		osc := &scope{parent: sc, items: []*rte{{kind: rteDerived, out: left}}}
		w.sortLimit(s, osc, top, left)
		w.locking(s)
		return left
	}

	for _, row := range s.ValuesLists {
		w.expr(row, sc)
	}
	for _, item := range s.FromClause {
		w.fromItem(item, sc)
	}
	out := w.outputs(s.TargetList, sc, true)
	if s.WhereClause != nil {
		w.quals(s.WhereClause, sc, "inner", false)
	}
	if len(s.GroupClause) > 0 {
		w.f.Aggregates = true
		for _, g := range s.GroupClause {
			w.expr(g, sc)
		}
		if top {
			for _, g := range s.GroupClause {
				w.groupKey(g, sc, out)
			}
		}
	}
	if top {
		for _, n := range s.TargetList {
			w.aggregateDistinct(n, sc)
		}
		w.aggregateDistinct(s.HavingClause, sc)
	}
	if s.HavingClause != nil {
		w.f.Aggregates = true
		w.expr(s.HavingClause, sc)
	}
	for _, win := range s.WindowClause {
		w.expr(win, sc)
	}
	if len(s.DistinctClause) > 0 {
		w.f.Distinct = true
		for _, d := range s.DistinctClause {
			w.expr(d, sc)
		}
	}
	if s.IntoClause != nil {
		w.f.SelectInto = true
	}
	w.sortLimit(s, sc, top, out)
	w.locking(s)
	return out
}

func (w *walker) locking(s *pg_query.SelectStmt) {
	if len(s.LockingClause) > 0 {
		w.f.Locking = true
	}
}

// sortLimit walks ORDER BY, LIMIT and OFFSET, recording them for the
// outermost SELECT.
func (w *walker) sortLimit(s *pg_query.SelectStmt, sc *scope, top bool, out *derived) {
	for _, n := range s.SortClause {
		w.expr(n, sc)
		if !top {
			continue
		}
		sb := n.GetSortBy()
		if sb == nil {
			continue
		}
		item := OrderItem{Desc: sb.SortbyDir == pg_query.SortByDir_SORTBY_DESC}
		switch sb.SortbyNulls {
		case pg_query.SortByNulls_SORTBY_NULLS_FIRST:
			t := true
			item.NullsFirst = &t
		case pg_query.SortByNulls_SORTBY_NULLS_LAST:
			f := false
			item.NullsFirst = &f
		}
		item.Column, item.Expression = w.keyColumn(sb.Node, sc, out)
		item.Aggregate = hasAggregate(keyNode(sb.Node, out))
		w.f.OrderBy = append(w.f.OrderBy, item)
	}
	if s.LimitCount != nil {
		w.expr(s.LimitCount, sc)
	}
	if s.LimitOffset != nil {
		w.expr(s.LimitOffset, sc)
	}
	if top {
		if s.LimitCount != nil {
			w.f.Limit = bound(s.LimitCount)
		}
		if s.LimitOffset != nil {
			w.f.Offset = bound(s.LimitOffset)
		}
	}
}

// keyColumn resolves an ORDER BY or GROUP BY key: an output column name, a
// position, a column, or an expression (then the first column inside it).
func (w *walker) keyColumn(n *pg_query.Node, sc *scope, out *derived) (ColumnRef, string) {
	if c := n.GetAConst(); c != nil && out != nil {
		if iv, ok := c.Val.(*pg_query.A_Const_Ival); ok {
			pos := int(iv.Ival.GetIval())
			if pos >= 1 && pos <= len(out.cols) && out.positional {
				return outputKey(out.cols[pos-1], sc)
			}
		}
	}
	if cr := n.GetColumnRef(); cr != nil {
		fields, star := columnFields(cr)
		if !star && len(fields) == 1 && out != nil {
			for _, o := range out.cols {
				if o.name == fields[0] {
					return outputKey(o, sc)
				}
			}
		}
		if !star {
			ref, _ := resolve(sc, fields)
			return ref, ""
		}
	}
	ref := firstColumn(n, sc)
	return ref, deparseExpr(n)
}

func outputKey(o output, sc *scope) (ColumnRef, string) {
	if o.expr == nil || o.expr.GetColumnRef() != nil {
		return o.ref, ""
	}
	return firstColumn(o.expr, sc), deparseExpr(o.expr)
}

func (w *walker) groupKey(n *pg_query.Node, sc *scope, out *derived) {
	if gs := n.GetGroupingSet(); gs != nil {
		for _, c := range gs.Content {
			w.groupKey(c, sc, out)
		}
		return
	}
	if l := n.GetList(); l != nil {
		for _, c := range l.Items {
			w.groupKey(c, sc, out)
		}
		return
	}
	ref, expr := w.keyColumn(n, sc, out)
	if expr == "" && ref.Column != "" {
		w.f.GroupBy = append(w.f.GroupBy, ref)
	} else {
		w.f.GroupByExpression = true
	}
}

// keyNode is the expression an ORDER BY or GROUP BY key stands for: the
// output column it names (by name or position), else the key itself.
func keyNode(n *pg_query.Node, out *derived) *pg_query.Node {
	if out == nil || n == nil {
		return n
	}
	if c := n.GetAConst(); c != nil {
		if iv, ok := c.Val.(*pg_query.A_Const_Ival); ok {
			if pos := int(iv.Ival.GetIval()); pos >= 1 && pos <= len(out.cols) && out.positional && out.cols[pos-1].expr != nil {
				return out.cols[pos-1].expr
			}
		}
	}
	if cr := n.GetColumnRef(); cr != nil {
		if fields, star := columnFields(cr); !star && len(fields) == 1 {
			for _, o := range out.cols {
				if o.name == fields[0] && o.expr != nil {
					return o.expr
				}
			}
		}
	}
	return n
}

// isAggregateCall reports whether fc calls an aggregate (not as a window).
func isAggregateCall(fc *pg_query.FuncCall) bool {
	return fc.Over == nil && (fc.AggStar || fc.AggDistinct || len(fc.AggOrder) > 0 || fc.AggFilter != nil ||
		fc.AggWithinGroup || aggregateNames[baseName(funcName(fc))])
}

// hasAggregate reports whether n is or holds an aggregate call outside a
// subquery.
func hasAggregate(n *pg_query.Node) bool {
	if n == nil {
		return false
	}
	switch x := n.GetNode().(type) {
	case *pg_query.Node_FuncCall:
		if isAggregateCall(x.FuncCall) {
			return true
		}
	case *pg_query.Node_SubLink:
		return false
	}
	found := false
	eachChild(n.ProtoReflect(), func(c *pg_query.Node) bool {
		found = hasAggregate(c)
		return !found
	})
	return found
}

// aggregateDistinct adds to AggregateDistinct the plain columns aggregated
// with DISTINCT inside n (not inside a subquery).
func (w *walker) aggregateDistinct(n *pg_query.Node, sc *scope) {
	if n == nil {
		return
	}
	switch x := n.GetNode().(type) {
	case *pg_query.Node_SubLink:
		return
	case *pg_query.Node_FuncCall:
		if fc := x.FuncCall; fc.AggDistinct && fc.Over == nil {
			for _, a := range fc.Args {
				cr := a.GetColumnRef()
				if cr == nil {
					continue
				}
				fields, star := columnFields(cr)
				if star {
					continue
				}
				ref, _ := resolve(sc, fields)
				if ref.Column != "" && !slices.Contains(w.f.AggregateDistinct, ref) {
					w.f.AggregateDistinct = append(w.f.AggregateDistinct, ref)
				}
			}
			return
		}
	}
	eachChild(n.ProtoReflect(), func(c *pg_query.Node) bool {
		w.aggregateDistinct(c, sc)
		return true
	})
}

// bound reads a LIMIT or OFFSET value.
func bound(n *pg_query.Node) *Bound {
	inner := stripCasts(n)
	if p := inner.GetParamRef(); p != nil {
		return &Bound{Param: int(p.Number)}
	}
	if c := inner.GetAConst(); c != nil {
		if c.Isnull {
			return &Bound{All: true}
		}
		v, err := strconv.ParseInt(constText(c), 10, 64)
		if err == nil {
			return &Bound{Value: v}
		}
	}
	return &Bound{Expression: deparseExpr(n)}
}

// fromItem walks one FROM item and adds what it names to sc.
func (w *walker) fromItem(n *pg_query.Node, sc *scope) []*rte {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_RangeVar:
		r := w.rangeVar(x.RangeVar, sc)
		sc.items = append(sc.items, r)
		return []*rte{r}
	case *pg_query.Node_RangeSubselect:
		w.f.Subqueries++
		out := w.stmt(x.RangeSubselect.Subquery, sc)
		r := &rte{kind: rteDerived, out: out}
		if a := x.RangeSubselect.Alias; a != nil {
			r.ref = a.Aliasname
			r.out = out.renamed(strs(a.Colnames))
		}
		sc.items = append(sc.items, r)
		return []*rte{r}
	case *pg_query.Node_RangeFunction:
		r := &rte{kind: rteFunc}
		for _, fn := range x.RangeFunction.Functions {
			w.expr(fn, sc)
			if r.ref == "" {
				r.ref = firstFuncName(fn)
			}
		}
		if a := x.RangeFunction.Alias; a != nil {
			r.ref = a.Aliasname
		}
		sc.items = append(sc.items, r)
		return []*rte{r}
	case *pg_query.Node_RangeTableSample:
		items := w.fromItem(x.RangeTableSample.Relation, sc)
		for _, a := range x.RangeTableSample.Args {
			w.expr(a, sc)
		}
		return items
	case *pg_query.Node_JoinExpr:
		j := x.JoinExpr
		left := w.fromItem(j.Larg, sc)
		right := w.fromItem(j.Rarg, sc)
		typ := joinType(j.Jointype)
		for _, u := range strs(j.UsingClause) {
			w.usingJoin(u, left, right, typ)
		}
		if j.Quals != nil {
			w.quals(j.Quals, sc, typ, false)
		}
		return append(left, right...)
	}
	w.expr(n, sc)
	return nil
}

// usingJoin records JOIN ... USING (col).
func (w *walker) usingJoin(col string, left, right []*rte, typ string) {
	l := ColumnRef{Column: col}
	if len(left) == 1 {
		l, _ = resolveIn(left[0], col)
	}
	r := ColumnRef{Column: col}
	if len(right) == 1 {
		r, _ = resolveIn(right[0], col)
	}
	p := Predicate{Column: l, Operator: "=", Join: true}
	if l.Table == "" {
		p.Column = r
	}
	w.f.Predicates = append(w.f.Predicates, p)
	w.f.Joins = append(w.f.Joins, Join{Type: typ, Left: l, Right: r})
}

func joinType(t pg_query.JoinType) string {
	switch t {
	case pg_query.JoinType_JOIN_LEFT:
		return "left"
	case pg_query.JoinType_JOIN_RIGHT:
		return "right"
	case pg_query.JoinType_JOIN_FULL:
		return "full"
	}
	return "inner"
}

// rangeVar turns a relation reference into a FROM item: a CTE reference or a
// base relation (recorded in Relations).
func (w *walker) rangeVar(rv *pg_query.RangeVar, sc *scope) *rte {
	alias := ""
	if rv.Alias != nil {
		alias = rv.Alias.Aliasname
	}
	if rv.Schemaname == "" {
		if def := sc.lookupCTE(rv.Relname); def != nil {
			r := &rte{kind: rteDerived, ref: rv.Relname, out: def.out}
			if alias != "" {
				r.ref = alias
				r.out = def.out.renamed(strs(rv.Alias.Colnames))
			}
			return r
		}
	}
	rel := Relation{Schema: rv.Schemaname, Name: rv.Relname, Alias: alias}
	w.addRelation(rel)
	r := &rte{kind: rteBase, ref: rv.Relname, rel: rel}
	if alias != "" {
		r.ref = alias
	}
	return r
}

func (w *walker) addRelation(rel Relation) {
	key := Relation{Schema: rel.Schema, Name: rel.Name}
	if w.relSeen == nil {
		w.relSeen = make(map[Relation]bool)
	}
	if !w.relSeen[key] {
		w.relSeen[key] = true
		w.f.Relations = append(w.f.Relations, rel)
	}
	for _, c := range w.collectors {
		seen := false
		for _, r := range c.Relations {
			if r.Schema == rel.Schema && r.Name == rel.Name {
				seen = true
				break
			}
		}
		if !seen {
			c.Relations = append(c.Relations, rel)
		}
	}
}

// target adds the written relation of a DML statement to its scope.
func (w *walker) target(rv *pg_query.RangeVar, sc *scope, top bool) *rte {
	if rv == nil {
		return nil
	}
	r := w.rangeVar(rv, sc)
	sc.items = append(sc.items, r)
	if top && r.kind == rteBase {
		t := r.rel
		w.f.Target = &t
	}
	return r
}

func (w *walker) insertStmt(s *pg_query.InsertStmt, parent *scope, top bool) *derived {
	sc := &scope{parent: parent}
	w.with(s.WithClause, sc)
	// The SELECT or VALUES of an INSERT does not see the target table.
	tsc := &scope{parent: sc}
	t := w.target(s.Relation, tsc, top)
	var cols []ColumnRef
	for _, c := range s.Cols {
		if rt := c.GetResTarget(); rt != nil {
			cols = append(cols, targetColumn(t, rt.Name))
		}
	}
	if s.SelectStmt == nil {
		if top {
			w.f.InsertRows = 1 // DEFAULT VALUES
		}
	} else if sel := s.SelectStmt.GetSelectStmt(); sel != nil && len(sel.ValuesLists) > 0 && sel.Op == pg_query.SetOperation_SETOP_NONE {
		if top {
			w.f.InsertRows = len(sel.ValuesLists)
		}
		for _, row := range sel.ValuesLists {
			items := row.GetList().GetItems()
			for i, v := range items {
				if i < len(cols) {
					w.paramColumn(v, cols[i])
				}
				w.expr(v, sc)
			}
		}
	} else {
		if sel != nil && sel.Op == pg_query.SetOperation_SETOP_NONE {
			for i, t := range sel.TargetList {
				if rt := t.GetResTarget(); rt != nil && i < len(cols) {
					w.paramColumn(rt.Val, cols[i])
				}
			}
		}
		w.stmt(s.SelectStmt, sc)
	}
	if oc := s.OnConflictClause; oc != nil {
		if oc.Infer != nil {
			w.expr(&pg_query.Node{Node: &pg_query.Node_InferClause{InferClause: oc.Infer}}, tsc)
		}
		if t != nil && t.kind == rteBase {
			tsc.hidden = append(tsc.hidden, &rte{kind: rteBase, ref: "excluded", rel: t.rel})
		}
		w.setList(oc.TargetList, t, tsc)
		if oc.WhereClause != nil {
			w.quals(oc.WhereClause, tsc, "inner", false)
		}
	}
	return w.returning(s.ReturningList, tsc)
}

func (w *walker) updateStmt(s *pg_query.UpdateStmt, parent *scope, top bool) *derived {
	sc := &scope{parent: parent}
	w.with(s.WithClause, sc)
	t := w.target(s.Relation, sc, top)
	for _, item := range s.FromClause {
		w.fromItem(item, sc)
	}
	w.setList(s.TargetList, t, sc)
	if s.WhereClause != nil {
		w.quals(s.WhereClause, sc, "inner", false)
	}
	return w.returning(s.ReturningList, sc)
}

func (w *walker) deleteStmt(s *pg_query.DeleteStmt, parent *scope, top bool) *derived {
	sc := &scope{parent: parent}
	w.with(s.WithClause, sc)
	w.target(s.Relation, sc, top)
	for _, item := range s.UsingClause {
		w.fromItem(item, sc)
	}
	if s.WhereClause != nil {
		w.quals(s.WhereClause, sc, "inner", false)
	}
	return w.returning(s.ReturningList, sc)
}

func (w *walker) mergeStmt(s *pg_query.MergeStmt, parent *scope, top bool) *derived {
	sc := &scope{parent: parent}
	w.with(s.WithClause, sc)
	t := w.target(s.Relation, sc, top)
	if s.SourceRelation != nil {
		w.fromItem(s.SourceRelation, sc)
	}
	if s.JoinCondition != nil {
		w.quals(s.JoinCondition, sc, "inner", false)
	}
	for _, n := range s.MergeWhenClauses {
		mw := n.GetMergeWhenClause()
		if mw == nil {
			continue
		}
		if mw.Condition != nil {
			w.expr(mw.Condition, sc)
		}
		if mw.CommandType == pg_query.CmdType_CMD_INSERT {
			for i, v := range mw.Values {
				if i < len(mw.TargetList) {
					if rt := mw.TargetList[i].GetResTarget(); rt != nil {
						w.paramColumn(v, targetColumn(t, rt.Name))
					}
				}
				w.expr(v, sc)
			}
		} else {
			w.setList(mw.TargetList, t, sc)
		}
	}
	return nil
}

// setList walks UPDATE-style SET assignments, mapping "col = $n".
func (w *walker) setList(list []*pg_query.Node, t *rte, sc *scope) {
	for _, n := range list {
		rt := n.GetResTarget()
		if rt == nil {
			w.expr(n, sc)
			continue
		}
		col := targetColumn(t, rt.Name)
		if ma := rt.Val.GetMultiAssignRef(); ma != nil {
			if row := ma.Source.GetRowExpr(); row != nil && int(ma.Colno) <= len(row.Args) && ma.Colno >= 1 {
				w.paramColumn(row.Args[ma.Colno-1], col)
			}
			if ma.Colno == 1 {
				w.expr(ma.Source, sc)
			}
			continue
		}
		w.paramColumn(rt.Val, col)
		w.expr(rt.Val, sc)
	}
}

func (w *walker) returning(list []*pg_query.Node, sc *scope) *derived {
	if len(list) == 0 {
		return nil
	}
	return w.outputs(list, sc, false)
}

func targetColumn(t *rte, name string) ColumnRef {
	if t == nil {
		return ColumnRef{Column: name}
	}
	ref, _ := resolveIn(t, name)
	return ref
}

// paramColumn maps $n to col when v is $n (possibly cast).
func (w *walker) paramColumn(v *pg_query.Node, col ColumnRef) {
	p := stripCasts(v).GetParamRef()
	if p == nil || col.Column == "" {
		return
	}
	if w.f.ParamColumns == nil {
		w.f.ParamColumns = make(map[int]ColumnRef)
	}
	if _, ok := w.f.ParamColumns[int(p.Number)]; !ok {
		w.f.ParamColumns[int(p.Number)] = col
	}
}

// quals walks a WHERE or ON condition, recording each conjunct as a predicate.
func (w *walker) quals(n *pg_query.Node, sc *scope, joinTyp string, inOr bool) {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_BoolExpr:
		switch x.BoolExpr.Boolop {
		case pg_query.BoolExprType_AND_EXPR:
			for _, a := range x.BoolExpr.Args {
				w.quals(a, sc, joinTyp, inOr)
			}
			return
		case pg_query.BoolExprType_OR_EXPR:
			for _, a := range x.BoolExpr.Args {
				w.quals(a, sc, joinTyp, true)
			}
			return
		case pg_query.BoolExprType_NOT_EXPR:
			if len(x.BoolExpr.Args) == 1 {
				if cr := x.BoolExpr.Args[0].GetColumnRef(); cr != nil {
					if fields, star := columnFields(cr); !star {
						ref, _ := resolve(sc, fields)
						w.f.Predicates = append(w.f.Predicates, Predicate{Column: ref, Operator: "=", Const: "false", HasConst: true, InOr: inOr})
					}
				}
			}
		}
	case *pg_query.Node_AExpr:
		w.aexprPredicate(x.AExpr, sc, joinTyp, inOr)
	case *pg_query.Node_NullTest:
		if op := operandOf(x.NullTest.Arg, sc); op.isColumn() {
			p := op.predicate("IS NULL", inOr)
			if x.NullTest.Nulltesttype == pg_query.NullTestType_IS_NOT_NULL {
				p.Operator = "IS NOT NULL"
			}
			w.f.Predicates = append(w.f.Predicates, p)
		}
	case *pg_query.Node_SubLink:
		sl := x.SubLink
		if sl.SubLinkType == pg_query.SubLinkType_ANY_SUBLINK {
			if op := operandOf(sl.Testexpr, sc); op.isColumn() {
				name := "IN"
				if on := strs(sl.OperName); len(on) > 0 && on[len(on)-1] != "=" {
					name = on[len(on)-1] + " ANY"
				}
				w.f.Predicates = append(w.f.Predicates, op.predicate(name, inOr))
			}
		}
	case *pg_query.Node_ColumnRef:
		if fields, star := columnFields(x.ColumnRef); !star {
			ref, _ := resolve(sc, fields)
			w.f.Predicates = append(w.f.Predicates, Predicate{Column: ref, Operator: "=", Const: "true", HasConst: true, InOr: inOr})
		}
	}
	w.expr(n, sc)
}

var flipped = map[string]string{"<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "=", "<>": "<>"}

func normalizeOp(op string) string {
	switch op {
	case "~~":
		return "LIKE"
	case "~~*":
		return "ILIKE"
	case "!~~":
		return "NOT LIKE"
	case "!~~*":
		return "NOT ILIKE"
	case "!=":
		return "<>"
	}
	return op
}

func (w *walker) aexprPredicate(e *pg_query.A_Expr, sc *scope, joinTyp string, inOr bool) {
	names := strs(e.Name)
	opName := ""
	if len(names) > 0 {
		opName = names[len(names)-1]
	}
	if e.Kind == pg_query.A_Expr_Kind_AEXPR_OP {
		// (a, b) = ($1, $2) compares element-wise; for (a, b) > ($1, $2)
		// (keyset pagination) only the first element bounds the scan alone.
		if lr, rr := e.Lexpr.GetRowExpr(), e.Rexpr.GetRowExpr(); lr != nil && rr != nil && len(lr.Args) == len(rr.Args) {
			for i := range lr.Args {
				sub := &pg_query.A_Expr{Kind: e.Kind, Name: e.Name, Lexpr: lr.Args[i], Rexpr: rr.Args[i]}
				w.aexprPredicate(sub, sc, joinTyp, inOr || (i > 0 && opName != "="))
			}
			return
		}
	}
	left := operandOf(e.Lexpr, sc)
	switch e.Kind {
	case pg_query.A_Expr_Kind_AEXPR_OP, pg_query.A_Expr_Kind_AEXPR_LIKE, pg_query.A_Expr_Kind_AEXPR_ILIKE,
		pg_query.A_Expr_Kind_AEXPR_DISTINCT, pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT:
		if e.Lexpr == nil {
			return // prefix operator
		}
		op := normalizeOp(opName)
		switch e.Kind {
		case pg_query.A_Expr_Kind_AEXPR_DISTINCT:
			op = "IS DISTINCT FROM"
		case pg_query.A_Expr_Kind_AEXPR_NOT_DISTINCT:
			op = "IS NOT DISTINCT FROM"
		}
		right := operandOf(e.Rexpr, sc)
		col, other := left, right
		if !left.isColumn() || (left.wrapped() && right.isColumn() && !right.wrapped()) {
			f, ok := flipped[op]
			if !ok && op != "IS DISTINCT FROM" && op != "IS NOT DISTINCT FROM" {
				return
			}
			if ok {
				op = f
			}
			col, other = right, left
		}
		if !col.isColumn() {
			return
		}
		p := col.predicate(op, inOr)
		switch other.kind {
		case opParam:
			p.Param = other.param
			w.mapParam(col, other.param)
		case opConst:
			p.Const, p.HasConst = other.constText, true
		case opNowMinus:
			p.NowMinusParam = other.param
		case opColumn:
			if col.owner != nil && other.owner != nil && col.owner != other.owner {
				p.Join = true
				if op == "=" && !inOr {
					w.f.Joins = append(w.f.Joins, Join{Type: joinTyp, Left: col.ref, Right: other.ref})
				}
			}
		}
		w.f.Predicates = append(w.f.Predicates, p)
	case pg_query.A_Expr_Kind_AEXPR_OP_ANY, pg_query.A_Expr_Kind_AEXPR_OP_ALL:
		if !left.isColumn() {
			return
		}
		suffix := " ANY"
		if e.Kind == pg_query.A_Expr_Kind_AEXPR_OP_ALL {
			suffix = " ALL"
		}
		p := left.predicate(normalizeOp(opName)+suffix, inOr)
		rhs := stripCasts(e.Rexpr)
		if arr := rhs.GetAArrayExpr(); arr != nil {
			w.listOperands(&p, left, arr.Elements, sc, ", ")
		} else {
			switch right := operandOf(e.Rexpr, sc); right.kind {
			case opParam:
				p.Param = right.param
				w.mapParam(left, right.param)
			case opConst:
				p.Const, p.HasConst = right.constText, true
			}
		}
		w.f.Predicates = append(w.f.Predicates, p)
	case pg_query.A_Expr_Kind_AEXPR_IN:
		if !left.isColumn() {
			return
		}
		op := "IN"
		if opName == "<>" {
			op = "NOT IN"
		}
		p := left.predicate(op, inOr)
		w.listOperands(&p, left, e.Rexpr.GetList().GetItems(), sc, ", ")
		w.f.Predicates = append(w.f.Predicates, p)
	case pg_query.A_Expr_Kind_AEXPR_BETWEEN, pg_query.A_Expr_Kind_AEXPR_BETWEEN_SYM,
		pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN, pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM:
		if !left.isColumn() {
			return
		}
		op := "BETWEEN"
		if e.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN || e.Kind == pg_query.A_Expr_Kind_AEXPR_NOT_BETWEEN_SYM {
			op = "NOT BETWEEN"
		}
		p := left.predicate(op, inOr)
		w.listOperands(&p, left, e.Rexpr.GetList().GetItems(), sc, " AND ")
		w.f.Predicates = append(w.f.Predicates, p)
	}
}

// listOperands fills Param/Const of p from an IN list, ARRAY[...] or BETWEEN
// bounds: Param is the first $n, Const the constants joined by sep when all
// items are constants.
func (w *walker) listOperands(p *Predicate, col operand, items []*pg_query.Node, sc *scope, sep string) {
	var consts []string
	allConst := len(items) > 0
	for _, it := range items {
		o := operandOf(it, sc)
		switch o.kind {
		case opParam:
			if p.Param == 0 {
				p.Param = o.param
			}
			w.mapParam(col, o.param)
			allConst = false
		case opConst:
			consts = append(consts, o.constText)
		default:
			allConst = false
		}
	}
	if allConst {
		p.Const, p.HasConst = strings.Join(consts, sep), true
	}
}

// mapParam records that $n is compared with the column of col, when the
// column is bare or only cast (a value of the column fits $n).
func (w *walker) mapParam(col operand, n int) {
	if col.function != "" || (col.expression != "" && col.cast == "") || col.ref.Column == "" {
		return
	}
	if w.f.ParamColumns == nil {
		w.f.ParamColumns = make(map[int]ColumnRef)
	}
	if _, ok := w.f.ParamColumns[n]; !ok {
		w.f.ParamColumns[n] = col.ref
	}
}

type operandKind int

const (
	opExpr operandKind = iota
	opColumn
	opParam
	opConst
	opNowMinus // now() - $n (or CURRENT_TIMESTAMP, LOCALTIMESTAMP, … - $n)
)

// operand is one side of a comparison.
type operand struct {
	kind       operandKind
	ref        ColumnRef // opColumn
	owner      *rte      // the FROM item the column belongs to, when known
	function   string    // outermost function wrapping the column
	cast       string    // outermost cast wrapping the column
	expression string    // deparsed side, when the column is wrapped
	param      int
	constText  string
}

func (o operand) isColumn() bool { return o.kind == opColumn }
func (o operand) wrapped() bool  { return o.expression != "" }

func (o operand) predicate(op string, inOr bool) Predicate {
	return Predicate{Column: o.ref, Operator: op, Function: o.function, Cast: o.cast, Expression: o.expression, InOr: inOr}
}

func operandOf(n *pg_query.Node, sc *scope) operand {
	if n == nil {
		return operand{}
	}
	inner := stripCasts(n)
	switch x := inner.GetNode().(type) {
	case *pg_query.Node_ParamRef:
		return operand{kind: opParam, param: int(x.ParamRef.Number)}
	case *pg_query.Node_AConst:
		return operand{kind: opConst, constText: constText(x.AConst)}
	case *pg_query.Node_RowExpr:
		return operand{}
	case *pg_query.Node_AExpr:
		if p := nowMinusParam(x.AExpr); p > 0 {
			return operand{kind: opNowMinus, param: p}
		}
	}
	if cr := n.GetColumnRef(); cr != nil {
		fields, star := columnFields(cr)
		if star {
			return operand{}
		}
		ref, owner := resolve(sc, fields)
		return operand{kind: opColumn, ref: ref, owner: owner}
	}
	cr := findColumnRef(n)
	if cr == nil {
		return operand{}
	}
	fields, _ := columnFields(cr)
	ref, owner := resolve(sc, fields)
	o := operand{kind: opColumn, ref: ref, owner: owner, expression: deparseExpr(n)}
	// Name the wrappers on the path from the side's root to the column.
	for cur := n; cur != nil; {
		switch x := cur.GetNode().(type) {
		case *pg_query.Node_TypeCast:
			if o.cast == "" {
				o.cast = typeName(x.TypeCast.TypeName)
			}
			cur = x.TypeCast.Arg
			continue
		case *pg_query.Node_FuncCall:
			if o.function == "" {
				o.function = funcName(x.FuncCall)
			}
			var next *pg_query.Node
			for _, a := range x.FuncCall.Args {
				if findColumnRef(a) != nil {
					next = a
					break
				}
			}
			cur = next
			continue
		case *pg_query.Node_CollateClause:
			cur = x.CollateClause.Arg
			continue
		}
		break
	}
	return o
}

// nowMinusParam returns n when e is the current time minus $n (possibly
// cast, e.g. now() - $1::interval), else 0.
func nowMinusParam(e *pg_query.A_Expr) int {
	if e.Kind != pg_query.A_Expr_Kind_AEXPR_OP || e.Lexpr == nil || e.Rexpr == nil {
		return 0
	}
	names := strs(e.Name)
	if len(names) == 0 || names[len(names)-1] != "-" {
		return 0
	}
	p := stripCasts(e.Rexpr).GetParamRef()
	if p == nil {
		return 0
	}
	now := false
	switch l := stripCasts(e.Lexpr); {
	case l.GetFuncCall() != nil:
		switch strings.TrimPrefix(funcName(l.GetFuncCall()), "pg_catalog.") {
		case "now", "statement_timestamp", "transaction_timestamp", "clock_timestamp":
			now = len(l.GetFuncCall().Args) == 0
		}
	case l.GetSqlvalueFunction() != nil:
		switch l.GetSqlvalueFunction().Op {
		case pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP, pg_query.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N,
			pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP, pg_query.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:
			now = true
		}
	}
	if !now {
		return 0
	}
	return int(p.Number)
}

// findColumnRef returns the first column reference in n, outside subqueries.
func findColumnRef(n *pg_query.Node) *pg_query.ColumnRef {
	if n == nil {
		return nil
	}
	switch x := n.GetNode().(type) {
	case *pg_query.Node_ColumnRef:
		if _, star := columnFields(x.ColumnRef); star {
			return nil
		}
		return x.ColumnRef
	case *pg_query.Node_SubLink:
		return nil
	case *pg_query.Node_TypeCast:
		return findColumnRef(x.TypeCast.Arg)
	case *pg_query.Node_FuncCall:
		for _, a := range x.FuncCall.Args {
			if c := findColumnRef(a); c != nil {
				return c
			}
		}
		return nil
	case *pg_query.Node_AExpr:
		if c := findColumnRef(x.AExpr.Lexpr); c != nil {
			return c
		}
		return findColumnRef(x.AExpr.Rexpr)
	case *pg_query.Node_ParamRef, *pg_query.Node_AConst:
		return nil
	}
	var found *pg_query.ColumnRef
	eachChild(n.ProtoReflect(), func(c *pg_query.Node) bool {
		found = findColumnRef(c)
		return found == nil
	})
	return found
}

// firstColumn resolves the first column inside an expression (empty when none).
func firstColumn(n *pg_query.Node, sc *scope) ColumnRef {
	cr := findColumnRef(n)
	if cr == nil {
		return ColumnRef{}
	}
	fields, _ := columnFields(cr)
	ref, _ := resolve(sc, fields)
	return ref
}

// eachChild calls fn for every *pg_query.Node directly or indirectly held by
// m without passing through another Node; fn returns false to stop.
func eachChild(m protoreflect.Message, fn func(*pg_query.Node) bool) bool {
	cont := true
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil {
			return true
		}
		visit := func(pm protoreflect.Message) bool {
			if n, ok := pm.Interface().(*pg_query.Node); ok {
				return fn(n)
			}
			return eachChild(pm, fn)
		}
		if fd.IsList() {
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				if !visit(l.Get(i).Message()) {
					cont = false
					return false
				}
			}
			return true
		}
		if fd.IsMap() {
			return true
		}
		if !visit(v.Message()) {
			cont = false
			return false
		}
		return true
	})
	return cont
}

// expr walks any node for parameters, functions, aggregates, subqueries and
// relations, without recording predicates.
func (w *walker) expr(n *pg_query.Node, sc *scope) {
	if n == nil {
		return
	}
	switch x := n.GetNode().(type) {
	case nil:
		return
	case *pg_query.Node_ColumnRef, *pg_query.Node_AConst, *pg_query.Node_String_,
		*pg_query.Node_Integer, *pg_query.Node_Float, *pg_query.Node_Boolean, *pg_query.Node_AStar,
		*pg_query.Node_TypeName, *pg_query.Node_SqlvalueFunction:
		return
	case *pg_query.Node_ParamRef:
		if w.params == nil {
			w.params = make(map[int]bool)
		}
		w.params[int(x.ParamRef.Number)] = true
	case *pg_query.Node_AExpr:
		w.expr(x.AExpr.Lexpr, sc)
		w.expr(x.AExpr.Rexpr, sc)
	case *pg_query.Node_BoolExpr:
		for _, a := range x.BoolExpr.Args {
			w.expr(a, sc)
		}
	case *pg_query.Node_TypeCast:
		w.expr(x.TypeCast.Arg, sc)
	case *pg_query.Node_FuncCall:
		w.funcCall(x.FuncCall, sc)
	case *pg_query.Node_SubLink:
		w.f.Subqueries++
		w.expr(x.SubLink.Testexpr, sc)
		w.stmt(x.SubLink.Subselect, sc)
	case *pg_query.Node_List:
		for _, it := range x.List.Items {
			w.expr(it, sc)
		}
	case *pg_query.Node_ResTarget:
		w.expr(x.ResTarget.Val, sc)
	case *pg_query.Node_SortBy:
		w.expr(x.SortBy.Node, sc)
	case *pg_query.Node_NullTest:
		w.expr(x.NullTest.Arg, sc)
	case *pg_query.Node_RangeVar:
		w.rangeVar(x.RangeVar, sc)
	case *pg_query.Node_SelectStmt, *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt,
		*pg_query.Node_DeleteStmt, *pg_query.Node_MergeStmt:
		w.stmt(n, sc)
	default:
		w.generic(n.ProtoReflect(), sc)
	}
}

// generic walks the fields of a node type that expr has no case for.
func (w *walker) generic(m protoreflect.Message, sc *scope) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil || fd.IsMap() {
			return true
		}
		visit := func(pm protoreflect.Message) {
			switch x := pm.Interface().(type) {
			case *pg_query.Node:
				w.expr(x, sc)
			case *pg_query.RangeVar:
				w.rangeVar(x, sc)
			case *pg_query.SelectStmt:
				w.selectStmt(x, sc, false)
			default:
				w.generic(pm, sc)
			}
		}
		if fd.IsList() {
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				visit(l.Get(i).Message())
			}
			return true
		}
		visit(v.Message())
		return true
	})
}

func (w *walker) funcCall(fc *pg_query.FuncCall, sc *scope) {
	name := funcName(fc)
	if w.funcSeen == nil {
		w.funcSeen = make(map[string]bool)
	}
	if !w.funcSeen[name] {
		w.funcSeen[name] = true
		w.f.Functions = append(w.f.Functions, name)
	}
	if isAggregateCall(fc) {
		w.f.Aggregates = true
	}
	for _, a := range fc.Args {
		w.expr(a, sc)
	}
	for _, o := range fc.AggOrder {
		w.expr(o, sc)
	}
	w.expr(fc.AggFilter, sc)
	if fc.Over != nil {
		w.expr(&pg_query.Node{Node: &pg_query.Node_WindowDef{WindowDef: fc.Over}}, sc)
	}
}

// aggregateNames are PostgreSQL's built-in aggregate functions.
var aggregateNames = map[string]bool{
	"count": true, "sum": true, "avg": true, "min": true, "max": true,
	"array_agg": true, "string_agg": true, "json_agg": true, "jsonb_agg": true,
	"json_object_agg": true, "jsonb_object_agg": true, "xmlagg": true,
	"bool_and": true, "bool_or": true, "every": true, "bit_and": true, "bit_or": true, "bit_xor": true,
	"stddev": true, "stddev_pop": true, "stddev_samp": true,
	"variance": true, "var_pop": true, "var_samp": true,
	"corr": true, "covar_pop": true, "covar_samp": true,
	"regr_avgx": true, "regr_avgy": true, "regr_count": true, "regr_intercept": true,
	"regr_r2": true, "regr_slope": true, "regr_sxx": true, "regr_sxy": true, "regr_syy": true,
	"percentile_cont": true, "percentile_disc": true, "mode": true,
	"range_agg": true, "range_intersect_agg": true, "any_value": true,
}

func baseName(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// funcName is the lower-cased, schema-qualified-when-written name of a call.
// The parser qualifies SQL-syntax functions (EXTRACT, SUBSTRING ... FROM)
// with pg_catalog; that qualification was not written and is dropped.
func funcName(fc *pg_query.FuncCall) string {
	names := strs(fc.Funcname)
	if len(names) == 2 && names[0] == "pg_catalog" && fc.Funcformat == pg_query.CoercionForm_COERCE_SQL_SYNTAX {
		names = names[1:]
	}
	return strings.ToLower(strings.Join(names, "."))
}

func firstFuncName(n *pg_query.Node) string {
	var name string
	var find func(*pg_query.Node) bool
	find = func(c *pg_query.Node) bool {
		if fc := c.GetFuncCall(); fc != nil {
			name = baseName(funcName(fc))
			return false
		}
		return eachChild(c.ProtoReflect(), find)
	}
	find(n)
	return name
}

// figureColname approximates PostgreSQL's name for an unnamed output column.
func figureColname(n *pg_query.Node) string {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_FuncCall:
		return baseName(funcName(x.FuncCall))
	case *pg_query.Node_TypeCast:
		if name := figureColname(x.TypeCast.Arg); name != "?column?" {
			return name
		}
		return baseName(typeName(x.TypeCast.TypeName))
	case *pg_query.Node_ColumnRef:
		if fields, star := columnFields(x.ColumnRef); !star && len(fields) > 0 {
			return fields[len(fields)-1]
		}
	}
	return "?column?"
}

// resolve resolves a column reference's name parts in scope sc and returns the
// column with the FROM item it belongs to (nil when unknown).
func resolve(sc *scope, fields []string) (ColumnRef, *rte) {
	if len(fields) == 0 {
		return ColumnRef{}, nil
	}
	col := fields[len(fields)-1]
	if len(fields) == 1 {
		for s := sc; s != nil; s = s.parent {
			switch len(s.items) {
			case 0:
				continue
			case 1:
				return resolveIn(s.items[0], col)
			}
			return ColumnRef{Column: col}, nil
		}
		return ColumnRef{Column: col}, nil
	}
	qual := fields[len(fields)-2]
	schema := ""
	if len(fields) >= 3 {
		schema = fields[len(fields)-3]
	}
	for s := sc; s != nil; s = s.parent {
		for _, list := range [][]*rte{s.items, s.hidden} {
			for _, it := range list {
				if it.ref != qual {
					continue
				}
				if schema != "" && (it.kind != rteBase || it.rel.Schema != schema) {
					continue
				}
				return resolveIn(it, col)
			}
		}
	}
	return ColumnRef{Schema: schema, Table: qual, Column: col}, nil
}

// resolveIn resolves column col of FROM item it.
func resolveIn(it *rte, col string) (ColumnRef, *rte) {
	switch it.kind {
	case rteBase:
		return ColumnRef{Schema: it.rel.Schema, Table: it.rel.Name, Column: col}, it
	case rteDerived:
		if ref, ok := it.out.lookup(col); ok && ref.Table != "" {
			return ref, it
		}
	}
	return ColumnRef{Column: col}, it
}

// starItem returns the FROM item a "*" or "t.*" expands, when it is one item.
func starItem(sc *scope, fields []string) *rte {
	if len(fields) == 0 {
		if len(sc.items) == 1 {
			return sc.items[0]
		}
		return nil
	}
	qual := fields[len(fields)-1]
	for _, it := range sc.items {
		if it.ref == qual {
			return it
		}
	}
	return nil
}

// columnFields returns the name parts of a column reference and whether it
// ends in *.
func columnFields(cr *pg_query.ColumnRef) ([]string, bool) {
	fields := make([]string, 0, len(cr.Fields))
	for _, f := range cr.Fields {
		switch x := f.GetNode().(type) {
		case *pg_query.Node_String_:
			fields = append(fields, x.String_.Sval)
		case *pg_query.Node_AStar:
			return fields, true
		}
	}
	return fields, false
}

// strs returns the String values of a name list.
func strs(nodes []*pg_query.Node) []string {
	if len(nodes) == 0 {
		return nil
	}
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		if s := n.GetString_(); s != nil {
			out = append(out, s.Sval)
		}
	}
	return out
}

// stripCasts removes type casts around n.
func stripCasts(n *pg_query.Node) *pg_query.Node {
	for {
		tc := n.GetTypeCast()
		if tc == nil {
			return n
		}
		n = tc.Arg
	}
}

// constText is the text of a constant (strings without quotes).
func constText(c *pg_query.A_Const) string {
	if c.Isnull {
		return "NULL"
	}
	switch v := c.Val.(type) {
	case *pg_query.A_Const_Ival:
		return strconv.FormatInt(int64(v.Ival.GetIval()), 10)
	case *pg_query.A_Const_Fval:
		return v.Fval.GetFval()
	case *pg_query.A_Const_Boolval:
		return strconv.FormatBool(v.Boolval.GetBoolval())
	case *pg_query.A_Const_Sval:
		return v.Sval.GetSval()
	case *pg_query.A_Const_Bsval:
		return v.Bsval.GetBsval()
	}
	return ""
}

// typeName is a type's name as the parser spells it, without pg_catalog
// (int4, timestamptz, text), with [] for arrays.
func typeName(t *pg_query.TypeName) string {
	if t == nil {
		return ""
	}
	names := strs(t.Names)
	if len(names) > 1 && names[0] == "pg_catalog" {
		names = names[1:]
	}
	return strings.Join(names, ".") + strings.Repeat("[]", len(t.ArrayBounds))
}

// deparseExpr returns the SQL text of an expression, quoted where needed,
// with column references unqualified (outside subqueries) so that the text
// can serve as an index expression.
func deparseExpr(n *pg_query.Node) string {
	n = proto.Clone(n).(*pg_query.Node)
	unqualify(n)
	tree := &pg_query.ParseResult{Stmts: []*pg_query.RawStmt{{Stmt: &pg_query.Node{Node: &pg_query.Node_SelectStmt{
		SelectStmt: &pg_query.SelectStmt{
			TargetList:  []*pg_query.Node{{Node: &pg_query.Node_ResTarget{ResTarget: &pg_query.ResTarget{Val: n}}}},
			Op:          pg_query.SetOperation_SETOP_NONE,
			LimitOption: pg_query.LimitOption_LIMIT_OPTION_DEFAULT,
		},
	}}}}}
	s, err := pg_query.Deparse(tree)
	if err != nil {
		return "?"
	}
	return strings.TrimPrefix(s, "SELECT ")
}

// unqualify drops table and schema qualifiers from the column references in
// n, outside subqueries.
func unqualify(n *pg_query.Node) {
	switch x := n.GetNode().(type) {
	case *pg_query.Node_ColumnRef:
		f := x.ColumnRef.Fields
		if len(f) > 1 && f[len(f)-1].GetString_() != nil {
			x.ColumnRef.Fields = f[len(f)-1:]
		}
		return
	case *pg_query.Node_SubLink:
		return
	}
	eachChild(n.ProtoReflect(), func(c *pg_query.Node) bool {
		unqualify(c)
		return true
	})
}

// outputs builds the output columns of a SELECT target list (selectList:
// a `*` sets SelectStar and bare expressions are walked) or of a RETURNING list.
func (w *walker) outputs(list []*pg_query.Node, sc *scope, selectList bool) *derived {
	out := &derived{positional: true}
	for _, n := range list {
		rt := n.GetResTarget()
		if rt == nil {
			if selectList {
				w.expr(n, sc)
			}
			continue
		}
		if cr := rt.Val.GetColumnRef(); cr != nil {
			fields, star := columnFields(cr)
			if star {
				if selectList {
					w.f.SelectStar = true
				}
				out.positional = false
				if out.star == nil {
					out.star = starItem(sc, fields)
				}
				continue
			}
			ref, _ := resolve(sc, fields)
			name := rt.Name
			if name == "" && len(fields) > 0 {
				name = fields[len(fields)-1]
			}
			out.cols = append(out.cols, output{name: name, ref: ref, expr: rt.Val})
			continue
		}
		w.expr(rt.Val, sc)
		name := rt.Name
		if name == "" {
			name = figureColname(rt.Val)
		}
		out.cols = append(out.cols, output{name: name, expr: rt.Val})
	}
	return out
}
