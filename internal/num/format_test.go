package num

import (
	"math"
	"testing"
)

func TestThousands(t *testing.T) {
	for _, c := range []struct {
		in   int64
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1,000"}, {-1234567, "-1,234,567"}, {100000, "100,000"},
		{math.MaxInt64, "9,223,372,036,854,775,807"}, {math.MinInt64, "-9,223,372,036,854,775,808"},
	} {
		if got := Thousands(c.in); got != c.want {
			t.Errorf("Thousands(%d) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCompact(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0, "0"}, {0.4, "0"}, {950, "950"}, {9999, "9999"}, {10000, "10k"}, {12345, "12.3k"},
		{200150, "200.2k"}, {4.5e6, "4.5M"}, {1e9, "1G"}, {3.44e9, "3.4G"}, {math.NaN(), "0"},
	} {
		if got := Compact(c.in); got != c.want {
			t.Errorf("Compact(%g) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestBytes(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0, "0 bytes"}, {964, "964 bytes"}, {1024, "1 kB"}, {1536, "2 kB"}, {512 * 1024, "512 kB"},
		{1 << 20, "1 MB"}, {38.2 * (1 << 20), "38.2 MB"}, {1.5 * (1 << 30), "1.5 GB"}, {3 << 40, "3072 GB"},
	} {
		if got := Bytes(c.in); got != c.want {
			t.Errorf("Bytes(%g) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0, "0.0%"}, {0.5, "50.0%"}, {0.9912, "99.12%"}, {0.99961, "99.96%"}, {0.99993, "99.993%"}, {0.99999, ">99.99%"}, {1, "100.0%"},
	} {
		if got := Percent(c.in); got != c.want {
			t.Errorf("Percent(%g) = %q, want %q", c.in, got, c.want)
		}
	}
}
