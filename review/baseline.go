package review

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
)

// Baseline is the findings accepted as they are: each keyed by rule,
// statement fingerprint and path, never by line, so that editing other
// lines or moving the statement within its file does not bring it back.
type Baseline struct {
	SchemaVersion int             `json:"schema_version"`
	Findings      []BaselineEntry `json:"findings"`
}

// BaselineEntry is one accepted finding. Count is how many findings share
// the key (the same statement twice in one file).
type BaselineEntry struct {
	Rule        string `json:"rule"`
	Fingerprint string `json:"fingerprint"`
	Path        string `json:"path"`
	Count       int    `json:"count"`
	// Message is for the reader of the file; it is not part of the key.
	Message string `json:"message,omitempty"`
}

type baselineKey struct{ rule, fingerprint, path string }

func keyOf(f Finding) baselineKey {
	return baselineKey{f.Rule, f.Fingerprint, f.Location.Path}
}

// NewBaseline records the findings of a result.
func NewBaseline(r *Result) *Baseline {
	b := &Baseline{SchemaVersion: 1, Findings: []BaselineEntry{}}
	at := map[baselineKey]int{}
	for _, f := range r.Findings {
		k := keyOf(f)
		if i, ok := at[k]; ok {
			b.Findings[i].Count++
			continue
		}
		at[k] = len(b.Findings)
		b.Findings = append(b.Findings, BaselineEntry{Rule: f.Rule, Fingerprint: f.Fingerprint, Path: f.Location.Path, Count: 1, Message: f.Message})
	}
	sort.SliceStable(b.Findings, func(i, j int) bool {
		a, c := b.Findings[i], b.Findings[j]
		if a.Path != c.Path {
			return a.Path < c.Path
		}
		if a.Rule != c.Rule {
			return a.Rule < c.Rule
		}
		return a.Fingerprint < c.Fingerprint
	})
	return b
}

// WriteBaseline writes b to path as indented JSON (through a temporary file
// renamed over it, so a failed write loses no earlier baseline).
func WriteBaseline(path string, b *Baseline) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return fmt.Errorf("write baseline: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write baseline %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write baseline %s: %w", path, err)
	}
	return nil
}

// ReadBaseline reads a baseline file: one JSON object, no unknown schema
// version, every entry with a rule, a fingerprint and a path.
func ReadBaseline(path string) (*Baseline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read baseline: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var b Baseline
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("baseline %s: not a pgadvisor baseline: %w", path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("baseline %s: trailing data after the JSON object", path)
	}
	if b.SchemaVersion != 1 {
		return nil, fmt.Errorf("baseline %s: schema_version = %d, this pgadvisor reads 1", path, b.SchemaVersion)
	}
	for i, e := range b.Findings {
		if e.Rule == "" || e.Fingerprint == "" || e.Path == "" {
			return nil, fmt.Errorf("baseline %s: findings[%d] needs rule, fingerprint and path", path, i)
		}
		if e.Count < 1 {
			b.Findings[i].Count = 1
		}
	}
	return &b, nil
}

// Apply takes the baselined findings out of r (up to each entry's count)
// and counts them in r.Baselined.
func (b *Baseline) Apply(r *Result) {
	left := map[baselineKey]int{}
	for _, e := range b.Findings {
		left[baselineKey{e.Rule, e.Fingerprint, e.Path}] += e.Count
	}
	kept := r.Findings[:0:0]
	for _, f := range r.Findings {
		k := keyOf(f)
		if left[k] > 0 {
			left[k]--
			r.Baselined++
			continue
		}
		kept = append(kept, f)
	}
	r.Findings = kept
}
