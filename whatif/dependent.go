package whatif

import (
	"fmt"
	"strings"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// Equality keys that split no group (issue 10: the blog's geo report). A
// statement filtering on country = $1 AND region = $2 AND lang = $3 AND
// timezone = $4 AND currency = $5, where the last four are functions of
// country, gets a five-column candidate; the planner, which multiplies the
// five selectivities, prices its index scan at one row and prefers it to
// (country) by a wide margin, yet both return exactly the same rows and the
// longer one is only wider. Before the what-if, each btree candidate with
// two or more equality keys has the distinct count of each prefix of those
// keys measured on the sample the size model uses (TABLESAMPLE, the same
// safety gate: nothing runs that EXPLAIN ANALYZE would not run); an
// equality key after the first that raises the count by less than
// dependentKeySplit is left out, and the reason names it. The what-if then
// costs the shorter index with the planner's own estimate of its rows. It
// is done only when the statements served return at least one row per call
// (pg_stat_statements): a combination of values that matches nothing is
// answered at once by the longer index alone.

// dependentKeySplit is the growth in distinct prefixes below which an
// equality key is taken to split no group: under 1% more groups, under 1%
// fewer rows per key value.
const dependentKeySplit = 1.01

// dependentMinSample is the fewest sampled rows the decision is made on.
const dependentMinSample = 1000

// trimDependentKeys returns cands with the equality keys that split no
// group of the keys before them left out, merged with an identical
// candidate and dropped where an existing index covers the result.
func (e *evaluator) trimDependentKeys(snap *pgstat.Snapshot, cands []Candidate) []Candidate {
	cat := newCatalog(snap)
	changed := false
	out := make([]Candidate, 0, len(cands))
	for _, c := range cands {
		if t, ok := e.trimmed(snap, c); ok {
			if cat.covered(t) {
				changed = true
				continue
			}
			c, changed = t, true
		}
		out = append(out, c)
	}
	if !changed {
		return cands
	}
	return dedupe(out)
}

// trimmed is c without its dependent equality keys; ok false when it keeps
// them all or when they cannot be measured.
func (e *evaluator) trimmed(snap *pgstat.Snapshot, c Candidate) (Candidate, bool) {
	if c.Method != "btree" || c.EqualityKeys < 2 || c.Covering() || c.Partitioned || e.versionNum == 0 {
		return c, false
	}
	t := snap.Table(c.Schema, c.Table)
	if t == nil || c.RowsEstimate <= 0 {
		return c, false
	}
	// Only when every statement served finds rows for the values it is
	// given: for a combination that does not exist (country 'FR' with
	// region 'Bavaria') the longer index answers at once, where the shorter
	// one reads all of the country's rows to return none.
	for _, q := range c.QueryIDs {
		in, ok := e.inputs[q]
		if !ok || in.Calls <= 0 || float64(in.Rows)/float64(in.Calls) < 1 {
			return c, false
		}
	}
	kts, err := e.keyTypes(c)
	if err != nil {
		return c, false
	}
	var exprs []string
	for i, k := range c.Keys[:c.EqualityKeys] {
		if !kts[i].Builtin {
			return c, false // its equality may be user code
		}
		if k.Expression != "" {
			exprs = append(exprs, "("+k.Expression+")")
		} else {
			exprs = append(exprs, sqlfacts.QuoteIdent(k.Column))
		}
	}
	counts := make([]string, len(exprs))
	for i := range exprs {
		if i == 0 {
			counts[i] = "count(DISTINCT " + exprs[0] + ")::float8"
		} else {
			counts[i] = "count(DISTINCT (" + strings.Join(exprs[:i+1], ", ") + "))::float8"
		}
	}
	q := "SELECT count(*)::float8, " + strings.Join(counts, ", ") + " FROM " + sampleOf(c)
	facts, err := sqlfacts.Analyze(q)
	if err != nil {
		return c, false
	}
	if v, err := explain.Check(e.ctx, e.conn, q, facts, nil); err != nil || !v.Analyze {
		return c, false
	}
	vals := make([]float64, len(exprs)+1)
	dest := make([]any, len(vals))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := e.conn.QueryRow(e.ctx, ownMarker+q).Scan(dest...); err != nil || vals[0] < dependentMinSample {
		return c, false
	}
	sampled, distinct := vals[0], vals[1:]
	keep := []Key{c.Keys[0]}
	var dropped []string
	last := distinct[0]
	for i := 1; i < len(distinct); i++ {
		if distinct[i] < last*dependentKeySplit {
			dropped = append(dropped, keyNames([]Key{c.Keys[i]}))
			continue
		}
		keep = append(keep, c.Keys[i])
		last = distinct[i]
	}
	if len(dropped) == 0 {
		return c, false
	}
	out := c
	out.Keys = append(keep, c.Keys[c.EqualityKeys:]...)
	out.EqualityKeys = len(keep)
	out.KeyWidth = 0
	if w := widthOf(t, out.Keys); w > 0 {
		out.KeyWidth = w
	}
	verb := "they split"
	if len(dropped) == 1 {
		verb = "it splits"
	}
	out.Reason = fmt.Sprintf("%s; %s left out: in a sample of %.0f rows %s no group of %s (%.0f distinct either way), so the index would only be wider",
		c.Reason, strings.Join(dropped, ", "), sampled, verb, keyNames(keep), last)
	return out, true
}

// widthOf is the summed pg_stats avg_width of keys that are all columns, 0
// when one is an expression or has no width.
func widthOf(t *pgstat.Table, keys []Key) int {
	w := 0
	for _, k := range keys {
		cl := column(t, k.Column)
		if k.Expression != "" || cl == nil || cl.AvgWidth <= 0 {
			return 0
		}
		w += cl.AvgWidth
	}
	return w
}
