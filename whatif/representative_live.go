package whatif

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// customize decides how statement in, whose generic plan is generic, is
// costed: when its estimate and the rows per call pg_stat_statements saw
// differ by Options.CustomPlanMisestimate or more, it chooses
// representative values (chooseValues), plans the statement for them and,
// when that estimate matches the observed rows, keeps the values for every
// later plan of the statement (e.values) and returns the custom plan. rep is
// nil when the estimates agree; rep.Skipped says why the generic plan was
// kept otherwise. Only catalog reads and EXPLAIN are sent: nothing runs the
// statement.
func (e *evaluator) customize(in Input, generic *explain.Plan) (rep *Representative, custom *explain.Plan) {
	// Rows 0 counts as not observed: an input built without pg_stat_statements' rows.
	if in.Calls <= 0 || in.Rows <= 0 || in.Facts == nil || generic == nil || generic.Plan == nil {
		return nil, nil
	}
	observed := float64(in.Rows) / float64(in.Calls)
	est := resultRows(generic)
	if misestimate(observed, est) < e.opts.CustomPlanMisestimate {
		return nil, nil
	}
	rep = &Representative{RowsPerCall: observed, GenericRows: est, GenericCost: generic.Plan.TotalCost}
	keep := func(why string) (*Representative, *explain.Plan) {
		rep.Skipped = why
		rep.Summary = fmt.Sprintf("costed with the generic plan, which estimates %s rows per call where pg_stat_statements saw %s: %s",
			rowsText(est), rowsText(observed), why)
		return rep, nil
	}
	f := in.Facts
	switch {
	case f.Limit != nil || f.Offset != nil:
		return keep("a LIMIT or OFFSET caps the rows per call, which then do not tell how many rows the filter selects")
	case f.Aggregates || f.Distinct:
		return keep("an aggregate, GROUP BY or DISTINCT: the rows per call are not the rows the filter selects")
	}
	uses, why := paramUses(f, max(f.Params, sqlfacts.MaxParam(in.Query)))
	if why != "" {
		return keep(why)
	}
	stats := map[sqlfacts.ColumnRef]columnStats{}
	for _, u := range uses {
		if _, ok := stats[u.col]; ok {
			continue
		}
		st, err := e.columnStats(u.col)
		if err != nil {
			return keep(fmt.Sprintf("reading pg_stats of %s.%s: %v", u.col.Table, u.col.Column, err))
		}
		stats[u.col] = st
	}
	choices, why := chooseValues(uses, stats, max(observed, 1)/max(est, 1))
	if why != "" {
		return keep(why)
	}
	values := make([]string, len(choices))
	adjusted := make([]bool, len(choices))
	rep.Values = make([]RepresentativeValue, len(choices))
	for i, c := range choices {
		st := stats[c.use.col]
		v, err := e.resolve(c, st)
		if err != nil {
			return keep(fmt.Sprintf("computing the value of $%d: %v", c.use.param, err))
		}
		values[i], adjusted[i] = v, c.adjusted
		rep.Values[i] = RepresentativeValue{Param: c.use.param, Predicate: predicateText(c, v, st.shown()), Source: c.source, Fraction: c.fraction}
		if !c.adjusted {
			rep.Values[i].Source = "typical value"
		}
		if c.adjusted && rep.TableRows == 0 {
			rep.TableRows = st.TableRows
		}
	}
	plan, err := e.probe(in, values)
	if err != nil {
		return keep("the custom plan with values from pg_stats failed: " + err.Error())
	}
	rep.CustomRows = resultRows(plan)
	if misestimate(observed, rep.CustomRows) >= e.opts.CustomPlanMisestimate {
		return keep(fmt.Sprintf("a custom plan for values from pg_stats estimates %s rows per call, no closer", rowsText(rep.CustomRows)))
	}
	e.values[in.QueryID] = values
	rep.Summary = summary(rep.Values, adjusted, observed, est, rep.TableRows)
	return rep, plan
}

