package whatif

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// Analyze parses SQL into facts; Candidates uses it for view definitions
// (nil: views are not resolved). A variable so that tests can replace it.
var Analyze = sqlfacts.Analyze

// Candidates returns the index candidates for the workload: per statement and
// table, the shapes described in the package doc, without those an existing
// index covers, merged across statements (a candidate whose keys lead
// another's is folded into it) and ordered by the time of the statements
// they serve. It is pure.
func Candidates(snap *pgstat.Snapshot, inputs []Input, opts Options) []Candidate {
	opts = withDefaults(opts)
	cat := newCatalog(snap)
	weight := map[string]float64{}
	var all, served []Candidate
	for _, in := range inputs {
		if in.Facts == nil || in.Facts.Statements > 1 {
			continue
		}
		weight[in.QueryID] += in.weight()
		if cat.bulkRead(in, opts) {
			continue
		}
		for _, c := range cat.statementCandidates(in, opts) {
			c.QueryIDs = []string{in.QueryID}
			if cat.covered(c) {
				// An existing index serves it; its covering variant may
				// still turn the statement's scan into an index-only one.
				served = append(served, c)
				continue
			}
			if cat.smallExtension(c, opts) {
				continue
			}
			all = append(all, c)
		}
	}
	all = dedupe(all)
	all = mergePrefixes(all)
	// Drop what an existing index covers (again: merging may reorder keys).
	var out []Candidate
	for _, c := range all {
		if !cat.covered(c) {
			out = append(out, c)
		} else {
			served = append(served, c)
		}
	}
	out = append(out, cat.coveringVariants(out, inputs, opts)...)
	// The covering variants of what existing indexes serve, where one of
	// them has exactly these keys: the covering index replaces it
	// (Candidate.Extends). Next to a unique index, or to one with more
	// keys, it would be a second index for one need.
	for _, cv := range cat.coveringVariants(dedupe(served), inputs, opts) {
		if slices.ContainsFunc(out, func(o Candidate) bool { return o.ID() == cv.ID() }) {
			continue
		}
		if cv.Extends = cat.extendedIndex(cv); cv.Extends != "" {
			cv.Alternative = false
			out = append(out, cv)
		}
	}
	sortCandidates(out, weight)
	if len(out) > opts.MaxCandidates {
		out = out[:opts.MaxCandidates]
	}
	for i := range out {
		out[i] = WithPartitions(snap, out[i])
	}
	return out
}

// bulkRead reports whether in is a SELECT of one table, without aggregate,
// DISTINCT or LIMIT, that returns at least Options.BulkReadFraction of the
// table's rows per call: a sitemap or an export, whose time goes into the
// rows it returns. An index would only change the order of reading them
// (a planner cost cut of 76% measured as 25% of the time on the blog's
// sitemap, 55,000 of 60,000 posts a call); it gets no candidate.
func (c *catalog) bulkRead(in Input, opts Options) bool {
	f := in.Facts
	if f == nil || f.Kind != sqlfacts.KindSelect || len(f.Relations) != 1 || f.Aggregates || f.Distinct || f.Limit != nil || in.Calls <= 0 {
		return false
	}
	t := c.table(f.Relations[0].Schema, f.Relations[0].Name)
	if t == nil {
		return false
	}
	rows := c.rows(c.parent(t))
	return rows > 0 && float64(in.Rows)/float64(in.Calls) >= opts.BulkReadFraction*rows
}

// dedupe merges identical candidates, uniting their statements.
func dedupe(cs []Candidate) []Candidate {
	byID := map[string]int{}
	var out []Candidate
	for _, c := range cs {
		if i, ok := byID[c.ID()]; ok {
			out[i].QueryIDs = unionStrings(out[i].QueryIDs, c.QueryIDs)
			out[i].Alternative = out[i].Alternative && c.Alternative
			continue
		}
		byID[c.ID()] = len(out)
		out = append(out, c)
	}
	return out
}

