package advisor

import (
	"testing"

	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// TestNPlusOneVolume: the volume gate is relative to the period (issue 9
// §5): strong evidence at low volume fires, a large count that is a
// negligible share does not.
func TestNPlusOneVolume(t *testing.T) {
	p := &Pass{Options: DefaultOptions()}
	for _, c := range []struct {
		name  string
		calls int64
		share float64
		want  bool
	}{
		{"many calls, visible share", 2899, 0.002, true},
		{"140 calls costing 63% of the period (rental fixture)", 140, 0.63, true},
		{"140 calls costing 10%", 140, 0.10, true},
		{"140 calls costing 5%", 140, 0.05, false},
		{"30 calls costing 90%: too few to call a loop", 30, 0.9, false},
		{"100,000 calls, a negligible share", 100000, 0.0005, false},
		{"no calls", 0, 0.5, false},
	} {
		s := &model.Statement{Statement: pgstat.Statement{Calls: c.calls}, Share: c.share}
		if got := nPlusOneVolume(p, s); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestCostsTimeRelative: the statement gate of the plan rules lets a large
// share of a short period through below min_total_ms, and keeps a small
// share of a short period out (issue 9 §5).
func TestCostsTimeRelative(t *testing.T) {
	p := &Pass{Options: DefaultOptions()}
	for _, c := range []struct {
		name    string
		totalMS float64
		share   float64
		want    bool
	}{
		{"long period, visible share", 5000, 0.05, true},
		{"30-second sample: 8 ms that are 40% of it", 8, 0.4, true},
		{"30-second sample: 8 ms that are 2% of it", 8, 0.02, false},
		{"a negligible share of a month", 50000, 0.0005, false},
	} {
		s := &model.Statement{Statement: pgstat.Statement{Calls: 10, TotalExecTime: c.totalMS}, Share: c.share}
		if got := costsTime(p, s); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
