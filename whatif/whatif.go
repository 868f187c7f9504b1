// Package whatif owns the index advisor: index candidates from the workload's
// statement facts (Candidates, pure), their verification with HypoPG
// hypothetical indexes on a live session (Evaluate), the workload-level choice
// of the smallest set of indexes worth creating (Select, pure, re-runnable
// offline from a recorded Result), and the optional real measurement on a
// staging database (Verify).
//
// The flow is:
//
//	cands := whatif.Candidates(snap, inputs, opts)            // pure
//	res, err := whatif.Evaluate(ctx, conn, snap, inputs, cands, opts)   // live, HypoPG
//	snap.WhatIf = res                                          // recorded for offline runs (a record.Result)
//	recs := whatif.Select(snap, inputs, res, opts)             // pure
//
// Candidates, per statement and table: the equality columns first (the most
// selective first by pg_stats n_distinct; join columns of the table count as
// equality columns, as the inner side of a nested loop looks them up), then at
// most one range column, then the ORDER BY columns with their directions as
// written when they all belong to that table and can follow the equality
// columns. A function-wrapped column becomes an expression key; LIKE/ILIKE
// with a leading wildcard becomes a pg_trgm GIN index. Views and
// non-materialised CTEs resolve to their base tables; MATERIALIZED CTEs fence
// (predicates written outside them never reach their base tables); a
// partition resolves to its partitioned parent. Never on system catalogs,
// information_schema, foreign tables, tables smaller than MinTableRows (or,
// when the table was never analysed, smaller than MinTableBytes), nor what an
// existing valid, non-partial index of the same method already covers.
// Candidates whose keys a bigger candidate on the same table starts with are
// merged into it, so that one composite serves both statements. Two
// alternatives are added where they may pay (partial.go): a partial index
// WHERE a constant predicate of the statement that selects few rows
// (Options.PartialMaxFraction), and a covering variant of a candidate that
// INCLUDEs the few narrow columns its statements read besides the keys; the
// what-if costs them like the rest, and Select keeps at most one of a plain
// candidate and its covering variant.
//
// Evaluate never writes: HypoPG indexes live in the session only, and it runs
// CREATE EXTENSION hypopg only when Options.InstallHypoPG is set. Verify
// builds indexes for real (inside a transaction that is rolled back) and is
// meant for staging, behind an explicit flag.
//
// This package must not import advisor: the advisor converts its statements
// (model.Statement) to Input.
package whatif

import (
	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// ownMarker starts every statement whatif sends, so that pgadvisor never
// reports its own statements (the same text as model.OwnMarker).
const ownMarker = explain.Marker

// Input is one workload statement.
type Input struct {
	QueryID string  `json:"queryid"` // pg_stat_statements queryid, decimal
	Query   string  `json:"query"`
	Calls   int64   `json:"calls"`
	TotalMS float64 `json:"total_ms"` // total execution time, milliseconds
	MeanMS  float64 `json:"mean_ms"`  // mean execution time, milliseconds
	// Rows is the rows returned or affected over all calls (pg_stat_statements rows).
	Rows int64 `json:"rows"`
	// Facts is nil when the text did not parse; such statements get no candidates.
	Facts *sqlfacts.Facts `json:"-"`
	// Plan is the recorded plan, nil when the statement was not explained.
	Plan *explain.Plan `json:"-"`
}

// weight is the time a statement costs the workload, milliseconds; a
// statement without recorded time (pgadvisor explain) weighs one call.
func (in Input) weight() float64 {
	switch {
	case in.TotalMS > 0:
		return in.TotalMS
	case in.Calls > 0 && in.MeanMS > 0:
		return float64(in.Calls) * in.MeanMS
	}
	return 1
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{
		MinCostReduction: 0.5,
		MinCostSaved:     100,
		MaxNewIndexes:    10,
		MinTableRows:     10000,
		MinTableBytes:    1 << 20,
		MinRowsToExtend:  1000,
		BatchSize:        50,
		MaxCandidates:    200,
		WriteHeavyShare:  0.5,

		PartialMaxFraction:    0.1,
		BulkReadFraction:      0.5,
		CoveringMaxColumns:    3,
		CoveringMaxWidth:      64,
		CoveringMinAllVisible: 0.8,
		CustomPlanMisestimate: 10,
	}
}

func withDefaults(o Options) Options {
	d := DefaultOptions()
	if o.MinCostReduction <= 0 || o.MinCostReduction >= 1 {
		o.MinCostReduction = d.MinCostReduction
	}
	if o.MinCostSaved <= 0 {
		o.MinCostSaved = d.MinCostSaved
	}
	if o.MinTableRows <= 0 {
		o.MinTableRows = d.MinTableRows
	}
	if o.MinTableBytes <= 0 {
		o.MinTableBytes = d.MinTableBytes
	}
	if o.MinRowsToExtend <= 0 {
		o.MinRowsToExtend = d.MinRowsToExtend
	}
	if o.BatchSize <= 0 {
		o.BatchSize = d.BatchSize
	}
	if o.MaxCandidates <= 0 {
		o.MaxCandidates = d.MaxCandidates
	}
	if o.CustomPlanMisestimate <= 1 {
		o.CustomPlanMisestimate = d.CustomPlanMisestimate
	}
	if o.WriteHeavyShare <= 0 {
		o.WriteHeavyShare = d.WriteHeavyShare
	}
	if o.BulkReadFraction <= 0 || o.BulkReadFraction > 1 {
		o.BulkReadFraction = d.BulkReadFraction
	}
	if o.PartialMaxFraction <= 0 || o.PartialMaxFraction > 1 {
		o.PartialMaxFraction = d.PartialMaxFraction
	}
	if o.CoveringMaxColumns <= 0 {
		o.CoveringMaxColumns = d.CoveringMaxColumns
	}
	if o.CoveringMaxWidth <= 0 {
		o.CoveringMaxWidth = d.CoveringMaxWidth
	}
	if o.CoveringMinAllVisible <= 0 || o.CoveringMinAllVisible > 1 {
		o.CoveringMinAllVisible = d.CoveringMinAllVisible
	}
	return o
}
