package advisor

import "github.com/pgadvisor/pgadvisor/whatif"

// Options are what the rules read: the thresholds shared by every rule
// (Common, embedded), the what-if engine's options, one thresholds struct per
// rule that has its own (declared in the rule's file, next to the rule), and
// the Policy the findings pipeline applies after the rules.
//
// Every threshold field carries a json tag (its key, in a section of
// .pgadvisor.yaml and in a flat --thresholds file), a doc tag (one line, with
// the unit) and a range in thresholdRanges. The section tag of an Options
// field names where its struct lives in .pgadvisor.yaml: "thresholds" (the
// top level), "what_if", or a rule id (rules.<id>.thresholds). The Thresholds
// text of a rule (pgadvisor rules -v, docs/rules.md) is generated from these
// tags and DefaultOptions, so doc and code cannot disagree.
type Options struct {
	Common `section:"thresholds"`
	// WhatIf is the one source of the what-if index engine's options: the
	// live evaluation, the offline re-run and every rule that proposes an
	// index read them through WhatIfOptions.
	WhatIf WhatIfThresholds `section:"what_if"`

	SeqScan            SeqScanThresholds            `section:"seq-scan"`
	FKMissingIndex     FKMissingIndexThresholds     `section:"fk-missing-index"`
	NonSargable        NonSargableThresholds        `section:"non-sargable"`
	LeadingWildcard    LeadingWildcardThresholds    `section:"leading-wildcard"`
	CorrelatedSubquery CorrelatedSubqueryThresholds `section:"correlated-subquery"`
	RowMisestimate     RowMisestimateThresholds     `section:"row-misestimate"`
	LargeOffset        LargeOffsetThresholds        `section:"large-offset"`
	HeapFetches        HeapFetchesThresholds        `section:"index-only-heap-fetches"`
	JIT                JITThresholds                `section:"jit-dominates"`
	NPlusOne           NPlusOneThresholds           `section:"n-plus-one"`
	UnbatchedWrites    UnbatchedWritesThresholds    `section:"unbatched-writes"`
	UnboundedResult    UnboundedResultThresholds    `section:"unbounded-result"`
	PoolExhaustion     PoolExhaustionThresholds     `section:"pool-exhaustion"`
	LockContention     LockContentionThresholds     `section:"lock-contention"`
	Denormalization    DenormalizationThresholds    `section:"denormalization"`

	// Report holds the verdict thresholds of pgadvisor report; no rule reads them.
	Report ReportThresholds `section:"report"`

	// Policy is applied to the findings after the rules (never read by a rule).
	Policy Policy `json:"-" section:"-"`
}

// Common are the thresholds every statement rule shares: which statements
// cost enough to be findings, and how their severity is graded.
type Common struct {
	MinCalls       int64   `json:"min_calls" doc:"statements called fewer times are not findings of statement rules"`
	MinShare       float64 `json:"min_share" doc:"statements costing less than this fraction of total time are not findings of the plan, what-if and n-plus-one rules"`
	MinTotalMS     float64 `json:"min_total_ms" doc:"statements that cost less time than this in all are ignored, milliseconds, unless they cost plan_error_share of the period (a short sample is a normal input)"`
	PlanErrorShare float64 `json:"plan_error_share" doc:"a finding about a large problem is an error when its statement costs at least this fraction of total time"`
	MaxWorkMemMB   float64 `json:"max_work_mem_mb" doc:"the largest work_mem the spill rules recommend, megabytes; a bigger spill is fixed by processing fewer rows"`
}

