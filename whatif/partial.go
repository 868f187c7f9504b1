package whatif

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// Partial-index candidates (issue 10 §4). A statement whose WHERE has a
// constant conjunct on a bare column — col IS NULL, col IS NOT NULL,
// col = 'constant', a boolean column (col, NOT col) — that selects at most
// Options.PartialMaxFraction of the table's rows by pg_stats gets, next to
// its plain candidate, the same index restricted to those rows: CREATE INDEX
// … (other keys) WHERE predicate. Its keys are the statement's other keys
// (equality, join, range, ORDER BY, shaped as for the plain candidate); when
// it has none, the ORDER BY keys (the partial index then returns the rows in
// order), else the primary key's columns (narrow, unique, and what an UPDATE
// or DELETE of one of those rows looks up), else the predicate's column.
//
// The predicate is the statement's own conjunct with the same constant, so
// that the planner proves the index usable (predicate_implied_by: identical
// expressions). A comparison with a parameter ($1) never makes one: a
// generic plan cannot use an index whose predicate depends on the value.
// Candidates merge only with candidates of the same predicate, so a partial
// index is credited only to statements that have its predicate; and the
// what-if counts a statement only when its plan uses the index. Partitioned
// tables get none (the online recipe attaches plain partition indexes).

// partialPredicate reports whether p can be a partial index's predicate: a
// conjunct (not under OR, not a join) on a bare column, compared with a
// constant or tested for NULL.
func partialPredicate(p sqlfacts.Predicate) bool {
	if p.InOr || p.Join || p.Param != 0 || p.Function != "" || p.Cast != "" || p.Expression != "" || p.Column.Column == "" {
		return false
	}
	switch p.Operator {
	case "IS NULL", "IS NOT NULL":
		return true
	case "=":
		// 'today' and its kin are read when the index is built, then fixed:
		// tomorrow the statement's constant is another day.
		switch strings.ToLower(strings.TrimSpace(p.Const)) {
		case "now", "today", "tomorrow", "yesterday":
			return false
		}
		return p.HasConst && p.Const != "NULL"
	}
	return false
}

// predicateSQL is p written as a partial index's WHERE: col IS NULL, col
// IS NOT NULL, col / NOT col for a boolean column, col = 'constant'.
func predicateSQL(t *pgstat.Table, p sqlfacts.Predicate) string {
	col := sqlfacts.QuoteIdent(p.Column.Column)
	switch p.Operator {
	case "IS NULL", "IS NOT NULL":
		return col + " " + p.Operator
	}
	if cl := column(t, p.Column.Column); cl != nil && cl.Type == "boolean" {
		switch strings.ToLower(p.Const) {
		case "true", "t":
			return col
		case "false", "f":
			return "NOT " + col
		}
	}
	return col + " = " + sqlfacts.QuoteLiteral(p.Const)
}

// predicateFraction is the share of t's rows p selects, from pg_stats
// (null_frac; most_common_vals and most_common_freqs, else n_distinct, for
// equality as PostgreSQL's eqsel estimates it); ok false when unknown.
func (c *catalog) predicateFraction(t *pgstat.Table, p sqlfacts.Predicate) (float64, bool) {
	cl := column(t, p.Column.Column)
	if cl == nil || cl.NullFrac == nil {
		return 0, false
	}
	nullFrac := *cl.NullFrac
	switch p.Operator {
	case "IS NULL":
		if cl.NotNull {
			return 0, false // never true: not a useful index
		}
		return nullFrac, true
	case "IS NOT NULL":
		return 1 - nullFrac, true
	}
	want := p.Const
	if cl.Type == "boolean" {
		switch strings.ToLower(want) {
		case "true", "t":
			want = "t"
		case "false", "f":
			want = "f"
		}
	}
	mcf := 0.0
	if len(cl.MostCommonValues) == len(cl.MostCommonFreqs) {
		for i, v := range cl.MostCommonValues {
			if v == want {
				return cl.MostCommonFreqs[i], true
			}
			mcf += cl.MostCommonFreqs[i]
		}
	}
	nd := c.distinct(t, p.Column.Column)
	if nd <= 0 {
		return 0, false
	}
	others := nd - float64(len(cl.MostCommonValues))
	if others < 1 {
		others = 1
	}
	return max(0, 1-nullFrac-mcf) / others, true
}