// mergePrefixes folds every candidate whose keys lead a bigger candidate on
// the same table into that candidate (the biggest first), so that one
// composite serves both statements.
func mergePrefixes(cs []Candidate) []Candidate {
	// Bigger candidates first; a small one folds into the first that serves it.
	idx := make([]int, len(cs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return len(cs[idx[a]].Keys) > len(cs[idx[b]].Keys) })
	removed := make([]bool, len(cs))
	for _, si := range idx {
		small := cs[si]
		for _, bi := range idx {
			if bi == si || removed[bi] || len(cs[bi].Keys) <= len(small.Keys) {
				continue
			}
			merged, ok := prefixOf(small, cs[bi])
			if !ok {
				continue
			}
			merged.QueryIDs = unionStrings(merged.QueryIDs, small.QueryIDs)
			merged.Alternative = merged.Alternative && small.Alternative
			if merged.Reason != small.Reason && !strings.Contains(merged.Reason, small.Reason) {
				merged.Reason += "; " + small.Reason
			}
			cs[bi] = merged
			removed[si] = true
			break
		}
	}
	var out []Candidate
	for i, c := range cs {
		if !removed[i] {
			out = append(out, c)
		}
	}
	return dedupe(out)
}

func unionStrings(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string(nil), a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// catalog looks up the snapshot's tables, views and indexes.
type catalog struct {
	snap  *pgstat.Snapshot
	views map[string]*pgstat.View
}

func newCatalog(snap *pgstat.Snapshot) *catalog {
	c := &catalog{snap: snap, views: map[string]*pgstat.View{}}
	for i := range snap.Views {
		v := &snap.Views[i]
		c.views[v.Schema+"."+v.Name] = v
	}
	return c
}

// table finds a table by schema and name; schema "" prefers public.
func (c *catalog) table(schema, name string) *pgstat.Table { return c.snap.Table(schema, name) }

func (c *catalog) view(schema, name string) *pgstat.View {
	if schema != "" {
		return c.views[schema+"."+name]
	}
	if v := c.views["public."+name]; v != nil {
		return v
	}
	for _, v := range c.views {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// parent returns the partitioned table a partition belongs to (its root), or t.
func (c *catalog) parent(t *pgstat.Table) *pgstat.Table {
	for depth := 0; t.Parent != "" && depth < 8; depth++ {
		schema, name := splitQualified(t.Parent)
		p := c.table(schema, name)
		if p == nil {
			break
		}
		t = p
	}
	return t
}

// splitQualified splits a QuoteQualified name into its unquoted parts.
func splitQualified(s string) (schema, name string) {
	var parts []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '"' && quoted && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case ch == '"':
			quoted = !quoted
		case ch == '.' && !quoted:
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(ch)
		}
	}
	parts = append(parts, cur.String())
	if len(parts) == 1 {
		return "", parts[0]
	}
	return parts[0], parts[1]
}

// rows is the table's row count (pgstat.Snapshot.RowCount).
func (c *catalog) rows(t *pgstat.Table) float64 { return c.snap.RowCount(t) }

func (c *catalog) sizeBytes(t *pgstat.Table) int64 {
	s := t.SizeBytes
	if t.Kind == "p" {
		for i := range c.snap.Tables {
			p := &c.snap.Tables[i]
			if p.Parent != "" && c.parent(p) == t {
				s += p.SizeBytes
			}
		}
	}
	return s
}

// eligible reports whether a table may get an index: a user table
// (ordinary, partitioned or materialized view, not foreign) large enough.
func (c *catalog) eligible(t *pgstat.Table, opts Options) bool {
	if model.IsSystemSchema(t.Schema) || t.Kind == "f" {
		return false
	}
	if r := c.rows(t); r > 0 {
		return r >= opts.MinTableRows
	}
	return c.sizeBytes(t) >= opts.MinTableBytes
}

// covered reports whether an existing index of the table covers c (for a
// partial or covering candidate: partialCovered, coveringCovered).
func (c *catalog) covered(cand Candidate) bool {
	switch {
	case cand.Partial():
		return c.partialCovered(cand)
	case cand.Covering():
		return c.coveringCovered(cand)
	}
	for i := range c.snap.Indexes {
		ix := &c.snap.Indexes[i]
		if ix.Schema == cand.Schema && ix.Table == cand.Table && coveredBy(cand, ix) {
			return true
		}
	}
	return false
}

// smallExtension reports whether c only adds keys to an existing index on
// its equality columns when the equality match is small (MinRowsToExtend).
func (c *catalog) smallExtension(cand Candidate, opts Options) bool {
	if cand.EqualityKeys == 0 || len(cand.Keys) <= cand.EqualityKeys || cand.Partial() || cand.Covering() {
		return false
	}
	eq := Candidate{Schema: cand.Schema, Table: cand.Table, Method: cand.Method, Keys: cand.Keys[:cand.EqualityKeys], EqualityKeys: cand.EqualityKeys}
	if !c.covered(eq) {
		return false
	}
	t := c.table(cand.Schema, cand.Table)
	if t == nil {
		return false
	}
	rows := c.rows(t)
	for _, k := range eq.Keys {
		if d := c.keyDistinct(t, k); d > 1 {
			rows /= d
		}
	}
	return rows < opts.MinRowsToExtend
}

func hasColumn(t *pgstat.Table, col string) bool {
	return column(t, col) != nil
}

func column(t *pgstat.Table, col string) *pgstat.Column {
	for i := range t.Columns {
		if t.Columns[i].Name == col {
			return &t.Columns[i]
		}
	}
	return nil
}

// distinct is the column's number of distinct values from pg_stats (0 unknown).
func (c *catalog) distinct(t *pgstat.Table, col string) float64 {
	cl := column(t, col)
	if cl == nil || cl.NDistinct == nil {
		return 0
	}
	if nd := *cl.NDistinct; nd < 0 {
		return -nd * c.rows(t)
	} else {
		return nd
	}
}

// scope resolves the relation names of one statement to tables.
type scope struct {
	refs   map[string][]*pgstat.Table // relation name, schema.name or CTE name → tables
	fenced map[string]bool            // MATERIALIZED CTE names
	open   []*pgstat.Table            // tables an unqualified column may belong to
	extra  []sqlfacts.Predicate       // predicates of the views read, resolved by table
	// renames maps a view (by name and alias) and one of its output columns
	// to the base column it is (SELECT p.id AS view_id …), qualified with
	// the base table, so that a filter on the view's column serves its table.
	renames map[string]map[string]sqlfacts.ColumnRef
}

// renamed is the base column a view's output column stands for, or ref.
func (s *scope) renamed(ref sqlfacts.ColumnRef) sqlfacts.ColumnRef {
	if ref.Table != "" {
		if base, ok := s.renames[ref.Table][ref.Column]; ok {
			return base
		}
		return ref
	}
	var hit *sqlfacts.ColumnRef
	for _, cols := range s.renames {
		if base, ok := cols[ref.Column]; ok {
			if hit != nil && *hit != base {
				return ref // two views have that column: ambiguous
			}
			b := base
			hit = &b
		}
	}
	if hit != nil {
		return *hit
	}
	return ref
}

func (s *scope) add(key string, t *pgstat.Table) {
	for _, x := range s.refs[key] {
		if x == t {
			return
		}
	}
	s.refs[key] = append(s.refs[key], t)
}

// resolveRelation maps a relation (table, partition or view) to its base tables.
func (c *catalog) resolveRelation(r sqlfacts.Relation, s *scope, depth int) []*pgstat.Table {
	if t := c.table(r.Schema, r.Name); t != nil {
		return []*pgstat.Table{c.parent(t)}
	}
	v := c.view(r.Schema, r.Name)
	if v == nil || depth > 4 || Analyze == nil {
		return nil
	}
	f, err := Analyze(v.Definition)
	if err != nil || f == nil {
		return nil
	}
	var out []*pgstat.Table
	inner := &scope{refs: map[string][]*pgstat.Table{}, fenced: map[string]bool{}}
	for _, br := range f.Relations {
		ts := c.resolveRelation(br, inner, depth+1)
		for _, t := range ts {
			inner.add(br.Name, t)
			if br.Alias != "" {
				inner.add(br.Alias, t)
			}
			inner.open = append(inner.open, t)
		}
		out = append(out, ts...)
	}
	// A view's output column that renames a base column (id AS view_id) is
	// that column for the statement's filters.
	if cols, err := sqlfacts.OutputColumns(v.Definition); err == nil {
		for name, ref := range cols {
			t := inner.column(ref)
			if t == nil || name == ref.Column && ref.Table == "" {
				continue
			}
			base := sqlfacts.ColumnRef{Schema: t.Schema, Table: t.Name, Column: ref.Column}
			for _, key := range []string{r.Name, r.Alias} {
				if key == "" {
					continue
				}
				if s.renames == nil {
					s.renames = map[string]map[string]sqlfacts.ColumnRef{}
				}
				if s.renames[key] == nil {
					s.renames[key] = map[string]sqlfacts.ColumnRef{}
				}
				s.renames[key][name] = base
			}
		}
	}
	// The view's own predicates apply to every statement reading it: qualify
	// them with the base table they resolve to.
	for _, p := range append(f.Predicates, inner.extra...) {
		if p.Join {
			continue
		}
		if t := inner.column(p.Column); t != nil {
			p.Column.Schema, p.Column.Table = t.Schema, t.Name
			s.extra = append(s.extra, p)
		}
	}
	return out
}

// column resolves a column reference to its base table, or nil.
func (s *scope) column(ref sqlfacts.ColumnRef) *pgstat.Table {
	if ref.Table != "" {
		if s.fenced[ref.Table] {
			return nil
		}
		keys := []string{ref.Table}
		if ref.Schema != "" {
			keys = []string{ref.Schema + "." + ref.Table, ref.Table}
		}
		for _, k := range keys {
			var hit *pgstat.Table
			n := 0
			for _, t := range s.refs[k] {
				if hasColumn(t, ref.Column) {
					hit = t
					n++
				}
			}
			if n == 1 {
				return hit
			}
			if n > 1 {
				return nil
			}
		}
		return nil
	}
	var hit *pgstat.Table
	for _, t := range s.open {
		if hasColumn(t, ref.Column) {
			if hit != nil && hit != t {
				return nil // ambiguous
			}
			hit = t
		}
	}
	return hit
}

// tableUse gathers what one statement asks of one table.
type tableUse struct {
	t      *pgstat.Table
	eq     []Key
	join   []Key
	ranges []Key
	trgm   []Key
	order  []Key
	// group are the GROUP BY keys, then the columns aggregated with
	// DISTINCT, when all are plain columns of this table (useGroupBy).
	group      []Key
	groupByLen int // how many of group are GROUP BY keys
	// fewerThanLimit is set when the statement returned fewer rows per call
	// than its LIMIT: some calls found fewer matches than the LIMIT, and
	// an index walked in ORDER BY order then reads the whole table.
	fewerThanLimit bool
	// consts are the conjuncts comparing a bare column with a constant or
	// testing it for NULL (partialPredicate): the partial-index predicates.
	consts []sqlfacts.Predicate
	// observed are the parameter comparisons whose sampled values make a
	// partial-index predicate (observedPredicate).
	observed []observedPredicate
	reason   []string
}

func addKey(list []Key, k Key) []Key {
	for _, x := range list {
		if keyTarget(x) == keyTarget(k) {
			return list
		}
	}
	return append(list, k)
}

// statementCandidates builds the candidates of one statement, in steps:
// find the tables it reads (its relations, then its CTEs, MATERIALIZED ones
// fencing their tables off), gather what it asks of each (filters, joins,
// ORDER BY), then shape the candidates of each eligible table.
func (c *catalog) statementCandidates(in Input, opts Options) []Candidate {
	f := in.Facts
	switch f.Kind {
	case sqlfacts.KindSelect, sqlfacts.KindUpdate, sqlfacts.KindDelete, sqlfacts.KindInsert, sqlfacts.KindMerge:
	default:
		return nil
	}
	queryID, _ := strconv.ParseInt(in.QueryID, 10, 64)
	st := &statementTables{
		c:       c,
		queryID: queryID,
		s:       &scope{refs: map[string][]*pgstat.Table{}, fenced: map[string]bool{}},
		fenced:  map[*pgstat.Table]bool{},
		inside:  map[*pgstat.Table]map[string]bool{},
		uses:    map[*pgstat.Table]*tableUse{},
	}
	st.addRelations(f)
	st.addCTEs(f, in.Query)
	st.openTables()
	st.usePredicates(f)
	st.useJoins(f)
	st.useOrderBy(f)
	st.useGroupBy(f)
	if f.Limit != nil && f.Limit.Param == 0 && f.Limit.Value > 0 && in.Calls > 0 &&
		float64(in.Rows)/float64(in.Calls) < float64(f.Limit.Value) {
		for _, u := range st.uses {
			u.fewerThanLimit = true
		}
	}
	return c.candidatesOf(st.uses, f.Limit != nil, opts)
}

// statementTables is what statementCandidates learns of one statement's
// tables, step by step.
type statementTables struct {
	c       *catalog
	queryID int64 // the statement's, for its observed values
	s       *scope
	// fenced holds the tables read inside MATERIALIZED CTEs: only the
	// predicates written inside those CTEs reach them.
	fenced map[*pgstat.Table]bool
	// inside[t] holds "column operator" of the predicates written inside
	// the MATERIALIZED CTEs reading t.
	inside map[*pgstat.Table]map[string]bool
	uses   map[*pgstat.Table]*tableUse
}

// addRelations puts the statement's relations (and its target) in scope
// under their name, schema.name and alias; a name that is one of the
// statement's CTEs is left to addCTEs.
func (st *statementTables) addRelations(f *sqlfacts.Facts) {
	c, s := st.c, st.s
	rels := append([]sqlfacts.Relation(nil), f.Relations...)
	if f.Target != nil {
		rels = append(rels, *f.Target)
	}
	cteNames := map[string]bool{}
	for _, cte := range f.CTEs {
		cteNames[cte.Name] = true
	}
	for _, r := range rels {
		if r.Schema == "" && cteNames[r.Name] {
			continue
		}
		for _, t := range c.resolveRelation(r, s, 0) {
			s.add(r.Name, t)
			if r.Schema != "" {
				s.add(r.Schema+"."+r.Name, t)
			}
			if r.Alias != "" {
				s.add(r.Alias, t)
			}
		}
	}
}

// addCTEs puts the tables of each CTE in scope under the CTE's name; the
// tables of a MATERIALIZED CTE are fenced instead, with the predicates its
// body writes (the body is cut from query and analysed) as the only ones
// that reach them.
func (st *statementTables) addCTEs(f *sqlfacts.Facts, query string) {
	c, s, inside := st.c, st.s, st.inside
	var bodies map[string]string
	for _, cte := range f.CTEs {
		if strings.EqualFold(cte.Materialized, "materialized") {
			s.fenced[cte.Name] = true
			if bodies == nil {
				bodies = materializedBodies(query)
			}
			var bf *sqlfacts.Facts
			if body, ok := bodies[cte.Name]; ok && Analyze != nil {
				bf, _ = Analyze(body)
			}
			for _, r := range cte.Relations {
				for _, t := range c.resolveRelation(r, s, 0) {
					st.fenced[t] = true
					if inside[t] == nil {
						inside[t] = map[string]bool{}
					}
					if bf == nil {
						continue
					}
					for _, p := range bf.Predicates {
						inside[t][p.Column.Column+" "+p.Operator] = true
					}
				}
			}
			continue
		}
		for _, r := range cte.Relations {
			for _, t := range c.resolveRelation(r, s, 0) {
				s.add(cte.Name, t)
			}
		}
	}
}

// openTables lists, by name, the tables in scope that are not fenced: those
// an unqualified column may belong to.
func (st *statementTables) openTables() {
	s := st.s
	seen := map[*pgstat.Table]bool{}
	for _, ts := range s.refs {
		for _, t := range ts {
			if !seen[t] && !st.fenced[t] {
				seen[t] = true
				s.open = append(s.open, t)
			}
		}
	}
	sort.SliceStable(s.open, func(i, j int) bool { return s.open[i].Schema+"."+s.open[i].Name < s.open[j].Schema+"."+s.open[j].Name })
}

// use is the tableUse of t, made on first use.
func (st *statementTables) use(t *pgstat.Table) *tableUse {
	u := st.uses[t]
	if u == nil {
		u = &tableUse{t: t}
		st.uses[t] = u
	}
	return u
}

// resolve is the table a column reference belongs to: the schema-qualified
// table when it has the column, else by the scope's names; nil when unknown.
func (st *statementTables) resolve(ref sqlfacts.ColumnRef) *pgstat.Table {
	if ref.Table != "" && ref.Schema != "" {
		if t := st.c.table(ref.Schema, ref.Table); t != nil && hasColumn(t, ref.Column) {
			return st.c.parent(t)
		}
	}
	return st.s.column(ref)
}

// usePredicates adds the statement's filters (and those of the views it
// reads) to their tables: equalities, ranges, and LIKE patterns a trigram
// index serves. Predicates under OR, join conditions and wrapped columns
// without an indexable expression are left out, and a fenced table takes
// only the predicates of its MATERIALIZED CTE.
func (st *statementTables) usePredicates(f *sqlfacts.Facts) {
	preds := append(append([]sqlfacts.Predicate(nil), f.Predicates...), st.s.extra...)
	for _, p := range preds {
		if p.InOr || p.Join {
			continue
		}
		p.Column = st.s.renamed(p.Column)
		t := st.resolve(p.Column)
		if t == nil || (st.fenced[t] && !st.inside[t][p.Column.Column+" "+p.Operator]) {
			continue
		}
		key := Key{Column: p.Column.Column}
		wrapped := p.Function != "" || p.Cast != "" || p.Expression != ""
		if wrapped {
			if p.Expression == "" {
				continue
			}
			key = Key{Expression: p.Expression}
		}
		u := st.use(t)
		if partialPredicate(p) {
			u.consts = append(u.consts, p)
		}
		if !wrapped {
			if op, ok := st.c.observedPredicate(st.queryID, t, p); ok {
				u.observed = append(u.observed, op)
			}
		}
		switch {
		case strings.Contains(strings.ToUpper(p.Operator), "LIKE") || p.Operator == "~~" || p.Operator == "~~*":
			if strings.HasPrefix(strings.ToUpper(p.Operator), "NOT") {
				continue
			}
			if sqlfacts.LeadingWildcard(p) || (!p.HasConst && p.Param == 0) {
				key.Opclass = "gin_trgm_ops"
				u.trgm = addKey(u.trgm, key)
				u.reason = append(u.reason, p.Column.Column+" "+p.Operator+" with a leading wildcard")
			}
		case p.IsEquality():
			u.eq = addKey(u.eq, key)
		case p.IsRange():
			u.ranges = addKey(u.ranges, key)
		}
	}
}

// useJoins adds both columns of each join condition to their (unfenced)
// tables.
func (st *statementTables) useJoins(f *sqlfacts.Facts) {
	for _, j := range f.Joins {
		for _, ref := range []sqlfacts.ColumnRef{j.Left, j.Right} {
			if t := st.resolve(ref); t != nil && !st.fenced[t] {
				u := st.use(t)
				u.join = addKey(u.join, Key{Column: ref.Column})
			}
		}
	}
}

// useOrderBy adds the ORDER BY keys, with their direction and NULLS order,
// to their table: only when every key is a column (or expression) of one
// unfenced table.
func (st *statementTables) useOrderBy(f *sqlfacts.Facts) {
	var orderTable *pgstat.Table
	var order []Key
	for i, o := range f.OrderBy {
		var t *pgstat.Table
		var k Key
		if o.Expression != "" {
			t = st.resolve(o.Column)
			k = Key{Expression: o.Expression}
		} else {
			t = st.resolve(o.Column)
			k = Key{Column: o.Column.Column}
		}
		if t == nil || st.fenced[t] || (i > 0 && t != orderTable) || o.Aggregate {
			order = nil
			break
		}
		orderTable = t
		k.Desc = o.Desc
		if o.NullsFirst != nil && *o.NullsFirst != o.Desc {
			nf := *o.NullsFirst
			k.NullsFirst = &nf
		}
		order = append(order, k)
	}
	if orderTable != nil && len(order) > 0 {
		st.use(orderTable).order = order
	}
}

// useGroupBy records the GROUP BY keys of a statement that groups by plain
// columns of one unfenced table, followed by the columns it aggregates with
// DISTINCT when they are of that table too (count(DISTINCT post_id) …
// GROUP BY author_id: (author_id, post_id)).
func (st *statementTables) useGroupBy(f *sqlfacts.Facts) {
	if len(f.GroupBy) == 0 || f.GroupByExpression {
		return
	}
	var t *pgstat.Table
	var keys []Key
	for _, g := range f.GroupBy {
		gt := st.resolve(g)
		if gt == nil || st.fenced[gt] || (t != nil && gt != t) {
			return
		}
		t = gt
		keys = addKey(keys, Key{Column: g.Column})
	}
	n := len(keys)
	for _, d := range f.AggregateDistinct {
		if st.resolve(d) != t {
			break // the keys that follow must be all of them, in order
		}
		keys = addKey(keys, Key{Column: d.Column})
	}
	u := st.use(t)
	u.group, u.groupByLen = keys, n
}

// groupShape is the candidate for a GROUP BY that reads the whole table
// (no filter, join or search on it): an index on the group keys, then the
// columns aggregated with DISTINCT, so that an (index-only) scan feeds the
// aggregate in group order instead of a sort of the table. It is an
// alternative: the what-if keeps it only when the planner says it pays.
func (c *catalog) groupShape(u *tableUse) []Candidate {
	if len(u.group) == 0 || len(u.eq) > 0 || len(u.ranges) > 0 || len(u.join) > 0 || len(u.trgm) > 0 {
		return nil
	}
	t := u.t
	cand := Candidate{Schema: t.Schema, Table: t.Name, Method: "btree", Partitioned: t.Kind == "p", RowsEstimate: c.rows(t)}
	cand.Keys = append([]Key(nil), u.group...)
	cand.KeyWidth = c.keysWidth(t, cand.Keys)
	cand.Reason = "GROUP BY " + keyNames(u.group[:u.groupByLen])
	if len(u.group) > u.groupByLen {
		cand.Reason += " with DISTINCT " + keyNames(u.group[u.groupByLen:])
	}
	cand.Reason += ": the index feeds the aggregate in group order, without a sort of the table"
	cand.Alternative = true
	return []Candidate{cand}
}

// candidatesOf shapes the candidates of each table the statement uses that
// is eligible for an index, tables in name order.
func (c *catalog) candidatesOf(uses map[*pgstat.Table]*tableUse, limited bool, opts Options) []Candidate {
	var out []Candidate
	tables := make([]*pgstat.Table, 0, len(uses))
	for t := range uses {
		tables = append(tables, t)
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i].Schema+"."+tables[i].Name < tables[j].Schema+"."+tables[j].Name })
	for _, t := range tables {
		if !c.eligible(t, opts) {
			continue
		}
		out = append(out, c.shapes(uses[t], limited, opts)...)
		out = append(out, c.groupShape(uses[t])...)
		out = append(out, c.partialShapes(uses[t], limited, opts)...)
	}
	return out
}

