package advisor

// Options are the thresholds rules use. DefaultOptions documents the defaults;
// every rule names the ones it reads in its Thresholds.
type Options struct {
	// MinCalls: statements called fewer times are not findings of statement rules.
	MinCalls int64 `json:"min_calls"`
	// MinShare: statements costing less than this fraction of total time are not
	// findings of plan and what-if rules (a rule may lower it when calls are many).
	MinShare float64 `json:"min_share"`
	// MinTotalMS: statements that cost less time than this in all are ignored, milliseconds.
	MinTotalMS float64 `json:"min_total_ms"`
	// LargeTableRows: tables with fewer rows are too small for a scan to matter.
	LargeTableRows float64 `json:"large_table_rows"`
	// SeqScanDiscard: a sequential scan must discard at least this fraction of what it reads.
	SeqScanDiscard float64 `json:"seq_scan_discard"`
	// MinCostReduction: a candidate index must cut the planner's cost by this fraction.
	MinCostReduction float64 `json:"min_cost_reduction"`

	// PlanErrorShare: a plan or SQL finding about a large problem is an error
	// when its statement costs at least this fraction of total time.
	PlanErrorShare float64 `json:"plan_error_share"`
	// MaxWorkMemMB: the largest work_mem the spill rules recommend, megabytes;
	// a bigger spill is fixed by processing fewer rows instead.
	MaxWorkMemMB float64 `json:"max_work_mem_mb"`
	// SubPlanMinLoops: a SubPlan run at least this many times (or under a node
	// estimated to produce that many rows) is a correlated subquery to rewrite.
	SubPlanMinLoops float64 `json:"subplan_min_loops"`
	// MisestimateFactor: actual and estimated rows of a node differ by at least this factor, either way.
	MisestimateFactor float64 `json:"misestimate_factor"`
	// MisestimateMinRows: the larger of estimated and actual rows (all loops) is at least this.
	MisestimateMinRows float64 `json:"misestimate_min_rows"`
	// StaleStatsFraction: a table's statistics are stale when the rows modified
	// since its last ANALYZE are at least this fraction of its rows.
	StaleStatsFraction float64 `json:"stale_stats_fraction"`
	// LargeOffset: an OFFSET, or rows discarded below a Limit, of at least this many rows.
	LargeOffset int64 `json:"large_offset"`
	// MinHeapFetches: an index-only scan must fetch at least this many heap tuples…
	MinHeapFetches float64 `json:"min_heap_fetches"`
	// HeapFetchFraction: …and at least this fraction of the rows it returns.
	HeapFetchFraction float64 `json:"heap_fetch_fraction"`
	// JITShare: JIT compilation takes at least this fraction of execution time.
	JITShare float64 `json:"jit_share"`
}

// DefaultOptions returns the default thresholds.
func DefaultOptions() Options {
	return Options{
		MinCalls:         1,
		MinShare:         0.001,
		MinTotalMS:       10,
		LargeTableRows:   10000,
		SeqScanDiscard:   0.9,
		MinCostReduction: 0.5,

		PlanErrorShare:     0.1,
		MaxWorkMemMB:       1024,
		SubPlanMinLoops:    100,
		MisestimateFactor:  100,
		MisestimateMinRows: 1000,
		StaleStatsFraction: 0.1,
		LargeOffset:        1000,
		MinHeapFetches:     1000,
		HeapFetchFraction:  0.1,
		JITShare:           0.5,
	}
}
