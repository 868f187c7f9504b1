package whatif

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// A generic plan does not know its parameters' values: it prices a range
// condition (ts >= $1, ts > now() - $1) at a third of the table, a BETWEEN
// at 0.5%, an equality at 1/n_distinct. When pg_stat_statements saw far
// fewer (or more) rows per call than that, an index that serves the real
// selectivity never looks worth it. Such a statement is costed with a custom
// plan instead, for values chosen from pg_stats so that the estimate matches
// the rows per call: a histogram bound (interpolated in its bucket) for a
// range, a most common value for an equality on a skewed column. The
// values go to EXPLAIN (never ANALYZE) through explain.Options.Values.

// The planner's default selectivities for a condition on an unknown value
// (selfuncs.h): DEFAULT_INEQ_SEL and DEFAULT_RANGE_INEQ_SEL.
const (
	defaultIneqSel  = 1.0 / 3
	defaultRangeSel = 0.005
)

type paramRole int

const (
	roleValue      paramRole = iota // any value of the column (SET value, IN list, …)
	roleEqual                       // col = $n
	roleLower                       // col > $n, col >= $n, BETWEEN $n AND …
	roleUpper                       // col < $n, col <= $n, BETWEEN … AND $n
	roleSinceLower                  // col > now() - $n
	roleSinceUpper                  // col < now() - $n
)

func (r paramRole) isRange() bool { return r >= roleLower }
func (r paramRole) since() bool   { return r == roleSinceLower || r == roleSinceUpper }
func (r paramRole) lower() bool   { return r == roleLower || r == roleSinceLower }

// paramUse is what one $n stands for in the statement.
type paramUse struct {
	param int
	col   sqlfacts.ColumnRef
	role  paramRole
	op    string // the operator with the column on the left: =, >, >=, <, <=
}

// paramUses returns the use of each $n (1..n), or why one has none that a
// value of a column could stand for.
func paramUses(f *sqlfacts.Facts, n int) ([]paramUse, string) {
	uses := map[int]paramUse{}
	set := func(u paramUse) {
		if _, ok := uses[u.param]; !ok && u.col.Table != "" && u.col.Column != "" {
			uses[u.param] = u
		}
	}
	for _, p := range f.Predicates {
		if p.InOr || p.Join || p.Function != "" || p.Expression != "" || p.Cast != "" {
			continue
		}
		if p.NowMinusParam > 0 {
			switch p.Operator {
			case ">", ">=":
				set(paramUse{param: p.NowMinusParam, col: p.Column, role: roleSinceLower, op: p.Operator})
			case "<", "<=":
				set(paramUse{param: p.NowMinusParam, col: p.Column, role: roleSinceUpper, op: p.Operator})
			}
			continue
		}
		if p.Param == 0 {
			continue
		}
		switch p.Operator {
		case "=":
			set(paramUse{param: p.Param, col: p.Column, role: roleEqual, op: "="})
		case ">", ">=":
			set(paramUse{param: p.Param, col: p.Column, role: roleLower, op: p.Operator})
		case "<", "<=":
			set(paramUse{param: p.Param, col: p.Column, role: roleUpper, op: p.Operator})
		case "BETWEEN":
			set(paramUse{param: p.Param, col: p.Column, role: roleLower, op: ">="})
			if c, ok := f.ParamColumns[p.Param+1]; ok && c == p.Column {
				set(paramUse{param: p.Param + 1, col: p.Column, role: roleUpper, op: "<="})
			}
		}
	}
	for k, c := range f.ParamColumns {
		set(paramUse{param: k, col: c, role: roleValue, op: "="})
	}
	out := make([]paramUse, 0, n)
	for i := 1; i <= n; i++ {
		u, ok := uses[i]
		if !ok {
			return nil, fmt.Sprintf("$%d is not compared with a column", i)
		}
		out = append(out, u)
	}
	return out, ""
}

// columnStats is what pg_stats says of one column, and the column's type.
type columnStats struct {
	Relation  string  // schema.table as resolved
	TableRows float64 // reltuples
	Type      string  // the type's name (regtype), e.g. "timestamp with time zone"
	Category  string  // pg_type.typcategory: N numeric, D date/time, T interval, B boolean, S string, …
	HasStats  bool    // pg_stats has a row
	NullFrac  float64
	NDistinct float64 // negative: a fraction of the rows
	MCV       []string
	MCF       []float64
	Histogram []string
}

func (s columnStats) distinct() float64 {
	if s.NDistinct < 0 {
		return -s.NDistinct * s.TableRows
	}
	return s.NDistinct
}

// histShare is the fraction of rows the histogram describes: neither null
// nor one of the most common values.
func (s columnStats) histShare() float64 {
	h := 1 - s.NullFrac
	for _, f := range s.MCF {
		h -= f
	}
	return max(h, 0)
}

// eqSel is the generic plan's selectivity of col = $n (var_eq_non_const).
func (s columnStats) eqSel() float64 {
	sel := 1 - s.NullFrac
	if nd := s.distinct(); nd > 1 {
		sel /= nd
	}
	if len(s.MCF) > 0 && sel > s.MCF[0] {
		sel = s.MCF[0]
	}
	return sel
}

