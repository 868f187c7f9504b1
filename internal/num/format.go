package num

import (
	"fmt"
	"strconv"
)

// Thousands writes n with thousands separators: 1,234,567.
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	b := make([]byte, 0, len(s)+len(s)/3)
	for i := 0; i < len(s); i++ {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return sign + string(b)
}

// Compact writes a row, loop or block count short: 950, 12.3k, 4.5M, 1.2G
// (one decimal at most, none when it is 0; counts below 10,000 in full).
func Compact(v float64) string {
	switch {
	case v >= 1e9:
		return decimal(v/1e9, 10) + "G"
	case v >= 1e6:
		return decimal(v/1e6, 10) + "M"
	case v >= 1e4:
		return decimal(v/1e3, 10) + "k"
	}
	return decimal(v, 1)
}

// Bytes writes a size short in binary units: 964 bytes, 38 kB, 38.2 MB,
// 1.5 GB (kB without decimals, MB and GB with one at most).
func Bytes(b float64) string {
	switch {
	case b >= 1<<30:
		return decimal(b/(1<<30), 10) + " GB"
	case b >= 1<<20:
		return decimal(b/(1<<20), 10) + " MB"
	case b >= 1<<10:
		return decimal(b/(1<<10), 1) + " kB"
	}
	return decimal(b, 1) + " bytes"
}

// Percent writes a fraction as a percentage with one decimal, or with more
// the closer it is to 100% (99.95%, 99.987%, >99.99%), so that a share just
// below all is never shown as 100.0%.
func Percent(v float64) string {
	switch {
	case v >= 0.99995 && v < 1:
		return ">99.99%"
	case v >= 0.9999 && v < 1:
		return fmt.Sprintf("%.3f%%", v*100)
	case v >= 0.99 && v < 1:
		return fmt.Sprintf("%.2f%%", v*100)
	}
	return fmt.Sprintf("%.1f%%", v*100)
}

// decimal writes v rounded to a multiple of 1/scale (RoundTo), without
// trailing zeros.
func decimal(v, scale float64) string {
	return strconv.FormatFloat(RoundTo(v, scale), 'f', -1, 64)
}