// partialShapes are the partial-index candidates of one table's use: for
// its most selective constant predicate within PartialMaxFraction, the
// index on the statement's other keys WHERE that predicate.
func (c *catalog) partialShapes(u *tableUse, limited bool, opts Options) []Candidate {
	t := u.t
	if t.Kind == "p" || c.rows(t) <= 0 {
		return nil
	}
	var best *sqlfacts.Predicate
	bestFrac := 0.0
	for i := range u.consts {
		p := &u.consts[i]
		f, ok := c.predicateFraction(t, *p)
		if !ok || f > opts.PartialMaxFraction {
			continue
		}
		if best == nil || f < bestFrac {
			best, bestFrac = p, f
		}
	}
	var seen *observedPredicate
	for i := range u.observed {
		o := &u.observed[i]
		if o.fraction <= opts.PartialMaxFraction && (best == nil || o.fraction < bestFrac) && (seen == nil || o.fraction < seen.fraction) {
			seen = o
		}
	}
	if seen != nil {
		best = nil
		bestFrac = seen.fraction
	}
	if best == nil && seen == nil {
		return nil
	}
	var col string
	if best != nil {
		col = best.Column.Column
	} else {
		col = seen.column
	}
	// An observed predicate of several values keeps its column as an
	// equality key: each value's rows then come out in the order of the
	// keys after it (status IN ('paid', 'pending') … ORDER BY created_at).
	keepCol := seen != nil && len(seen.obs.Values) > 1
	without := func(keys []Key) []Key {
		if keepCol {
			return keys
		}
		var out []Key
		for _, k := range keys {
			if k.Expression != "" || k.Column != col {
				out = append(out, k)
			}
		}
		return out
	}
	rest := &tableUse{t: t, eq: without(u.eq), join: without(u.join), ranges: without(u.ranges), order: u.order}
	var cand Candidate
	found := false
	for _, s := range c.shapes(rest, limited, opts) {
		if s.Method == "btree" {
			cand, found = s, true
			break
		}
	}
	if !found {
		cand = Candidate{Schema: t.Schema, Table: t.Name, Method: "btree", RowsEstimate: c.rows(t)}
		switch pk := c.primaryKey(t); {
		case len(u.order) > 0:
			cand.Keys = append([]Key(nil), u.order...)
			cand.Reason = "ORDER BY " + keyNames(u.order)
		case len(pk) > 0:
			cand.Keys = pk
			cand.Reason = "the primary key " + keyNames(pk)
		default:
			cand.Keys = []Key{{Column: col}}
			cand.Reason = col
		}
		cand.KeyWidth = c.keysWidth(t, cand.Keys)
	}
	cand.WhereColumn = col
	cand.Fraction = bestFrac
	cand.Alternative = true
	if seen != nil {
		cand.Where = seen.sql(t)
		cand.FromObserved = true
		cand.Reason = fmt.Sprintf("partial from the values $%d was run with: %s, %s selects %s of the rows (pg_stats); %s",
			seen.param, seen.seen(), cand.Where, percent(bestFrac), cand.Reason)
		return []Candidate{cand}
	}
	cand.Where = predicateSQL(t, *best)
	cand.Reason = fmt.Sprintf("partial: %s selects %s of the rows (pg_stats); %s", cand.Where, percent(bestFrac), cand.Reason)
	return []Candidate{cand}
}

// primaryKey is the plain columns of t's primary key, nil when it has none
// (or an expression in it).
func (c *catalog) primaryKey(t *pgstat.Table) []Key {
	for i := range c.snap.Indexes {
		ix := &c.snap.Indexes[i]
		if ix.Schema != t.Schema || ix.Table != t.Name || !ix.Primary {
			continue
		}
		keys := IndexKeys(ix)
		for _, k := range keys {
			if k.Expression != "" {
				return nil
			}
		}
		return keys
	}
	return nil
}

