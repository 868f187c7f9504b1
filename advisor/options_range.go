package advisor

import (
	"errors"
	"fmt"
	"strconv"
)

// Range is the allowed values of one threshold of Options.
type Range struct {
	Min, Max float64
	// MinOpen and MaxOpen exclude Min and Max themselves (a fraction that must be above 0).
	MinOpen, MaxOpen bool
	// What the number is, for messages: "a fraction", "a count", ...
	What string
}

// maxThreshold bounds every threshold from above: 2^53, beyond which a
// float64 loses integers and a conversion to int64 can overflow.
const maxThreshold = 1 << 53

// maxSeconds is PostgreSQL's largest timeout (INT_MAX milliseconds) in
// seconds: idle_in_tx_error_seconds goes into an ALTER SYSTEM SET
// idle_in_transaction_session_timeout fix.
const maxSeconds = 2147483

var (
	fraction     = Range{Min: 0, Max: 1, What: "a fraction"}
	openFraction = Range{Min: 0, Max: 1, MinOpen: true, What: "a fraction"}
	nonNegative  = Range{Min: 0, Max: maxThreshold, What: "a number"}
	ratio        = Range{Min: 0, Max: maxThreshold, What: "a ratio"}
	atLeastOne   = Range{Min: 1, Max: maxThreshold, What: "a count"}
	factor       = Range{Min: 1, Max: maxThreshold, What: "a factor"}
	positive     = Range{Min: 0, Max: maxThreshold, MinOpen: true, What: "a number"}
	seconds      = Range{Min: 0, Max: maxSeconds, What: "seconds"}
	// capOrZero is a cap where 0 means no cap.
	capOrZero = Range{Min: 0, Max: maxThreshold, What: "a cap (0: none)"}
)

// thresholdRanges are the allowed values of every threshold, by JSON key
// (thresholds that share a key share its range).
// TestEveryThresholdHasARange keeps it complete.
var thresholdRanges = map[string]Range{
	"min_calls":        {Min: 0, Max: maxThreshold, What: "a count"},
	"min_share":        fraction,
	"min_total_ms":     nonNegative,
	"large_table_rows": nonNegative,
	"seq_scan_discard": fraction,

	"min_cost_reduction":   {Min: 0, Max: 1, MinOpen: true, MaxOpen: true, What: "a fraction"},
	"min_cost_saved":       positive,
	"max_new_indexes":      capOrZero,
	"storage_budget_bytes": capOrZero,
	"min_table_rows":       atLeastOne,
	"min_table_bytes":      atLeastOne,
	"min_rows_to_extend":   positive,
	"write_heavy_share":    openFraction,
	"max_candidates":       atLeastOne,

	"partial_max_fraction":     openFraction,
	"bulk_read_fraction":       openFraction,
	"covering_max_columns":     atLeastOne,
	"covering_max_width":       atLeastOne,
	"covering_min_all_visible": openFraction,
	"custom_plan_misestimate":  {Min: 1, Max: maxThreshold, MinOpen: true, What: "a factor"},

	"plan_error_share":       fraction,
	"max_work_mem_mb":        positive,
	"subplan_min_loops":      atLeastOne,
	"misestimate_factor":     factor,
	"misestimate_min_rows":   nonNegative,
	"stale_stats_fraction":   ratio, // rows modified since ANALYZE / rows: may exceed 1
	"large_offset":           atLeastOne,
	"offset_min_buffers":     nonNegative,
	"offset_buffers_per_row": nonNegative,
	"min_heap_fetches":       nonNegative,
	"heap_fetch_fraction":    ratio, // heap fetches / rows returned: may exceed 1
	"jit_share":              fraction,

	"n_plus_one_min_calls":         atLeastOne,
	"n_plus_one_few_calls":         atLeastOne,
	"n_plus_one_few_calls_share":   fraction,
	"n_plus_one_max_rows_per_call": nonNegative,
	"n_plus_one_min_ratio":         ratio,
	"n_plus_one_max_ratio":         ratio,
	"n_plus_one_log_min_repeats":   atLeastOne,
	"n_plus_one_log_min_ms":        nonNegative,

	"unbatched_min_calls":          atLeastOne,
	"unbatched_min_calls_per_xact": ratio,
	"unbatched_min_share":          fraction,
	"unbatched_error_share":        fraction,
	"unbatched_reset_skew_seconds": nonNegative,
	"unbatched_log_min_repeats":    {Min: 2, Max: maxThreshold, What: "a count"},

	"unbounded_min_rows_per_call": nonNegative,
	"unbounded_min_calls":         atLeastOne,
	"wide_row_bytes":              atLeastOne,
	"wide_row_min_calls":          atLeastOne,

	"pool_warn_fraction":       openFraction,
	"pool_error_fraction":      openFraction,
	"idle_in_tx_warn_seconds":  seconds,
	"idle_in_tx_error_seconds": seconds,
	"idle_in_tx_error_count":   atLeastOne,
	"lock_wait_seconds":        seconds,
	"churn_backend_seconds":    seconds,
	"churn_min_backends":       atLeastOne,
	"churn_min_fraction":       fraction,

	"contention_min_share":   fraction,
	"contention_min_samples": atLeastOne,
	"contention_error_share": openFraction,

	"denorm_min_share":       fraction,
	"denorm_few_calls":       atLeastOne,
	"denorm_min_calls":       atLeastOne,
	"denorm_min_call_share":  fraction,
	"denorm_hot_share":       fraction,
	"denorm_max_write_ratio": ratio,

	"regression_ratio":     positive,
	"regression_floor_ms":  nonNegative,
	"regression_sigma":     nonNegative,
	"regression_min_calls": atLeastOne,
	"new_min_share":        fraction,
	"new_min_total_ms":     nonNegative,
}