// shown reports whether a value of the column may be quoted in a finding:
// numbers, times, intervals, booleans and enums, and values of a column
// with few distinct values (a status); not free text, which may be personal
// data.
func (s columnStats) shown() bool {
	switch s.Category {
	case "N", "D", "T", "B", "E":
		return true
	}
	nd := s.distinct()
	return nd > 0 && nd <= 100
}

// interpolable are the types whose values the server interpolates between
// two histogram bounds (lo + (hi - lo) × fraction).
var interpolable = map[string]bool{
	"smallint": true, "integer": true, "bigint": true, "numeric": true, "real": true, "double precision": true,
	"timestamp without time zone": true, "timestamp with time zone": true, "date": true,
}

// choice is the value chosen for one $n: a literal, or a point between two
// histogram bounds (Lo, Hi, Frac) the server computes; Since turns the
// value v into the interval now() - v.
type choice struct {
	use      paramUse
	literal  string
	lo, hi   string
	frac     float64
	interp   bool
	source   string
	fraction float64 // of the table's rows the condition selects
	adjusted bool    // chosen to match the observed rows (else a typical value)
}

// chooseValues picks a value for every $n so that the statement's estimate
// moves by ratio (observed rows per call ÷ the generic estimate): the first
// range parameter (with the other bound on its column), else the first
// equality on a column with most common values, is chosen for the fraction
// of rows the generic plan assumes times ratio; every other parameter gets a
// typical value (one the estimate treats as the generic plan does). It
// returns why when a parameter gets no value. Pure.
func chooseValues(uses []paramUse, stats map[sqlfacts.ColumnRef]columnStats, ratio float64) ([]choice, string) {
	adj := -1
	for i, u := range uses {
		if u.role.isRange() {
			adj = i
			break
		}
	}
	if adj < 0 {
		for i, u := range uses {
			if u.role == roleEqual && len(stats[u.col].MCV) > 0 {
				adj = i
				break
			}
		}
	}
	if adj < 0 {
		return nil, "no parameter whose value changes the estimate (a range, or an equality on a column with most common values)"
	}
	adjCol := uses[adj].col
	out := make([]choice, len(uses))
	hasLower, hasUpper := map[sqlfacts.ColumnRef]bool{}, map[sqlfacts.ColumnRef]bool{}
	for _, u := range uses {
		if u.role.isRange() {
			if u.role.lower() {
				hasLower[u.col] = true
			} else {
				hasUpper[u.col] = true
			}
		}
	}
	for i, u := range uses {
		st := stats[u.col]
		if !st.HasStats {
			return nil, fmt.Sprintf("$%d: pg_stats has no statistics for %s.%s (run ANALYZE)", u.param, u.col.Table, u.col.Column)
		}
		c := choice{use: u}
		var ok bool
		switch {
		case u.role.isRange():
			pair := hasLower[u.col] && hasUpper[u.col]
			generic := defaultIneqSel
			if pair {
				generic = defaultRangeSel
			}
			target := generic
			if u.col == adjCol && uses[adj].role.isRange() {
				target = min(generic*ratio, 1)
				c.adjusted = true
			}
			ok = rangeChoice(&c, st, target, pair)
		case u.role == roleEqual && i == adj:
			target := min(st.eqSel()*ratio, 1)
			ok = equalChoice(&c, st, target)
			c.adjusted = true
		case u.role == roleEqual:
			ok = equalChoice(&c, st, st.eqSel())
		default:
			ok = anyChoice(&c, st)
		}
		if !ok {
			return nil, fmt.Sprintf("$%d: pg_stats has no value of %s.%s to choose (no histogram or most common values)", u.param, u.col.Table, u.col.Column)
		}
		out[i] = c
	}
	return out, ""
}

// rangeChoice places a bound in the histogram so that the condition selects
// target of the rows: a lower bound that many rows from the top, an upper
// bound from the bottom; of a pair of bounds, the upper is the histogram's
// last and the lower that far below it (the most recent window).
func rangeChoice(c *choice, st columnStats, target float64, pair bool) bool {
	h := st.histShare()
	if len(st.Histogram) < 2 || h <= 0 {
		return false
	}
	var p float64 // position in the histogram, 0..1
	switch {
	case pair && c.use.role.lower():
		p = 1 - target/h
	case pair:
		p = 1
	case c.use.role.lower():
		p = 1 - target/h
	default:
		p = target / h
	}
	p = min(max(p, 0), 1)
	switch {
	case pair:
		c.fraction = min(target, h)
	case c.use.role.lower():
		c.fraction = (1 - p) * h
	default:
		c.fraction = p * h
	}
	b := len(st.Histogram) - 1
	x := p * float64(b)
	j := min(int(math.Floor(x)), b-1)
	frac := x - float64(j)
	c.source = "pg_stats histogram"
	switch {
	case frac < 1e-9:
		c.literal = st.Histogram[j]
	case frac > 1-1e-9:
		c.literal = st.Histogram[j+1]
	case interpolable[st.Type]:
		c.lo, c.hi, c.frac, c.interp = st.Histogram[j], st.Histogram[j+1], frac, true
	case frac < 0.5:
		c.literal = st.Histogram[j]
	default:
		c.literal = st.Histogram[j+1]
	}
	return true
}