// probe plans the statement for values once, to see whether the custom
// plan works and matches: a failure falls back to the generic plan, so it
// is not recorded as a failure of the audit (a lock timeout is: the guard
// then skips the table).
func (e *evaluator) probe(in Input, values []string) (*explain.Plan, error) {
	g := e.opts.Guard
	if g != nil {
		if rel := g.SkipStatement(e.ctx, e.conn, in.Facts); rel != "" {
			return nil, errors.New("skipped: " + rel + " is locked")
		}
	}
	r := explain.Run(e.ctx, e.conn, in.Query, in.Facts, explain.Options{ServerVersionNum: e.versionNum, TrustFunctions: e.opts.TrustFunctions, Values: values})
	e.res.PlannerCalls++
	if r.Error != "" {
		if g != nil && r.SQLState == "55P03" {
			g.Failed(e.ctx, e.conn, "what-if", in.QueryID, in.Facts, r)
		}
		return nil, errors.New(r.Error)
	}
	if r.Plan == nil || r.Plan.Plan == nil || r.Mode != explain.ModeCustom {
		return nil, fmt.Errorf("EXPLAIN returned no custom plan (mode %q)", r.Mode)
	}
	return r.Plan, nil
}

// columnStats reads pg_stats and the type of one column (one fixed text).
// Values are read only for built-in types: turning a value into text runs
// its type's output function.
func (e *evaluator) columnStats(col sqlfacts.ColumnRef) (columnStats, error) {
	rel := pgx.Identifier{col.Table}
	if col.Schema != "" {
		rel = pgx.Identifier{col.Schema, col.Table}
	}
	var st columnStats
	var nullFrac, nDistinct *float64
	err := e.conn.QueryRow(e.ctx, ownMarker+`SELECT n.nspname || '.' || c.relname, c.reltuples::float8, a.atttypid::regtype::text, t.typcategory::text,
  s.null_frac::float8, s.n_distinct::float8,
  CASE WHEN a.atttypid < 16384 THEN s.most_common_vals::text::text[] END, s.most_common_freqs::float8[],
  CASE WHEN a.atttypid < 16384 THEN s.histogram_bounds::text::text[] END
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attname = $2 AND NOT a.attisdropped
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname
WHERE c.oid = pg_catalog.to_regclass($1)
ORDER BY s.inherited DESC NULLS LAST LIMIT 1`, rel.Sanitize(), col.Column).Scan(
		&st.Relation, &st.TableRows, &st.Type, &st.Category, &nullFrac, &nDistinct, &st.MCV, &st.MCF, &st.Histogram)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, nil // not a table's column (a view's): no statistics
	}
	if err != nil {
		return st, err
	}
	if nullFrac != nil && nDistinct != nil {
		st.HasStats, st.NullFrac, st.NDistinct = true, *nullFrac, *nDistinct
	}
	return st, nil
}

// resolve turns a choice into the text of the value: a literal as it is; a
// point between two histogram bounds computed by the server in the
// column's type; for now() - $n the interval from that point to now,
// whole seconds.
func (e *evaluator) resolve(c choice, st columnStats) (string, error) {
	v := c.literal
	if c.interp {
		q := ownMarker + "SELECT ((($1::" + st.Type + " + ($2::" + st.Type + " - $1::" + st.Type + ") * $3::float8))::" + st.Type + ")::text"
		if st.Type == "date" {
			q = ownMarker + "SELECT ($1::date + pg_catalog.round(($2::date - $1::date) * $3::float8)::int)::text"
		}
		if err := e.conn.QueryRow(e.ctx, q, c.lo, c.hi, c.frac).Scan(&v); err != nil {
			return "", err
		}
	}
	if c.use.role.since() {
		if err := e.conn.QueryRow(e.ctx, ownMarker+"SELECT pg_catalog.date_trunc('second', pg_catalog.now() - $1::timestamptz)::text", v).Scan(&v); err != nil {
			return "", err
		}
	}
	return v, nil
}