// ThresholdRange returns the allowed values of the threshold with that JSON key.
func ThresholdRange(key string) (Range, bool) {
	r, ok := thresholdRanges[key]
	return r, ok
}

// String says the range in words, e.g. "a fraction from 0 to 1".
func (r Range) String() string {
	lo := "from " + formatThreshold(r.Min)
	if r.MinOpen {
		lo = "above " + formatThreshold(r.Min)
	}
	hi := "to " + formatThreshold(r.Max)
	if r.Max == maxThreshold {
		hi = "to 2^53"
	}
	if r.MaxOpen {
		hi = "and below " + formatThreshold(r.Max)
	}
	return fmt.Sprintf("%s %s %s", r.What, lo, hi)
}

func (r Range) contains(v float64) bool {
	if v != v || v > r.Max || v < r.Min {
		return false
	}
	return !(r.MinOpen && v == r.Min) && !(r.MaxOpen && v == r.Max)
}

func formatThreshold(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// ThresholdError is a threshold outside its Range (or inconsistent with
// another one).
type ThresholdError struct {
	Key   string  // JSON key, as in --thresholds files
	Path  string  // where it is set in .pgadvisor.yaml (Threshold.Path)
	Value float64 // the value given
	Range Range
	// Detail replaces the range in the message when set (a relation between two thresholds).
	Detail string
	// Other is the path of the other threshold of such a relation.
	Other string
}

func (e *ThresholdError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s = %s %s", e.Key, formatThreshold(e.Value), e.Detail)
	}
	return fmt.Sprintf("%s = %s is out of range: %s", e.Key, formatThreshold(e.Value), e.Range)
}

// orderedThresholds are the pairs of thresholds (by path) whose first must
// not be above the second: a maximum not below its minimum, an error level
// not below its warning level.
var orderedThresholds = [][2]string{
	{"rules.n-plus-one.thresholds.n_plus_one_min_ratio", "rules.n-plus-one.thresholds.n_plus_one_max_ratio"},
	{"rules.pool-exhaustion.thresholds.pool_warn_fraction", "rules.pool-exhaustion.thresholds.pool_error_fraction"},
	{"rules.pool-exhaustion.thresholds.idle_in_tx_warn_seconds", "rules.pool-exhaustion.thresholds.idle_in_tx_error_seconds"},
}

// Validate checks every threshold against its range, and the pairs that
// must be ordered. The error joins one *ThresholdError per threshold in
// error, in the order of Thresholds.
func (o Options) Validate() error {
	var errs []error
	byPath := map[string]Threshold{}
	for _, t := range Thresholds() {
		byPath[t.Path()] = t
		if v := t.Get(o); !t.Range.contains(v) {
			errs = append(errs, &ThresholdError{Key: t.Flat, Path: t.Path(), Value: v, Range: t.Range})
		}
	}
	for _, pair := range orderedThresholds {
		lo, hi := byPath[pair[0]], byPath[pair[1]]
		if lv, hv := lo.Get(o), hi.Get(o); lv > hv {
			errs = append(errs, &ThresholdError{Key: hi.Flat, Path: hi.Path(), Value: hv, Range: hi.Range, Other: lo.Path(),
				Detail: fmt.Sprintf("is below %s = %s: it must be at least that", lo.Flat, formatThreshold(lv))})
		}
	}
	return errors.Join(errs...)
}