// shapes turns one table's use into candidates (the first is the primary one).
func (c *catalog) shapes(u *tableUse, limited bool, opts Options) []Candidate {
	t := u.t
	base := Candidate{Schema: t.Schema, Table: t.Name, Method: "btree", Partitioned: t.Kind == "p", RowsEstimate: c.rows(t)}
	sortBySelectivity := func(keys []Key) []Key {
		out := append([]Key(nil), keys...)
		sort.SliceStable(out, func(i, j int) bool {
			return c.keyDistinct(t, out[i]) > c.keyDistinct(t, out[j])
		})
		return out
	}
	own := sortBySelectivity(u.eq)
	all := own
	for _, k := range u.join {
		all = addKey(all, k)
	}
	all = sortBySelectivity(all)
	rng := pickRange(u, all)
	build := func(eq []Key, withOrder bool, reason string) (Candidate, bool) {
		cand := base
		cand.Keys = append([]Key(nil), eq...)
		cand.EqualityKeys = len(eq)
		inEq := map[string]bool{}
		for _, k := range eq {
			inEq[keyTarget(k)] = true
		}
		switch {
		case withOrder:
			for _, k := range u.order {
				if !inEq[keyTarget(k)] {
					cand.Keys = append(cand.Keys, k)
					inEq[keyTarget(k)] = true
				}
			}
		case rng != nil:
			cand.Keys = append(cand.Keys, *rng)
		}
		if len(cand.Keys) == 0 {
			return cand, false
		}
		cand.Reason = reason
		cand.KeyWidth = c.keysWidth(t, cand.Keys)
		return cand, true
	}
	// The ORDER BY can follow the equality keys when there is no range
	// column, or the range column is the first ORDER BY key.
	orderFits := len(u.order) > 0 && (rng == nil || keyTarget(*rng) == keyTarget(u.order[0]))
	if len(all) == 0 && rng == nil && !limited {
		orderFits = false // an index for ORDER BY alone only pays with a LIMIT
	}
	var out []Candidate
	desc := describe(u, rng)
	primary := own
	if len(own) == 0 && rng == nil {
		primary = all // only join columns: the inner side of a nested loop
	}
	// Next to a leading-wildcard search, an index for the ORDER BY alone (with
	// a LIMIT) walks the table in order filtering rows until the LIMIT is
	// reached: cheaper than the trigram index when many rows match, dearer
	// when few do. Both are candidates and the planner's cost decides;
	// but when calls return fewer rows than the LIMIT, some found fewer
	// matches and the walk read the whole table: the trigram index only.
	orderOnly := len(primary) == 0 && rng == nil
	if cand, ok := build(primary, orderFits, desc); ok && !(orderOnly && len(u.trgm) > 0 && u.fewerThanLimit) {
		// Without the what-if (HypoPG) only primary shapes are
		// recommended: there the trigram index stays the one.
		cand.Alternative = orderOnly && len(u.trgm) > 0
		out = append(out, cand)
	}
	if len(u.order) > 0 && !orderFits && limited {
		if cand, ok := build(primary, true, "ORDER BY "+keyNames(u.order)+" with LIMIT"); ok {
			cand.Alternative = true
			out = append(out, cand)
		}
	}
	if len(u.join) > 0 && len(all) > len(primary) {
		if cand, ok := build(all, orderFits, desc); ok {
			cand.Alternative = true
			out = append(out, cand)
		}
	}
	for _, k := range u.trgm {
		cand := base
		cand.Method = "gin"
		cand.Keys = []Key{k}
		cand.Extensions = []string{"pg_trgm"}
		cand.Reason = "LIKE/ILIKE with a leading wildcard on " + keyNames([]Key{k}) + " (a btree cannot serve it; pg_trgm GIN can)"
		cand.KeyWidth = c.keysWidth(t, cand.Keys)
		out = append(out, cand)
	}
	return out
}