// WhatIfThresholds are the what-if index engine's options that a user sets;
// WhatIfOptions turns them into whatif.Options.
type WhatIfThresholds struct {
	MinCostReduction   float64 `json:"min_cost_reduction" doc:"a candidate index must cut a statement's planner cost by this fraction"`
	MinCostSaved       float64 `json:"min_cost_saved" doc:"a candidate index must also save at least this many planner cost units"`
	MaxNewIndexes      int     `json:"max_new_indexes" doc:"recommend at most this many new indexes (0: no cap)"`
	StorageBudgetBytes int64   `json:"storage_budget_bytes" yaml:"storage_budget" size:"bytes" doc:"cap on the summed estimated size of the recommended indexes, bytes, or a size such as 2GB (0: no cap)"`
	MinTableRows       float64 `json:"min_table_rows" doc:"tables with fewer rows (the larger of reltuples and n_live_tup, a partitioned table's summed over its partitions) get no index"`
	MinTableBytes      int64   `json:"min_table_bytes" doc:"a table never analysed gets no index below this size, bytes"`
	MinRowsToExtend    float64 `json:"min_rows_to_extend" doc:"an index only adding ORDER BY or range keys to an existing one needs this many rows per equality match"`
	WriteHeavyShare    float64 `json:"write_heavy_share" doc:"a table whose rows written are this fraction of rows written plus read is write-heavy: a new index's write cost is subtracted from its benefit"`
	MaxCandidates      int     `json:"max_candidates" doc:"candidates evaluated with HypoPG at most, the heaviest statements' first"`
	// PartialMaxFraction and the Covering thresholds shape the partial and
	// covering candidates (README: Partial and covering indexes).
	PartialMaxFraction    float64 `json:"partial_max_fraction" doc:"a constant predicate (IS NULL, = 'value', a boolean column) selecting at most this fraction of its table's rows (pg_stats) yields a partial-index candidate WHERE that predicate"`
	BulkReadFraction      float64 `json:"bulk_read_fraction" doc:"a SELECT of one table returning at least this fraction of its rows per call (pg_stat_statements rows / calls) gets no index candidate: an index only changes the order it reads them in (unbounded-result advises on it)"`
	CoveringMaxColumns    int     `json:"covering_max_columns" doc:"a covering candidate INCLUDEs at most this many columns (those a statement reads besides the keys)"`
	CoveringMaxWidth      int     `json:"covering_max_width" doc:"the INCLUDE columns of a covering candidate are at most this wide in all (pg_stats avg_width), bytes"`
	CoveringMinAllVisible float64 `json:"covering_min_all_visible" doc:"a covering candidate needs this fraction of its table's pages all-visible (relallvisible / relpages): else an index-only scan still reads the heap"`
	// CustomPlanMisestimate is whatif.Options.CustomPlanMisestimate.
	CustomPlanMisestimate float64 `json:"custom_plan_misestimate" doc:"when a statement's generic plan estimates its rows this many times more (or fewer) than the rows per call pg_stat_statements saw, it is costed with a custom plan for representative values from pg_stats"`
}

// whatIfDefaults are the what-if engine's own defaults (whatif.DefaultOptions).
func whatIfDefaults() WhatIfThresholds {
	d := whatif.DefaultOptions()
	return WhatIfThresholds{
		MinCostReduction:   d.MinCostReduction,
		MinCostSaved:       d.MinCostSaved,
		MaxNewIndexes:      d.MaxNewIndexes,
		StorageBudgetBytes: d.StorageBudgetBytes,
		MinTableRows:       d.MinTableRows,
		MinTableBytes:      d.MinTableBytes,
		MinRowsToExtend:    d.MinRowsToExtend,
		WriteHeavyShare:    d.WriteHeavyShare,
		MaxCandidates:      d.MaxCandidates,

		PartialMaxFraction:    d.PartialMaxFraction,
		BulkReadFraction:      d.BulkReadFraction,
		CoveringMaxColumns:    d.CoveringMaxColumns,
		CoveringMaxWidth:      d.CoveringMaxWidth,
		CoveringMinAllVisible: d.CoveringMinAllVisible,
		CustomPlanMisestimate: d.CustomPlanMisestimate,
	}
}

// DefaultOptions returns the default thresholds.
func DefaultOptions() Options {
	return Options{
		Common: Common{
			MinCalls:       1,
			MinShare:       0.001,
			MinTotalMS:     10,
			PlanErrorShare: 0.1,
			MaxWorkMemMB:   1024,
		},
		WhatIf:             whatIfDefaults(),
		Report:             defaultReport,
		SeqScan:            defaultSeqScan,
		FKMissingIndex:     defaultFKMissingIndex,
		NonSargable:        defaultNonSargable,
		LeadingWildcard:    defaultLeadingWildcard,
		CorrelatedSubquery: defaultCorrelatedSubquery,
		RowMisestimate:     defaultRowMisestimate,
		LargeOffset:        defaultLargeOffset,
		HeapFetches:        defaultHeapFetches,
		JIT:                defaultJIT,
		NPlusOne:           defaultNPlusOne,
		UnbatchedWrites:    defaultUnbatchedWrites,
		UnboundedResult:    defaultUnboundedResult,
		PoolExhaustion:     defaultPoolExhaustion,
		LockContention:     defaultLockContention,
		Denormalization:    defaultDenormalization,
	}
}
