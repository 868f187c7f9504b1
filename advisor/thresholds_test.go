package advisor

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestThresholdSections keeps the thresholds structs and the rules in step:
// every section is a rule (or the shared, what-if and report sections), every rule's
// Criteria name each of its own thresholds and no other rule's, and give no
// numbers for them (ThresholdsText adds the defaults from the code).
func TestThresholdSections(t *testing.T) {
	sections := map[string]bool{}
	for _, th := range Thresholds() {
		sections[th.Section] = true
		if th.Key == "" || th.Flat == "" {
			t.Errorf("threshold %+v has no key", th)
		}
	}
	for s := range sections {
		if s != SectionCommon && s != SectionWhatIf && s != SectionReport && Lookup(s) == nil {
			t.Errorf("section %q (a section tag of Options) is no rule", s)
		}
	}
	for _, r := range All() {
		own := SectionThresholds(r.Name)
		words := snakeWord.FindAllString(r.Criteria, -1)
		for _, th := range own {
			if !slices.Contains(words, th.Key) {
				t.Errorf("%s: Criteria do not name its threshold %s", r.Name, th.Key)
			}
			if regexp.MustCompile(`\b` + th.Key + `\s*\(\s*[0-9]`).MatchString(r.Criteria) {
				t.Errorf("%s: Criteria give a number after %s: the default is generated", r.Name, th.Key)
			}
		}
		for _, w := range words {
			for _, th := range Thresholds() {
				if th.Key == w && th.Section != r.Name && th.Section != SectionCommon && th.Section != SectionWhatIf &&
					!slices.ContainsFunc(own, func(o Threshold) bool { return o.Key == w }) {
					t.Errorf("%s: Criteria name %s, a threshold of %s", r.Name, w, th.Section)
				}
			}
		}
	}
}

// TestThresholdsText: the generated text carries the defaults of the code,
// the rule's own thresholds and the shared ones its Criteria name.
func TestThresholdsText(t *testing.T) {
	text := SeqScan.ThresholdsText()
	for _, want := range []string{
		"large_table_rows = 10000 (tables with fewer rows",
		"seq_scan_discard = 0.9",
		"thresholds.min_share = 0.001",
		"thresholds.min_total_ms = 10",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("seq-scan thresholds text does not say %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "min_cost_reduction") {
		t.Errorf("seq-scan text names a what-if threshold its Criteria do not: %s", text)
	}
	mi := MissingIndex.ThresholdsText()
	for _, want := range []string{"what_if.max_new_indexes = 10", "what_if.min_cost_reduction = 0.5", "what_if.storage_budget = 0"} {
		if !strings.Contains(mi, want) {
			t.Errorf("missing-index thresholds text does not say %q:\n%s", want, mi)
		}
	}
}

// TestSetFlat: a --thresholds key several rules share sets each of them;
// a key of one sets only it.
func TestSetFlat(t *testing.T) {
	o := DefaultOptions()
	if err := o.SetFlat("large_table_rows", 5); err != nil {
		t.Fatal(err)
	}
	if o.SeqScan.LargeTableRows != 5 || o.FKMissingIndex.LargeTableRows != 5 || o.NonSargable.LargeTableRows != 5 || o.LeadingWildcard.LargeTableRows != 5 {
		t.Errorf("large_table_rows did not reach every rule: %+v %+v %+v %+v", o.SeqScan, o.FKMissingIndex, o.NonSargable, o.LeadingWildcard)
	}
	if err := o.SetFlat("n_plus_one_min_calls", 7); err != nil || o.NPlusOne.MinCalls != 7 || o.MinCalls != 1 {
		t.Errorf("n_plus_one_min_calls: %v, %d, common %d", err, o.NPlusOne.MinCalls, o.MinCalls)
	}
	if err := o.SetFlat("max_new_indexes", 2.5); err == nil {
		t.Error("2.5 indexes accepted")
	}
	if err := o.SetFlat("no_such_key", 1); err == nil {
		t.Error("an unknown key accepted")
	}
}