// partialCovered reports whether an existing index already serves a partial
// candidate: a valid index with the same predicate (compared normalised)
// serving its keys, or a non-partial one serving the predicate's column as
// an equality key followed by the candidate's keys.
func (c *catalog) partialCovered(cand Candidate) bool {
	for i := range c.snap.Indexes {
		ix := c.snap.Indexes[i]
		if ix.Schema != cand.Schema || ix.Table != cand.Table || ix.Predicate == "" || !ix.Valid {
			continue
		}
		if NormalizeExpression(ix.Predicate) != NormalizeExpression(cand.Where) || len(ix.Include) > 0 && cand.Covering() {
			continue
		}
		ix.Predicate = ""
		if IndexServes(&ix, cand.Method, cand.Keys, cand.EqualityKeys) {
			return true
		}
	}
	plain := cand
	plain.Where, plain.WhereColumn, plain.Fraction, plain.Include = "", "", 0, nil
	plain.Keys = []Key{{Column: cand.WhereColumn}}
	for _, k := range cand.Keys {
		plain.Keys = addKey(plain.Keys, k)
	}
	plain.EqualityKeys = min(cand.EqualityKeys+1, len(plain.Keys))
	return c.covered(plain)
}

// coveringCovered reports whether an existing index serves a covering
// candidate's keys and holds every one of its INCLUDE columns.
func (c *catalog) coveringCovered(cand Candidate) bool {
	for i := range c.snap.Indexes {
		ix := &c.snap.Indexes[i]
		if ix.Schema != cand.Schema || ix.Table != cand.Table || !IndexServes(ix, cand.Method, cand.Keys, cand.EqualityKeys) {
			continue
		}
		has := map[string]bool{}
		for _, col := range append(append([]string(nil), ix.Columns...), ix.Include...) {
			has[col] = true
		}
		all := true
		for _, col := range cand.Include {
			all = all && has[col]
		}
		if all {
			return true
		}
	}
	return false
}

// extendedIndex is the name of the existing index that a covering
// candidate cand extends: a valid btree without predicate or INCLUDE whose
// keys are exactly cand's (IndexServes, the same number of keys), not
// unique (a constraint's index stays); "" when none is.
func (c *catalog) extendedIndex(cand Candidate) string {
	for i := range c.snap.Indexes {
		ix := &c.snap.Indexes[i]
		if ix.Schema != cand.Schema || ix.Table != cand.Table || !ix.Valid || ix.Unique || ix.Primary || ix.Predicate != "" || len(ix.Include) > 0 ||
			len(ix.Columns) != len(cand.Keys) || !IndexServes(ix, cand.Method, cand.Keys, cand.EqualityKeys) {
			continue
		}
		return ix.Name
	}
	return ""
}

