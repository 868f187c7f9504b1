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
	// MaxNewIndexes caps the indexes missing-index recommends (0: no cap).
	MaxNewIndexes int `json:"max_new_indexes"`
	// StorageBudgetBytes caps their summed estimated size, bytes (0: no cap).
	StorageBudgetBytes int64 `json:"storage_budget_bytes"`

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
	// OffsetMinBuffers and OffsetBuffersPerRow: a statement with OFFSET $n
	// (value unknown) that touches at least OffsetMinBuffers shared buffers per
	// call and OffsetBuffersPerRow per row returned is reading deep pages.
	OffsetMinBuffers    float64 `json:"offset_min_buffers"`
	OffsetBuffersPerRow float64 `json:"offset_buffers_per_row"`
	// MinHeapFetches: an index-only scan must fetch at least this many heap tuples…
	MinHeapFetches float64 `json:"min_heap_fetches"`
	// HeapFetchFraction: …and at least this fraction of the rows it returns.
	HeapFetchFraction float64 `json:"heap_fetch_fraction"`
	// JITShare: JIT compilation takes at least this fraction of execution time.
	JITShare float64 `json:"jit_share"`

	// NPlusOneMinCalls: a child lookup must run at least this many times (n-plus-one).
	NPlusOneMinCalls int64 `json:"n_plus_one_min_calls"`
	// NPlusOneMaxRowsPerCall: a child lookup returns at most this many rows per call (n-plus-one).
	NPlusOneMaxRowsPerCall float64 `json:"n_plus_one_max_rows_per_call"`
	// NPlusOneMinRatio, NPlusOneMaxRatio: child calls / parent rows must lie
	// between them for the parent to be the one feeding the child (n-plus-one).
	NPlusOneMinRatio float64 `json:"n_plus_one_min_ratio"`
	NPlusOneMaxRatio float64 `json:"n_plus_one_max_ratio"`
	// NPlusOneLogMinRepeats: consecutive repeats after a parent in one session (statement log).
	NPlusOneLogMinRepeats int `json:"n_plus_one_log_min_repeats"`
	// NPlusOneLogMinMS: time of such a run, milliseconds (statement log).
	NPlusOneLogMinMS float64 `json:"n_plus_one_log_min_ms"`

	// UnbatchedMinCalls: a single-row write must run at least this many times (unbatched-writes).
	UnbatchedMinCalls int64 `json:"unbatched_min_calls"`

	// UnboundedMinRowsPerCall: rows per call from which a result is unbounded (unbounded-result).
	UnboundedMinRowsPerCall float64 `json:"unbounded_min_rows_per_call"`
	// UnboundedMinCalls: calls an unbounded statement needs to matter (unbounded-result).
	UnboundedMinCalls int64 `json:"unbounded_min_calls"`
	// WideRowBytes: average row width, bytes, from which SELECT * ships wide rows (unbounded-result).
	WideRowBytes int `json:"wide_row_bytes"`
	// WideRowMinCalls: calls that make a SELECT * of wide rows a hot path (unbounded-result).
	WideRowMinCalls int64 `json:"wide_row_min_calls"`

	// PoolWarnFraction, PoolErrorFraction: peak connections as a fraction of
	// the usable slots (max_connections minus reserved) (pool-exhaustion).
	PoolWarnFraction  float64 `json:"pool_warn_fraction"`
	PoolErrorFraction float64 `json:"pool_error_fraction"`
	// IdleInTxWarnSeconds, IdleInTxErrorSeconds: how long a session may sit
	// idle in transaction before it warns, or is an error, seconds (pool-exhaustion).
	IdleInTxWarnSeconds  float64 `json:"idle_in_tx_warn_seconds"`
	IdleInTxErrorSeconds float64 `json:"idle_in_tx_error_seconds"`
	// IdleInTxErrorCount: this many sessions of one application and user idle in
	// transaction (past the warn age) is an error (pool-exhaustion).
	IdleInTxErrorCount int `json:"idle_in_tx_error_count"`
	// LockWaitSeconds: a session waiting on a lock this long is reported, seconds (pool-exhaustion).
	LockWaitSeconds float64 `json:"lock_wait_seconds"`
	// ChurnBackendSeconds: a backend younger than this is a new connection, seconds (pool-exhaustion).
	ChurnBackendSeconds float64 `json:"churn_backend_seconds"`
	// ChurnMinBackends, ChurnMinFraction: that many new connections, and at
	// least that fraction of the sessions seen, is connection churn (pool-exhaustion).
	ChurnMinBackends int     `json:"churn_min_backends"`
	ChurnMinFraction float64 `json:"churn_min_fraction"`

	// ContentionMinShare: a statement's lock-wait samples on one table, as a
	// fraction of all active session samples of the window (lock-contention).
	ContentionMinShare float64 `json:"contention_min_share"`
	// ContentionMinSamples: lock-wait samples a finding needs at least, so that
	// a brief queue in a short window is not one (lock-contention).
	ContentionMinSamples int64 `json:"contention_min_samples"`
	// ContentionErrorShare: that fraction of all active samples waiting is an error (lock-contention).
	ContentionErrorShare float64 `json:"contention_error_share"`

	// DenormMinShare: a read's share of total time from which it is hot (denormalization).
	DenormMinShare float64 `json:"denorm_min_share"`
	// DenormMinCalls: calls that make a read a hot path (denormalization).
	DenormMinCalls int64 `json:"denorm_min_calls"`
	// DenormMinCallShare: a read's share of all calls from which a multi-join read is hot (denormalization).
	DenormMinCallShare float64 `json:"denorm_min_call_share"`
	// DenormHotShare: share from which the finding is a warning, not a notice (denormalization).
	DenormHotShare float64 `json:"denorm_hot_share"`
	// DenormMaxWriteRatio: rows written / rows read of a table, at most, for it to be read-mostly (denormalization).
	DenormMaxWriteRatio float64 `json:"denorm_max_write_ratio"`

	// Policy is applied to the findings after the rules (never read by a rule).
	Policy Policy `json:"-"`
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
		MaxNewIndexes:    10,

		PlanErrorShare:      0.1,
		MaxWorkMemMB:        1024,
		SubPlanMinLoops:     100,
		MisestimateFactor:   100,
		MisestimateMinRows:  1000,
		StaleStatsFraction:  0.1,
		LargeOffset:         1000,
		OffsetMinBuffers:    100,
		OffsetBuffersPerRow: 5,
		MinHeapFetches:      1000,
		HeapFetchFraction:   0.1,
		JITShare:            0.5,

		NPlusOneMinCalls:       300,
		NPlusOneMaxRowsPerCall: 50,
		NPlusOneMinRatio:       0.5,
		NPlusOneMaxRatio:       2,
		NPlusOneLogMinRepeats:  5,
		NPlusOneLogMinMS:       50,

		UnbatchedMinCalls: 1000,

		UnboundedMinRowsPerCall: 1000,
		UnboundedMinCalls:       5,
		WideRowBytes:            500,
		WideRowMinCalls:         1000,

		PoolWarnFraction:     0.8,
		PoolErrorFraction:    0.95,
		IdleInTxWarnSeconds:  1,
		IdleInTxErrorSeconds: 60,
		IdleInTxErrorCount:   3,
		LockWaitSeconds:      1,
		ChurnBackendSeconds:  1,
		ChurnMinBackends:     5,
		ChurnMinFraction:     0.25,

		ContentionMinShare:   0.05,
		ContentionMinSamples: 10,
		ContentionErrorShare: 0.5,

		DenormMinShare:      0.05,
		DenormMinCalls:      100,
		DenormMinCallShare:  0.05,
		DenormHotShare:      0.2,
		DenormMaxWriteRatio: 0.01,
	}
}
