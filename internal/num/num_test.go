package num

import (
	"math"
	"testing"
)

func TestInt64(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want int64
	}{
		{0, 0}, {1.9, 1}, {-1.9, -1}, {1e15, 1e15},
		{1e308, math.MaxInt64}, {-1e308, math.MinInt64},
		{math.Inf(1), math.MaxInt64}, {math.Inf(-1), math.MinInt64}, {math.NaN(), 0},
		{9.3e18, math.MaxInt64}, {-9.3e18, math.MinInt64},
		{9.2e18, 9200000000000000000},
	} {
		if got := Int64(c.in); got != c.want {
			t.Errorf("Int64(%g) = %d, want %d", c.in, got, c.want)
		}
	}
}

func TestRoundTo(t *testing.T) {
	for _, c := range []struct {
		v, scale, want float64
	}{
		{1.234, 100, 1.23}, {1.235, 1000, 1.235}, {2.5, 1, 3}, {-2.5, 1, -3}, {-1.26, 10, -1.3},
		{1e308, 10, 1e308}, {-1e308, 10, -1e308}, {1e17, 100, 1e17}, {9.2e16, 10000, 9.2e16},
		{math.NaN(), 10, 0}, {math.Inf(1), 10, 0}, {math.Inf(-1), 10, 0},
		{math.MaxFloat64, 1e4, math.MaxFloat64},
	} {
		if got := RoundTo(c.v, c.scale); got != c.want {
			t.Errorf("RoundTo(%g, %g) = %g, want %g", c.v, c.scale, got, c.want)
		}
	}
}
