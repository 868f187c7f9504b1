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
	}
}
