package history

import "time"

// trendStatements is how many of the heaviest statements the trend follows.
const trendStatements = 5

// RunPoint is one run of the history, for the charts of the html report.
type RunPoint struct {
	At      time.Time `json:"at"`
	TotalMS float64   `json:"total_ms"`
	Calls   int64     `json:"calls"`
	// Findings counts the run's findings that are not fixed (nor fixed and
	// awaiting a reset), by severity.
	Findings map[string]int `json:"findings"`
	// MeanMS is the interval mean of each of the report's top statements
	// (by queryid) in that run; absent when it did not run.
	MeanMS map[string]float64 `json:"mean_ms,omitempty"`
}

// SetTrend fills r.Runs from the earlier reports of the history (oldest
// first) and r itself: one point per run.
func (r *Report) SetTrend(earlier []*Report) {
	top := heaviest(r, trendStatements)
	point := func(x *Report) RunPoint {
		p := RunPoint{At: x.Period.To, TotalMS: x.Summary.TotalMS, Calls: x.Summary.Calls, Findings: map[string]int{}, MeanMS: map[string]float64{}}
		for _, f := range x.Findings {
			if f.Status != StatusFixed && f.Status != StatusAwaitingReset {
				p.Findings[string(f.Severity)]++
			}
		}
		want := map[string]bool{}
		for _, id := range top {
			want[id] = true
		}
		for _, d := range x.Statements {
			if want[d.QueryID] && d.Verdict != VerdictGone && d.Calls > 0 {
				p.MeanMS[d.QueryID] = d.MeanMS
			}
		}
		return p
	}
	r.Runs = nil
	for _, e := range earlier {
		if e.Period.To.Before(r.Period.To) {
			r.Runs = append(r.Runs, point(e))
		}
	}
	r.Runs = append(r.Runs, point(r))
}

// heaviest returns the queryids of the n statements of r with the most
// time in the interval, among those that ran in it (a statement idle now
// but slow once would flatten the others' lines).
func heaviest(r *Report, n int) []string {
	var ids []string
	var times []float64
	for _, d := range r.Statements {
		if d.Verdict == VerdictGone || d.Calls == 0 {
			continue
		}
		i := len(ids)
		for i > 0 && times[i-1] < d.TotalMS {
			i--
		}
		if i >= n {
			continue
		}
		ids = append(ids[:i], append([]string{d.QueryID}, ids[i:]...)...)
		times = append(times[:i], append([]float64{d.TotalMS}, times[i:]...)...)
		if len(ids) > n {
			ids, times = ids[:n], times[:n]
		}
	}
	return ids
}
