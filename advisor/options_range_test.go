package advisor

import (
	"errors"
	"strings"
	"testing"
)

func TestEveryThresholdHasARange(t *testing.T) {
	keys := map[string]bool{}
	for _, th := range Thresholds() {
		keys[th.Flat] = true
		if _, ok := thresholdRanges[th.Flat]; !ok {
			t.Errorf("threshold %s has no range in thresholdRanges", th.Path())
		}
		if th.Doc == "" {
			t.Errorf("threshold %s has no doc tag", th.Path())
		}
	}
	for key := range thresholdRanges {
		if !keys[key] {
			t.Errorf("thresholdRanges has %s, which is no threshold", key)
		}
	}
	if err := DefaultOptions().Validate(); err != nil {
		t.Errorf("the defaults are out of range: %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(*Options)
		key  string // "" = valid
		want string
	}{
		{"fraction 1 is fine", func(o *Options) { o.MinShare = 1 }, "", ""},
		{"zero min_calls is fine", func(o *Options) { o.MinCalls = 0 }, "", ""},
		{"ratio above 1 is fine", func(o *Options) { o.RowMisestimate.StaleStatsFraction = 2.5 }, "", ""},
		{"no cap", func(o *Options) { o.WhatIf.MaxNewIndexes, o.WhatIf.StorageBudgetBytes = 0, 0 }, "", ""},
		{"fraction above 1", func(o *Options) { o.MinShare = 1.5 }, "min_share", "min_share = 1.5 is out of range: a fraction from 0 to 1"},
		{"negative fraction", func(o *Options) { o.SeqScan.Discard = -0.1 }, "seq_scan_discard", "from 0 to 1"},
		{"negative ms", func(o *Options) { o.MinTotalMS = -1 }, "min_total_ms", "a number from 0"},
		{"zero count that must be at least 1", func(o *Options) { o.NPlusOne.LogMinRepeats = 0 }, "n_plus_one_log_min_repeats", "a count from 1"},
		{"negative count", func(o *Options) { o.PoolExhaustion.IdleInTxErrorCount = -3 }, "idle_in_tx_error_count", "a count from 1"},
		{"factor below 1", func(o *Options) { o.RowMisestimate.Factor = 0.5 }, "misestimate_factor", "a factor from 1"},
		{"cost reduction 0", func(o *Options) { o.WhatIf.MinCostReduction = 0 }, "min_cost_reduction", "above 0"},
		{"cost reduction 1", func(o *Options) { o.WhatIf.MinCostReduction = 1 }, "min_cost_reduction", "below 1"},
		{"cost reduction above 1", func(o *Options) { o.WhatIf.MinCostReduction = 1.2 }, "min_cost_reduction", "a fraction above 0 and below 1"},
		{"negative cap", func(o *Options) { o.WhatIf.MaxNewIndexes = -1 }, "max_new_indexes", "a cap (0: none)"},
		{"huge", func(o *Options) { o.SeqScan.LargeTableRows = 1e308 }, "large_table_rows", "out of range"},
		{"seconds beyond a PostgreSQL timeout", func(o *Options) { o.PoolExhaustion.IdleInTxErrorSeconds = 1e12 }, "idle_in_tx_error_seconds", "seconds from 0 to 2147483"},
		{"zero work_mem", func(o *Options) { o.MaxWorkMemMB = 0 }, "max_work_mem_mb", "a number above 0"},
		{"max below min", func(o *Options) { o.NPlusOne.MinRatio, o.NPlusOne.MaxRatio = 3, 2 }, "n_plus_one_max_ratio", "is below n_plus_one_min_ratio = 3"},
		{"error below warn", func(o *Options) { o.PoolExhaustion.WarnFraction, o.PoolExhaustion.ErrorFraction = 0.9, 0.8 }, "pool_error_fraction", "is below pool_warn_fraction"},
	} {
		o := DefaultOptions()
		c.set(&o)
		err := o.Validate()
		if c.key == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		var te *ThresholdError
		if !errors.As(err, &te) {
			t.Errorf("%s: got %v, want a ThresholdError for %s", c.name, err, c.key)
			continue
		}
		if te.Key != c.key || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %q (key %s), want key %s saying %q", c.name, err, te.Key, c.key, c.want)
		}
	}
	// Every threshold in error is reported, not only the first.
	o := DefaultOptions()
	o.MinShare, o.LargeOffset.Rows = 2, 0
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "min_share") || !strings.Contains(err.Error(), "large_offset") {
		t.Errorf("two bad thresholds: %v", err)
	}
}
