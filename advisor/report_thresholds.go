package advisor

// SectionReport is the report: section of .pgadvisor.yaml (Options.Report):
// the thresholds of pgadvisor report's per-statement verdicts. No rule reads
// them.
const SectionReport = "report"

// ReportThresholds decide the verdict of a statement between two runs of
// pgadvisor report (package history).
type ReportThresholds struct {
	RegressionRatio    float64 `json:"regression_ratio" doc:"a statement regressed when its mean time rose by more than this fraction of the previous mean (improved: fell by as much)"`
	RegressionFloorMS  float64 `json:"regression_floor_ms" doc:"and by at least this many milliseconds, so that a fast statement wobbling (0.03 to 0.05 ms) is not a regression"`
	RegressionSigma    float64 `json:"regression_sigma" doc:"and by more than this many standard errors of the difference of the two means (from the recorded stddev of each interval)"`
	RegressionMinCalls int64   `json:"regression_min_calls" doc:"a statement needs at least this many calls in both intervals to be regressed or improved"`
	NewMinShare        float64 `json:"new_min_share" doc:"a statement not seen before is listed as new when it costs at least this fraction of the interval's statement time"`
	NewMinTotalMS      float64 `json:"new_min_total_ms" doc:"or at least this many milliseconds in the interval"`
}

var defaultReport = ReportThresholds{
	RegressionRatio:    0.25,
	RegressionFloorMS:  0.1,
	RegressionSigma:    3,
	RegressionMinCalls: 10,
	NewMinShare:        0.01,
	NewMinTotalMS:      1000,
}
