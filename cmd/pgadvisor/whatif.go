package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/whatif"
)

func whatIfFlags() []cli.Flag {
	d := whatif.DefaultOptions()
	return []cli.Flag{
		&cli.BoolFlag{Name: "install-hypopg", Usage: "run CREATE EXTENSION hypopg when the package is installed but the extension is not (never by default)"},
		&cli.IntFlag{Name: "max-new-indexes", Value: d.MaxNewIndexes, Usage: "recommend at most `N` new indexes (0: no cap)"},
		&cli.StringFlag{Name: "storage-budget", Usage: "cap the estimated size of the recommended indexes, e.g. 500MB, 2GB (default: no cap)"},
		&cli.Float64Flag{Name: "min-cost-reduction", Value: d.MinCostReduction, Usage: "an index must cut a statement's planner cost by this `FRACTION`"},
		&cli.BoolFlag{Name: "verify", Usage: "STAGING ONLY: build the chosen indexes for real inside a transaction (blocks writes to those tables), EXPLAIN ANALYZE before and after, roll back"},
	}
}

// applyIndexCaps copies the index caps of the flags into the advisor's
// options, which the missing-index rule applies (live and offline alike).
func applyIndexCaps(c *cli.Context, a *advisor.Options) error {
	var w whatif.Options
	if err := applyWhatIfFlags(c, &w); err != nil {
		return err
	}
	// Only flags given on the command line override a --thresholds file.
	if c.IsSet("max-new-indexes") {
		a.MaxNewIndexes = w.MaxNewIndexes
	}
	if c.IsSet("storage-budget") {
		a.StorageBudgetBytes = w.StorageBudgetBytes
	}
	if c.IsSet("min-cost-reduction") {
		a.MinCostReduction = w.MinCostReduction
	}
	return nil
}

func applyWhatIfFlags(c *cli.Context, o *whatif.Options) error {
	o.InstallHypoPG = c.Bool("install-hypopg")
	o.MaxNewIndexes = c.Int("max-new-indexes")
	if r, _ := advisor.ThresholdRange("max_new_indexes"); o.MaxNewIndexes < 0 {
		return usageErr("--max-new-indexes %d is out of range: %s", o.MaxNewIndexes, r)
	}
	o.MinCostReduction = c.Float64("min-cost-reduction")
	if r, _ := advisor.ThresholdRange("min_cost_reduction"); o.MinCostReduction <= 0 || o.MinCostReduction >= 1 {
		return usageErr("--min-cost-reduction %v is out of range: %s, e.g. 0.5", o.MinCostReduction, r)
	}
	if s := c.String("storage-budget"); s != "" {
		n, err := parseBytes(s)
		if err != nil {
			return usageErr("--storage-budget: %v", err)
		}
		o.StorageBudgetBytes = n
	}
	return nil
}

// parseBytes reads sizes like 500MB, 2GB, 1.5 GiB, 1048576.
func parseBytes(s string) (int64, error) {
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
