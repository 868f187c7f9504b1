package whatif

import (
	"fmt"
	"math"
	"strconv"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// Skew seen in the sampled values (issue 10: the shop's product page, a
// product's reviews aggregated). The generic plan prices p.id = $1 for an
// average product; the workload asks for popular ones, with thousands of
// reviews, so an index that spares their heap fetches looks worth 42 cost
// units a call instead of thousands. When pg_qualstats sampled the values
// of the statement's one filtering parameter, the what-if plans it for
// each of the (up to sampledMaxValues) values seen most; when their mean
// cost, weighted by how often each was seen, differs from the generic
// plan's by sampledSkew or more, the statement is costed with the sampled
// value whose cost is closest to that mean. The values are read live and
// kept in memory: the evidence shows a value only when it is one of the
// column's most common values, else <value>.

// SampledSource is the RepresentativeValue.Source of a value costed from
// pg_qualstats samples.
const SampledSource = "pg_qualstats samples"

// sampledMaxValues is the most sampled values planned for one statement.
const sampledMaxValues = 5

// sampledSkew is the ratio of the sampled values' mean cost to the generic
// plan's beyond which the statement is costed with a sampled value.
const sampledSkew = 2.0

// customizeSampled returns the custom plan of in for its representative
// sampled value, nil when there is no skew, no samples, or more than one
// filtering parameter.
func (e *evaluator) customizeSampled(snap *pgstat.Snapshot, in Input, generic *explain.Plan) (*Representative, *explain.Plan) {
	f := in.Facts
	id, err := strconv.ParseInt(in.QueryID, 10, 64)
	if f == nil || err != nil || f.Statements > 1 {
		return nil, nil
	}
	n := max(f.Params, sqlfacts.MaxParam(in.Query))
	if n == 0 {
		return nil, nil
	}
	obs := e.sampledValues()
	if len(obs) == 0 {
		return nil, nil
	}
	cat := newCatalog(snap)
	values := make([]string, n)
	param := 0
	var col paramColumn
	var seen *pgstat.ObservedValues
	for k := 1; k <= n; k++ {
		if v, _, ok := boundValue(in, k); ok {
			values[k-1] = v
			continue
		}
		if param != 0 {
			return nil, nil // a second filtering parameter: their values are sampled apart, not together
		}
		for _, pc := range cat.paramColumns(f, k) {
			if o := pgstat.FindObserved(obs, id, pc.table.Schema, pc.table.Name, pc.column, "="); o != nil && o.Observations() >= observedMinSamples && o.Other == 0 {
				param, col, seen = k, pc, o
			}
		}
		if param != k {
			return nil, nil
		}
	}
	if seen == nil {
		return nil, nil
	}
	type probe struct {
		value string
		count int64
		cost  float64
		plan  *explain.Plan
	}
	var probes []probe
	var sum, weight float64
	for _, v := range seen.Values[:min(len(seen.Values), sampledMaxValues)] {
		values[param-1] = v.Value
		plan, err := e.probe(in, values)
		if err != nil {
			return nil, nil
		}
		probes = append(probes, probe{v.Value, v.Count, plan.Plan.TotalCost, plan})
		sum += float64(v.Count) * plan.Plan.TotalCost
		weight += float64(v.Count)
	}
	g := generic.Plan.TotalCost
	mean := sum / weight
	if g <= 0 || (mean < sampledSkew*g && mean > g/sampledSkew) {
		return nil, nil
	}
	best := probes[0]
	for _, p := range probes[1:] {
		if math.Abs(p.cost-mean) < math.Abs(best.cost-mean) {
			best = p
		}
	}
	values[param-1] = best.value
	e.values[in.QueryID] = values
	shown := "<value>"
	if cl := column(col.table, col.column); cl != nil && indexOf(cl.MostCommonValues, best.value) >= 0 {
		shown = sqlfacts.QuoteLiteral(best.value)
	}
	rep := &Representative{GenericRows: resultRows(generic), GenericCost: g, CustomRows: resultRows(best.plan),
		Values: []RepresentativeValue{{Param: param, Predicate: col.column + " = " + shown, Source: SampledSource}}}
	if in.Calls > 0 {
		rep.RowsPerCall = float64(in.Rows) / float64(in.Calls)
	}
	rep.Summary = fmt.Sprintf("costed with %s = %s: the %d values the workload was sampled running it with (pg_qualstats, %d calls) plan at %.1f cost units on average, %.1f× the generic plan's %.1f; this one is the closest to their mean (%.1f)",
		col.column, shown, len(probes), seen.Observations(), mean, mean/g, g, best.cost)
	return rep, best.plan
}

// sampledValues are every value pg_qualstats sampled for the statements
// being evaluated, read in one query the first time a statement asks (nil
// without the extension or when the read fails: then nothing is costed
// from samples).
func (e *evaluator) sampledValues() []pgstat.ObservedValues {
	if e.sampledRead {
		return e.sampled
	}
	e.sampledRead = true
	obs, err := pgstat.ReadQualstats(e.ctx, e.conn, e.sampledFor, func(_, _, _, _ string) bool { return true })
	if err == nil {
		e.sampled = obs
	}
	return e.sampled
}
