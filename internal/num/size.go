package num

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseSize reads sizes like 500MB, 2GB, 1.5 GiB or 1048576 (bytes), up to
// 2^53 bytes. Units are binary: 1MB = 1 MiB, as in PostgreSQL settings.
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TIB", 1 << 40}, {"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v < 0 || math.IsNaN(v) {
		return 0, &sizeError{s}
	}
	n := v * float64(mult)
	if n >= 1<<53 {
		return 0, fmt.Errorf("%s is out of range (at most 8 PiB)", strconv.Quote(s))
	}
	return int64(n), nil
}

type sizeError struct{ s string }

func (e *sizeError) Error() string {
	return "not a size: " + strconv.Quote(e.s) + " (use e.g. 500MB or 2GB)"
}
