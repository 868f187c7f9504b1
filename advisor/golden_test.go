package advisor

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/pgstat"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// TestGolden runs the rules on every recorded case in testdata/<case>/:
// snapshot.json is the input (statements, tables, indexes, plans, activity),
// rules.txt optionally names the rules to run (one per line; default all),
// want.json holds the expected findings. Regenerate with -update and review.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no golden cases in testdata/")
	}
	for _, snapPath := range dirs {
		dir := filepath.Dir(snapPath)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			data, err := os.ReadFile(snapPath)
			if err != nil {
				t.Fatal(err)
			}
			snap, err := pgstat.Read(data)
			if err != nil {
				t.Fatal(err)
			}
			rules := All()
			if names, err := os.ReadFile(filepath.Join(dir, "rules.txt")); err == nil {
				rules = nil
				for _, n := range strings.Fields(string(names)) {
					r := Lookup(n)
					if r == nil {
						t.Fatalf("rules.txt names unknown rule %q", n)
					}
					rules = append(rules, r)
				}
			}
			opts := DefaultOptions()
			if o, err := os.ReadFile(filepath.Join(dir, "options.json")); err == nil {
				// A flat object of threshold keys, as a --thresholds file.
				var flat map[string]float64
				if err := json.Unmarshal(o, &flat); err != nil {
					t.Fatalf("options.json: %v", err)
				}
				for k, v := range flat {
					if err := opts.SetFlat(k, v); err != nil {
						t.Fatalf("options.json: %v", err)
					}
				}
			}
			res := Run(snap, rules, opts)
			if res.Findings == nil {
				res.Findings = []Finding{}
			}
			if len(res.RuleErrors) > 0 {
				t.Errorf("rule errors: %v", res.RuleErrors)
			}
			got, err := json.MarshalIndent(res.Findings, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			wantPath := filepath.Join(dir, "want.json")
			if *update {
				if err := os.WriteFile(wantPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("findings differ from %s (run go test ./advisor -run TestGolden -update and review the diff)\ngot:\n%s", wantPath, got)
			}
		})
	}
}

func TestCatalogValid(t *testing.T) {
	rules := All()
	if err := Validate(rules); err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if strings.TrimSpace(r.Criteria) == "" {
			t.Errorf("rule %s documents no criteria", r.Name)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	ok := func(p *Pass) error { return nil }
	for _, c := range []struct {
		name  string
		rules []*Rule
	}{
		{"bad name", []*Rule{{Name: "Seq_Scan", Doc: "x", Family: "plan", Severity: SeverityError, Run: ok}}},
		{"duplicate", []*Rule{{Name: "a", Doc: "x", Family: "plan", Severity: SeverityError, Run: ok}, {Name: "a", Doc: "x", Family: "plan", Severity: SeverityError, Run: ok}}},
		{"no doc", []*Rule{{Name: "a", Family: "plan", Severity: SeverityError, Run: ok}}},
		{"bad severity", []*Rule{{Name: "a", Doc: "x", Family: "plan", Severity: "fatal", Run: ok}}},
		{"no run", []*Rule{{Name: "a", Doc: "x", Family: "plan", Severity: SeverityError}}},
	} {
		if Validate(c.rules) == nil {
			t.Errorf("%s: Validate accepted an invalid catalog", c.name)
		}
	}
}