// Covering-index candidates (issue 10 §5). For a btree candidate whose
// statements read, besides its key columns, only a few narrow columns of its
// table (at most CoveringMaxColumns, CoveringMaxWidth bytes in all by
// pg_stats avg_width), the same index with those columns in INCLUDE lets an
// index-only scan skip the heap. Only statements that read the one table
// (no join, subquery or CTE, no *) count; only when the table is read-mostly
// (its write share below WriteHeavyShare, the write-cost measure of
// Select) and its visibility map is mostly set (relallvisible / relpages at
// least CoveringMinAllVisible: an index-only scan still visits every page
// not all-visible). The covering candidate is an alternative to the plain
// one, serving the same statements: the what-if lets the planner choose,
// and the selection never keeps both.
func (c *catalog) coveringVariants(cands []Candidate, inputs []Input, opts Options) []Candidate {
	byID := inputsByID(inputs)
	var out []Candidate
	for _, p := range cands {
		if p.Method != "btree" || p.Partitioned || p.Covering() || len(p.Keys) == 0 {
			continue
		}
		t := c.table(p.Schema, p.Table)
		if t == nil || t.Pages <= 0 || float64(t.AllVisiblePages)/float64(t.Pages) < opts.CoveringMinAllVisible {
			continue
		}
		if writeCost(c.snap, nil, p, opts.WriteHeavyShare).WriteHeavy {
			continue
		}
		keyCols := map[string]bool{}
		plainKeys := true
		for _, k := range p.Keys {
			plainKeys = plainKeys && k.Expression == ""
			keyCols[k.Column] = true
		}
		if !plainKeys {
			continue // an index-only scan cannot rebuild a column from an expression key
		}
		if p.Partial() {
			// A qual the index predicate implies is not rechecked: an
			// index-only scan needs no copy of that column.
			keyCols[p.WhereColumn] = true
		}
		need := map[string]bool{}
		for _, q := range p.QueryIDs {
			for _, col := range c.readColumns(byID[q], t) {
				if !keyCols[col] {
					need[col] = true
				}
			}
		}
		if len(need) == 0 || len(need) > opts.CoveringMaxColumns {
			continue
		}
		var include []string
		width := 0
		for _, cl := range t.Columns { // table order
			if need[cl.Name] {
				include = append(include, cl.Name)
				w := cl.AvgWidth
				if w <= 0 {
					w = 16
				}
				width += w
			}
		}
		if width > opts.CoveringMaxWidth {
			continue
		}
		cv := p
		cv.Include = include
		cv.Alternative = true
		cv.KeyWidth = p.KeyWidth + width
		cv.Reason = p.Reason + "; covering: INCLUDE (" + strings.Join(include, ", ") + ") for an index-only scan"
		if !c.coveringCovered(cv) {
			out = append(out, cv)
		}
	}
	return out
}

// readColumns are the columns of t a statement reads: a SELECT without
// subquery, CTE, * or locking clause, over t alone or t joined with other
// tables, each relation once. In a join, a reference qualified by t's alias
// (or name) is t's; an unqualified one is t's when t has the column and no
// other relation of the statement does (another relation's column, or an
// output alias, when only another has it). Nil when the statement does not
// qualify, when it reads t twice, when an unqualified name is ambiguous or
// belongs to a relation not in the snapshot, or when a reference to t names
// no column of t.
func (c *catalog) readColumns(in Input, t *pgstat.Table) []string {
	f := in.Facts
	if f == nil || f.Kind != sqlfacts.KindSelect || len(f.Relations) == 0 || f.Subqueries > 0 || len(f.CTEs) > 0 || f.SelectStar || f.Locking {
		return nil
	}
	var mine *sqlfacts.Relation
	var others []*pgstat.Table
	for i := range f.Relations {
		r := &f.Relations[i]
		rt := c.table(r.Schema, r.Name)
		if rt == nil {
			if len(f.Relations) == 1 {
				return nil
			}
			others = append(others, nil) // a view or an unknown relation
			continue
		}
		if c.parent(rt) == t {
			if mine != nil {
				return nil // a self-join: which copy reads what is not told by name alone
			}
			mine = r
			continue
		}
		others = append(others, rt)
	}
	if mine == nil {
		return nil
	}
	refs, err := sqlfacts.ColumnRefs(in.Query)
	if err != nil {
		return nil
	}
	qualifier := mine.Alias
	if qualifier == "" {
		qualifier = mine.Name
	}
	seen := map[string]bool{}
	var cols []string
	for _, ref := range refs {
		switch {
		case ref.Qualifier == qualifier:
			if !hasColumn(t, ref.Column) {
				return nil
			}
		case ref.Qualifier != "":
			continue // another relation's column
		case len(others) == 0:
			if !hasColumn(t, ref.Column) {
				return nil // an output alias, or a name the snapshot does not know
			}
		default:
			elsewhere := false
			for _, o := range others {
				if o == nil || hasColumn(o, ref.Column) {
					elsewhere = true
				}
			}
			if hasColumn(t, ref.Column) == elsewhere {
				if elsewhere {
					return nil // ambiguous (or maybe an unknown relation's)
				}
				continue // an output alias
			}
			if elsewhere {
				continue
			}
		}
		if !seen[ref.Column] {
			seen[ref.Column] = true
			cols = append(cols, ref.Column)
		}
	}
	sort.Strings(cols)
	return cols
}
