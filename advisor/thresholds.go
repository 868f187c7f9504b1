package advisor

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Sections of Options besides the rules' own.
const (
	// SectionCommon is the top-level thresholds: section of .pgadvisor.yaml
	// (Options.Common), shared by the statement rules.
	SectionCommon = "thresholds"
	// SectionWhatIf is the what_if: section (Options.WhatIf).
	SectionWhatIf = "what_if"
)

// Threshold is one configurable number of Options, read from the tags of its
// field: where it lives, its key, its one-line doc and its range.
type Threshold struct {
	// Section is SectionCommon, SectionWhatIf or a rule id.
	Section string
	// Key is its key within the section of .pgadvisor.yaml.
	Key string
	// Flat is its key in a --thresholds JSON file (the json tag). Keys are
	// unique across sections except where several rules have a threshold
	// that means the same (large_table_rows): the flat key sets them all.
	Flat string
	// Doc is one line saying what it is, with its unit.
	Doc string
	// Size: the file may give it as a size such as 500MB or 2GB (bytes).
	Size bool
	// Integer: the value must be a whole number.
	Integer bool
	Range   Range
	index   []int
}

// Path is where the threshold is set in .pgadvisor.yaml, e.g.
// rules.seq-scan.thresholds.large_table_rows, thresholds.min_calls or
// what_if.max_new_indexes.
func (t Threshold) Path() string {
	switch t.Section {
	case SectionCommon, SectionWhatIf, SectionReport:
		return t.Section + "." + t.Key
	}
	return "rules." + t.Section + ".thresholds." + t.Key
}

// Get returns the threshold's value in o.
func (t Threshold) Get(o Options) float64 {
	f := reflect.ValueOf(o).FieldByIndex(t.index)
	if t.Integer {
		return float64(f.Int())
	}
	return f.Float()
}

// Set checks v against the threshold's range (and for a whole number when
// the field is an integer) and sets it in o; the error is a *ThresholdError.
func (t Threshold) Set(o *Options, v float64) error {
	if !t.Range.contains(v) {
		return &ThresholdError{Key: t.Flat, Path: t.Path(), Value: v, Range: t.Range}
	}
	f := reflect.ValueOf(o).Elem().FieldByIndex(t.index)
	if t.Integer {
		if v != math.Trunc(v) {
			return &ThresholdError{Key: t.Flat, Path: t.Path(), Value: v, Range: t.Range, Detail: "is not a whole number"}
		}
		f.SetInt(int64(v))
		return nil
	}
	f.SetFloat(v)
	return nil
}

var (
	thresholdsOnce sync.Once
	thresholdList  []Threshold
)

// Thresholds lists every threshold of Options: the common ones, the what-if
// engine's, then each rule's, in the order of the fields.
func Thresholds() []Threshold {
	thresholdsOnce.Do(func() {
		rt := reflect.TypeOf(Options{})
		for i := 0; i < rt.NumField(); i++ {
			sf := rt.Field(i)
			section := sf.Tag.Get("section")
			if section == "" || section == "-" || sf.Type.Kind() != reflect.Struct {
				continue
			}
			for j := 0; j < sf.Type.NumField(); j++ {
				thresholdList = append(thresholdList, newThreshold(section, []int{i, j}, sf.Type.Field(j)))
			}
		}
	})
	return thresholdList
}

func newThreshold(section string, index []int, f reflect.StructField) Threshold {
	flat, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	key := flat
	if y, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); y != "" {
		key = y
	}
	k := f.Type.Kind()
	return Threshold{
		Section: section,
		Key:     key,
		Flat:    flat,
		Doc:     f.Tag.Get("doc"),
		Size:    f.Tag.Get("size") == "bytes",
		Integer: k == reflect.Int || k == reflect.Int64,
		Range:   thresholdRanges[flat],
		index:   index,
	}
}

// SectionThresholds are the thresholds of one section (a rule id,
// SectionCommon or SectionWhatIf), in field order.
func SectionThresholds(section string) []Threshold {
	var out []Threshold
	for _, t := range Thresholds() {
		if t.Section == section {
			out = append(out, t)
		}
	}
	return out
}

// FlatThresholds are the thresholds a --thresholds key sets (nil for an
// unknown key).
func FlatThresholds(key string) []Threshold {
	var out []Threshold
	for _, t := range Thresholds() {
		if t.Flat == key {
			out = append(out, t)
		}
	}
	return out
}

// SetFlat sets every threshold of a --thresholds key (range-checked); an
// unknown key is an error.
func (o *Options) SetFlat(key string, v float64) error {
	ts := FlatThresholds(key)
	if len(ts) == 0 {
		return fmt.Errorf("unknown threshold %q", key)
	}
	for _, t := range ts {
		if err := t.Set(o, v); err != nil {
			return err
		}
	}
	return nil
}

// FlatKeys are the keys of a --thresholds file, sorted.
func FlatKeys() []string {
	var out []string
	for _, t := range Thresholds() {
		if !slices.Contains(out, t.Flat) {
			out = append(out, t.Flat)
		}
	}
	slices.Sort(out)
	return out
}

var snakeWord = regexp.MustCompile(`[a-z][a-z0-9]*(_[a-z0-9]+)+`)

// Thresholds are the thresholds the rule reads: its own section, then the
// common and what-if ones its Criteria name.
func (r *Rule) Thresholds() []Threshold {
	out := SectionThresholds(r.Name)
	named := map[string]bool{}
	for _, w := range snakeWord.FindAllString(r.Criteria, -1) {
		named[w] = true
	}
	for _, t := range Thresholds() {
		if (t.Section == SectionCommon || t.Section == SectionWhatIf) && named[t.Key] {
			out = append(out, t)
		}
	}
	return out
}

// ThresholdsText is the generated Thresholds text of the rule, as pgadvisor
// rules -v and docs/rules.md show it: its Criteria, then each threshold it
// reads with its default and doc.
func (r *Rule) ThresholdsText() string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(r.Criteria))
	d := DefaultOptions()
	var own, shared []string
	for _, t := range r.Thresholds() {
		item := fmt.Sprintf("%s = %s (%s)", t.Key, formatThreshold(t.Get(d)), t.Doc)
		if t.Section == r.Name {
			own = append(own, item)
		} else {
			shared = append(shared, t.Path()+" = "+formatThreshold(t.Get(d)))
		}
	}
	if len(own) > 0 {
		fmt.Fprintf(&b, "\nSet in rules.%s.thresholds: %s.", r.Name, strings.Join(own, "; "))
	}
	if len(shared) > 0 {
		fmt.Fprintf(&b, "\nShared: %s.", strings.Join(shared, ", "))
	}
	return b.String()
}