// pickRange chooses the one range key: the first ORDER BY key when it is a
// range column, else the first range column; nil when there is none or it is
// already an equality key.
func pickRange(u *tableUse, eq []Key) *Key {
	if len(u.ranges) == 0 {
		return nil
	}
	r := u.ranges[0]
	for _, x := range u.ranges {
		if len(u.order) > 0 && keyTarget(x) == keyTarget(u.order[0]) {
			r = x
			break
		}
	}
	for _, e := range eq {
		if keyTarget(e) == keyTarget(r) {
			return nil
		}
	}
	return &r
}

func (c *catalog) keyDistinct(t *pgstat.Table, k Key) float64 {
	if k.Expression != "" {
		return 0
	}
	return c.distinct(t, k.Column)
}

func (c *catalog) keysWidth(t *pgstat.Table, keys []Key) int {
	w := 0
	for _, k := range keys {
		if cl := column(t, k.Column); k.Expression == "" && cl != nil && cl.AvgWidth > 0 {
			w += cl.AvgWidth
		} else {
			w += 16
		}
	}
	return w
}

func keyNames(keys []Key) string {
	var names []string
	for _, k := range keys {
		n := k.Column
		if k.Expression != "" {
			n = k.Expression
		}
		if k.Desc {
			n += " DESC"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

func describe(u *tableUse, rng *Key) string {
	var parts []string
	if len(u.eq) > 0 {
		parts = append(parts, "equality on "+keyNames(u.eq))
	}
	if len(u.join) > 0 {
		parts = append(parts, "join on "+keyNames(u.join))
	}
	if rng != nil {
		parts = append(parts, "range on "+keyNames([]Key{*rng}))
	}
	if len(u.order) > 0 {
		parts = append(parts, "ORDER BY "+keyNames(u.order))
	}
	return strings.Join(parts, ", ")
}
