package whatif

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// Partial indexes from observed parameter values (issue 10: the shop's
// open-orders dashboard, status = $2 where $2 is always 'pending' or
// 'paid'). pg_stat_statements keeps $2; pg_qualstats samples the values
// (pgstat.Snapshot.Observed, most common values only). When every sampled
// execution of the statement compared the column with one of at most
// observedMaxValues most common values, and those select at most
// PartialMaxFraction of the table by pg_stats, the statement gets a
// partial candidate WHERE col = 'v' or col IN ('v1', 'v2'), costed with a
// custom plan for the values seen most (a generic plan cannot use an index
// whose predicate depends on the value; the plan cache keeps custom plans
// for such a statement while the generic plan, which cannot use it, costs
// more, which is what the index is chosen for).

// observedMinSamples is the fewest sampled executions a predicate from
// observed values is built on.
const observedMinSamples = 5

// observedMaxValues is the most distinct values such a predicate lists.
const observedMaxValues = 3

// observedPredicate is a parameter's comparison whose sampled values make a
// partial index's predicate.
type observedPredicate struct {
	column   string
	param    int
	obs      *pgstat.ObservedValues
	fraction float64 // of the table's rows, pg_stats most_common_freqs
}

// observedPredicate returns p (col = $n) as a predicate of observed values
// of t for statement queryID, ok false when the samples do not make one.
func (c *catalog) observedPredicate(queryID int64, t *pgstat.Table, p sqlfacts.Predicate) (observedPredicate, bool) {
	if queryID == 0 || p.Param == 0 || p.Operator != "=" || p.InOr || p.Join || p.Function != "" || p.Cast != "" || p.Expression != "" || p.Column.Column == "" {
		return observedPredicate{}, false
	}
	obs := c.snap.ObservedFor(queryID, t.Schema, t.Name, p.Column.Column, "=")
	if obs == nil || obs.Other > 0 || len(obs.Values) == 0 || len(obs.Values) > observedMaxValues || obs.Observations() < observedMinSamples {
		return observedPredicate{}, false
	}
	cl := column(t, p.Column.Column)
	if cl == nil || len(cl.MostCommonValues) != len(cl.MostCommonFreqs) {
		return observedPredicate{}, false
	}
	frac := 0.0
	for _, v := range obs.Values {
		i := indexOf(cl.MostCommonValues, v.Value)
		if i < 0 {
			return observedPredicate{}, false
		}
		frac += cl.MostCommonFreqs[i]
	}
	return observedPredicate{column: p.Column.Column, param: p.Param, obs: obs, fraction: frac}, true
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// sql is the predicate as a partial index's WHERE: col = 'v', or col IN
// ('v1', 'v2') with the values in sorted order (one name for one set).
func (o observedPredicate) sql(t *pgstat.Table) string {
	vals := make([]string, 0, len(o.obs.Values))
	for _, v := range o.obs.Values {
		vals = append(vals, v.Value)
	}
	sort.Strings(vals)
	col := sqlfacts.QuoteIdent(o.column)
	quoted := make([]string, len(vals))
	for i, v := range vals {
		quoted[i] = sqlfacts.QuoteLiteral(v)
		if cl := column(t, o.column); cl != nil && cl.Type == "boolean" {
			quoted[i] = v
		}
	}
	if len(quoted) == 1 {
		return col + " = " + quoted[0]
	}
	return col + " IN (" + strings.Join(quoted, ", ") + ")"
}

// seen is "'pending' 12, 'paid' 8 of 20 sampled calls (pg_qualstats)".
func (o observedPredicate) seen() string {
	var parts []string
	for _, v := range o.obs.Values {
		parts = append(parts, fmt.Sprintf("%s %d", sqlfacts.QuoteLiteral(v.Value), v.Count))
	}
	return fmt.Sprintf("%s of %d sampled calls (pg_qualstats)", strings.Join(parts, ", "), o.obs.Observations())
}

// observedValues are the values statement in is costed with when it is
// served by a partial candidate from observed values: for each $n the
// value seen most for a column it is compared with (pg_qualstats), the
// rows per call for a LIMIT (at least 1), 0 for an OFFSET. ok false when a
// parameter has none of these.
func observedValues(snap *pgstat.Snapshot, in Input) (values []string, summary string, ok bool) {
	f := in.Facts
	id, err := strconv.ParseInt(in.QueryID, 10, 64)
	if f == nil || err != nil {
		return nil, "", false
	}
	n := max(f.Params, sqlfacts.MaxParam(in.Query))
	if n == 0 {
		return nil, "", false
	}
	cat := newCatalog(snap)
	values = make([]string, n)
	var shown []string
	for k := 1; k <= n; k++ {
		if v, limit, ok := boundValue(in, k); ok {
			values[k-1] = v
			if limit {
				shown = append(shown, fmt.Sprintf("LIMIT %s (rows per call)", v))
			}
			continue
		}
		for _, pc := range cat.paramColumns(f, k) {
			if o := snap.ObservedFor(id, pc.table.Schema, pc.table.Name, pc.column, "="); o != nil && len(o.Values) > 0 {
				values[k-1] = o.Values[0].Value
				shown = append(shown, fmt.Sprintf("%s = %s", pc.column, sqlfacts.QuoteLiteral(o.Values[0].Value)))
				break
			}
		}
		if values[k-1] == "" {
			return nil, "", false
		}
	}
	return values, "costed with the values the workload ran it with most: " + strings.Join(shown, ", ") +
		" (pg_qualstats samples; a generic plan cannot use a partial index, and the plan cache keeps custom plans while the generic one costs more)", true
}

// boundValue is the value $k is costed with when it is the statement's
// LIMIT (its rows per call, at least 1; limit true) or OFFSET (0); ok
// false when it is neither.
func boundValue(in Input, k int) (value string, limit, ok bool) {
	f := in.Facts
	switch {
	case f.Limit != nil && f.Limit.Param == k:
		perCall := 1.0
		if in.Calls > 0 {
			perCall = math.Max(1, math.Ceil(float64(in.Rows)/float64(in.Calls)))
		}
		return strconv.FormatFloat(perCall, 'f', 0, 64), true, true
	case f.Offset != nil && f.Offset.Param == k:
		return "0", false, true
	}
	return "", false, false
}

// paramColumn is a table's column that a statement compares with $k.
type paramColumn struct {
	table  *pgstat.Table
	column string
}

// paramColumns are the columns the statement compares with $k by a plain
// equality (not under OR) whose table the snapshot knows.
func (c *catalog) paramColumns(f *sqlfacts.Facts, k int) []paramColumn {
	var out []paramColumn
	for _, p := range f.Predicates {
		if p.Param != k || p.Operator != "=" || p.InOr || p.Column.Column == "" {
			continue
		}
		if t := c.relationTable(f, p.Column); t != nil {
			out = append(out, paramColumn{t, p.Column.Column})
		}
	}
	return out
}

// relationTable is the table of the statement a column reference names
// (by relation name, resolved from its alias), nil when unknown.
func (c *catalog) relationTable(f *sqlfacts.Facts, ref sqlfacts.ColumnRef) *pgstat.Table {
	for _, r := range f.Relations {
		if ref.Table != "" && ref.Table != r.Name {
			continue
		}
		if ref.Schema != "" && r.Schema != "" && ref.Schema != r.Schema {
			continue
		}
		if t := c.table(r.Schema, r.Name); t != nil && hasColumn(t, ref.Column) {
			return t
		}
	}
	return nil
}

// customizeObserved plans statement in, whose generic plan is generic, for
// the values it was run with most (observedValues), and keeps them for
// every later plan of the statement; nil when a value is missing or the
// custom plan fails (the generic plan is kept, and the partial candidate
// from observed values then serves nothing).
func (e *evaluator) customizeObserved(snap *pgstat.Snapshot, in Input, generic *explain.Plan) (*Representative, *explain.Plan) {
	values, summary, ok := observedValues(snap, in)
	if !ok {
		return nil, nil
	}
	plan, err := e.probe(in, values)
	if err != nil {
		return nil, nil
	}
	e.values[in.QueryID] = values
	rep := &Representative{GenericRows: resultRows(generic), GenericCost: generic.Plan.TotalCost, CustomRows: resultRows(plan), Summary: summary}
	if in.Calls > 0 {
		rep.RowsPerCall = float64(in.Rows) / float64(in.Calls)
	}
	return rep, plan
}
