package advisor

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
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

// thresholdRanges are the allowed values of every threshold, by JSON key.
// TestEveryThresholdHasARange keeps it complete.
var thresholdRanges = map[string]Range{
	"min_calls":            {Min: 0, Max: maxThreshold, What: "a count"},
	"min_share":            fraction,
	"min_total_ms":         nonNegative,
	"large_table_rows":     nonNegative,
	"seq_scan_discard":     fraction,
	"min_cost_reduction":   {Min: 0, Max: 1, MinOpen: true, MaxOpen: true, What: "a fraction"},
	"max_new_indexes":      capOrZero,
	"storage_budget_bytes": capOrZero,

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
	"n_plus_one_max_rows_per_call": nonNegative,
	"n_plus_one_min_ratio":         ratio,
	"n_plus_one_max_ratio":         ratio,
	"n_plus_one_log_min_repeats":   atLeastOne,
	"n_plus_one_log_min_ms":        nonNegative,

	"unbatched_min_calls": atLeastOne,

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
	"denorm_min_calls":       atLeastOne,
	"denorm_min_call_share":  fraction,
	"denorm_hot_share":       fraction,
	"denorm_max_write_ratio": ratio,
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
	Value float64 // the value given
	Range Range
	// Detail replaces the range in the message when set (a relation between two thresholds).
	Detail string
}

func (e *ThresholdError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s = %s %s", e.Key, formatThreshold(e.Value), e.Detail)
	}
	return fmt.Sprintf("%s = %s is out of range: %s", e.Key, formatThreshold(e.Value), e.Range)
}

// Validate checks every threshold against its range, and the pairs that
// must be ordered (a maximum not below its minimum, an error level not
// below its warning level). The error joins one *ThresholdError per
// threshold in error, in the order of Options' fields.
func (o Options) Validate() error {
	var errs []error
	rv := reflect.ValueOf(o)
	values := map[string]float64{}
	for i := 0; i < rv.NumField(); i++ {
		key := optionKey(rv.Type().Field(i))
		var v float64
		switch f := rv.Field(i); f.Kind() {
		case reflect.Int, reflect.Int64:
			v = float64(f.Int())
		case reflect.Float64:
			v = f.Float()
		default:
			continue
		}
		values[key] = v
		r, ok := thresholdRanges[key]
		if !ok {
			// A threshold without a range is a programming error, caught by the tests.
			continue
		}
		if !r.contains(v) {
			errs = append(errs, &ThresholdError{Key: key, Value: v, Range: r})
		}
	}
	for _, pair := range [][2]string{
		{"n_plus_one_min_ratio", "n_plus_one_max_ratio"},
		{"pool_warn_fraction", "pool_error_fraction"},
		{"idle_in_tx_warn_seconds", "idle_in_tx_error_seconds"},
	} {
		if lo, hi := values[pair[0]], values[pair[1]]; lo > hi {
			errs = append(errs, &ThresholdError{Key: pair[1], Value: hi, Range: thresholdRanges[pair[1]],
				Detail: fmt.Sprintf("is below %s = %s: it must be at least that", pair[0], formatThreshold(lo))})
		}
	}
	return errors.Join(errs...)
}

// optionKey is the JSON key of an Options field.
func optionKey(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}