// equalChoice picks the value whose estimated share of rows is closest to
// target: a most common value with its frequency, or a value of the
// histogram (not a most common one) with the share of every other value.
func equalChoice(c *choice, st columnStats, target float64) bool {
	best, bestDist := -1, math.Inf(1)
	dist := func(f float64) float64 { return math.Abs(math.Log(max(f, 1e-12) / max(target, 1e-12))) }
	for i, f := range st.MCF {
		if i < len(st.MCV) && dist(f) < bestDist {
			best, bestDist = i, dist(f)
		}
	}
	if nd := st.distinct(); len(st.Histogram) > 0 && nd > float64(len(st.MCV)) {
		other := st.histShare() / (nd - float64(len(st.MCV)))
		if dist(other) < bestDist {
			c.literal, c.fraction, c.source = st.Histogram[len(st.Histogram)/2], other, "pg_stats histogram"
			return true
		}
	}
	if best < 0 {
		return false
	}
	c.literal, c.fraction, c.source = st.MCV[best], st.MCF[best], "pg_stats most common values"
	return true
}

// anyChoice picks some value of the column (the most common, else the
// middle of the histogram), for a parameter that does not filter by range or
// equality.
func anyChoice(c *choice, st columnStats) bool {
	switch {
	case len(st.MCV) > 0:
		c.literal, c.source = st.MCV[0], "pg_stats most common values"
		if len(st.MCF) > 0 {
			c.fraction = st.MCF[0]
		}
	case len(st.Histogram) > 0:
		c.literal, c.source, c.fraction = st.Histogram[len(st.Histogram)/2], "pg_stats histogram", st.eqSel()
	default:
		return false
	}
	return true
}

// resultRows is the plan's estimate of the rows the statement returns or
// writes (the input of a ModifyTable), 0 when there is no plan.
func resultRows(p *explain.Plan) float64 {
	if p == nil || p.Plan == nil {
		return 0
	}
	n := p.Plan
	if n.NodeType == "ModifyTable" && len(n.Plans) > 0 {
		n = n.Plans[0]
	}
	return n.PlanRows
}

// misestimate is how far apart two row counts are, as a factor ≥ 1; both
// count as at least one row, as the planner's estimates do.
func misestimate(a, b float64) float64 {
	a, b = max(a, 1), max(b, 1)
	return max(a, b) / min(a, b)
}

// predicateText is the condition one $n was costed with, e.g.
// "created_at >= '2026-11-24 00:00:00+00'", the value hidden as <value>
// when it may be personal data.
func predicateText(c choice, value string, shown bool) string {
	v := "<value>"
	if shown {
		v = "'" + strings.ReplaceAll(value, "'", "''") + "'"
	}
	col := sqlfacts.QuoteIdent(c.use.col.Column)
	if c.use.role.since() {
		return col + " " + c.use.op + " now() - " + v + "::interval"
	}
	return col + " " + c.use.op + " " + v
}

// percent formats a fraction as a percentage with two significant digits
// below 10%.
func percent(f float64) string {
	switch {
	case f >= 0.1:
		return fmt.Sprintf("%.0f%%", f*100)
	case f >= 0.01:
		return fmt.Sprintf("%.1f%%", f*100)
	case f <= 0:
		return "0%"
	}
	return fmt.Sprintf("%.2g%%", f*100)
}

// rowsText formats a row count: whole rows from 10, two significant digits below.
func rowsText(r float64) string {
	if r >= 10 {
		return groupThousands(int64(math.Round(r)))
	}
	return fmt.Sprintf("%.2g", r)
}

func groupThousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + groupThousands(-n)
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// summary is the evidence sentence for the values chosen.
func summary(values []RepresentativeValue, adjusted []bool, rowsPerCall, genericRows, tableRows float64) string {
	var adj, typical []string
	frac, source := 0.0, ""
	for i, v := range values {
		if adjusted[i] {
			adj = append(adj, v.Predicate)
			if source == "" || v.Fraction < frac {
				frac, source = v.Fraction, v.Source
			}
		} else {
			typical = append(typical, v.Predicate)
		}
	}
	s := fmt.Sprintf("costed with %s (%s: %s of rows, matching %s rows per call) instead of the generic plan's %s rows",
		strings.Join(adj, " AND "), source, percent(frac), rowsText(rowsPerCall), rowsText(genericRows))
	if tableRows > 0 {
		s += " (" + percent(genericRows/tableRows) + ")"
	}
	if len(typical) > 0 {
		sort.Strings(typical)
		s += "; other parameters at typical values: " + strings.Join(typical, ", ")
	}
	return s
}
