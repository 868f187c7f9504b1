// Package num converts floating-point measurements (milliseconds, rows,
// bytes) to integers and rounded values without overflow: a Go conversion
// of a float64 beyond the int64 range gives an arbitrary value (on amd64
// -9223372036854775808), which once turned a huge total_exec_time into a
// negative impact. Values here saturate instead.
package num

import "math"

// int64Limit is 2^63 as a float64: the first value above the int64 range.
const int64Limit = 1 << 63

// Int64 converts f to int64 like int64(f) (truncating toward zero), but
// saturates at math.MaxInt64 and math.MinInt64; NaN is 0.
func Int64(f float64) int64 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= int64Limit:
		return math.MaxInt64
	case f <= -int64Limit:
		return math.MinInt64
	}
	return int64(f)
}

// RoundTo rounds v to a multiple of 1/scale (scale 100: two decimals), half
// away from zero. NaN and ±Inf are 0 (JSON has neither); a value too large
// to carry decimals at that scale is returned unchanged.
func RoundTo(v, scale float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	x := v * scale
	if math.Abs(x) >= 1<<53 || math.IsInf(x, 0) {
		return v // beyond 2^53 a float64 has no fractional part to round
	}
	if v < 0 {
		return -float64(int64(-x+0.5)) / scale
	}
	return float64(int64(x+0.5)) / scale
}
