package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/advisor"
)

// example is the configuration of the issue and the README.
const example = `rules:
  unused-index:
    enabled: false
  fk-missing-index:
    severity: notice
  seq-scan:
    thresholds:
      large_table_rows: 50000
what_if:
  max_new_indexes: 5
  storage_budget: 2GB
trust_functions: [public.slugify]
ignore:
  - rule: redundant-index
    object: shop.orders_customer_idx     # or fingerprint: <statement fingerprint>
    reason: kept for the reporting replica  # required
`

func TestReadExample(t *testing.T) {
	c := Default()
	if err := c.Read("x.yaml", []byte(example)); err != nil {
		t.Fatal(err)
	}
	o := c.Options
	if !c.Disabled["unused-index"] || len(c.Disabled) != 1 {
		t.Errorf("disabled %v, want unused-index only", c.Disabled)
	}
	if got := o.Policy.Severity; !reflect.DeepEqual(got, map[string]advisor.Severity{"fk-missing-index": advisor.SeverityNotice}) {
		t.Errorf("severity overrides %v", got)
	}
	if o.SeqScan.LargeTableRows != 50000 {
		t.Errorf("seq-scan large_table_rows %v, want 50000", o.SeqScan.LargeTableRows)
	}
	// Only seq-scan's: the other rules with a large_table_rows keep theirs.
	if d := advisor.DefaultOptions(); o.FKMissingIndex.LargeTableRows != d.FKMissingIndex.LargeTableRows || o.NonSargable.LargeTableRows != d.NonSargable.LargeTableRows {
		t.Errorf("large_table_rows of other rules changed: %v %v", o.FKMissingIndex.LargeTableRows, o.NonSargable.LargeTableRows)
	}
	if o.WhatIf.MaxNewIndexes != 5 || o.WhatIf.StorageBudgetBytes != 2<<30 {
		t.Errorf("what_if %d indexes, %d bytes; want 5 and 2 GiB", o.WhatIf.MaxNewIndexes, o.WhatIf.StorageBudgetBytes)
	}
	if w := advisor.WhatIfOptions(o); w.MaxNewIndexes != 5 || w.StorageBudgetBytes != 2<<30 {
		t.Errorf("whatif options %d indexes, %d bytes: the file does not reach the engine", w.MaxNewIndexes, w.StorageBudgetBytes)
	}
	if !reflect.DeepEqual(c.TrustFunctions, []string{"public.slugify"}) {
		t.Errorf("trust_functions %v", c.TrustFunctions)
	}
	want := []advisor.Ignore{{Rule: "redundant-index", Object: "shop.orders_customer_idx", Reason: "kept for the reporting replica"}}
	if !reflect.DeepEqual(o.Policy.Ignore, want) {
		t.Errorf("ignore %+v, want %+v", o.Policy.Ignore, want)
	}
	for path, src := range map[string]string{
		"rules.seq-scan.thresholds.large_table_rows": "x.yaml:8",
		"what_if.storage_budget":                     "x.yaml:11",
		EnabledPath("unused-index"):                  "x.yaml:3",
		SeverityPath("fk-missing-index"):             "x.yaml:5",
		PathTrustFunctions:                           "x.yaml:12",
		"thresholds.min_calls":                       SourceDefault,
		EnabledPath("seq-scan"):                      SourceDefault,
	} {
		if got := c.Source(path); got != src {
			t.Errorf("source of %s = %q, want %q", path, got, src)
		}
	}
}

// TestEveryThresholdFromTheFile sets each threshold of every section, one
// file each, to a value in range other than its default, and reads it back
// from the options: every struct field is reachable by its path.
func TestEveryThresholdFromTheFile(t *testing.T) {
	d := advisor.DefaultOptions()
	for _, th := range advisor.Thresholds() {
		v := th.Get(d) + 1
		if th.Range.Max <= 1 { // a fraction: between the default and 1
			v = (th.Get(d) + th.Range.Max) / 2
		}
		if th.Path() == "rules.n-plus-one.thresholds.n_plus_one_min_ratio" ||
			th.Path() == "rules.pool-exhaustion.thresholds.pool_warn_fraction" ||
			th.Path() == "rules.pool-exhaustion.thresholds.idle_in_tx_warn_seconds" {
			v = th.Get(d) / 2 // below its pair's maximum
		}
		if th.Integer {
			v = float64(int64(v))
			if v == th.Get(d) {
				v++
			}
		}
		yaml := nest(th.Path(), fmt.Sprint(v))
		c := Default()
		if err := c.Read("t.yaml", []byte(yaml)); err != nil {
			t.Errorf("%s: %v\n%s", th.Path(), err, yaml)
			continue
		}
		if got := th.Get(c.Options); got != v {
			t.Errorf("%s: read %v, want %v", th.Path(), got, v)
		}
		if src := c.Source(th.Path()); !strings.HasPrefix(src, "t.yaml:") {
			t.Errorf("%s: source %q", th.Path(), src)
		}
		// Nothing else moved.
		for _, other := range advisor.Thresholds() {
			if other.Path() != th.Path() && other.Get(c.Options) != other.Get(d) {
				t.Errorf("setting %s changed %s", th.Path(), other.Path())
			}
		}
	}
}

// nest writes a dotted path as nested YAML mappings.
func nest(path, value string) string {
	var b strings.Builder
	parts := strings.Split(path, ".")
	for i, p := range parts {
		b.WriteString(strings.Repeat("  ", i) + p + ":")
		if i == len(parts)-1 {
			b.WriteString(" " + value)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestReadErrors(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		want       []string // all in the error
	}{
		{"unknown top-level key", "thresold:\n  min_calls: 2\n", []string{"f.yaml:1: thresold: unknown key; did you mean thresholds?"}},
		{"unknown rule", "rules:\n  seq-scn:\n    enabled: false\n", []string{"f.yaml:2: rules.seq-scn: unknown rule; did you mean seq-scan?"}},
		{"unknown rule key", "rules:\n  seq-scan:\n    enable: false\n", []string{"f.yaml:3: rules.seq-scan.enable: unknown key; did you mean enabled?"}},
		{"unknown threshold", "rules:\n  seq-scan:\n    thresholds:\n      large_table_row: 5\n", []string{"f.yaml:4: rules.seq-scan.thresholds.large_table_row: unknown threshold; did you mean large_table_rows?"}},
		{"shared threshold under a rule", "rules:\n  seq-scan:\n    thresholds:\n      min_calls: 5\n", []string{"f.yaml:4:", "min_calls is set at thresholds.min_calls"}},
		{"another rule's threshold", "rules:\n  seq-scan:\n    thresholds:\n      jit_share: 0.2\n", []string{"jit_share is set at rules.jit-dominates.thresholds.jit_share"}},
		{"out of range", "thresholds:\n  min_share: 1.5\n", []string{"f.yaml:2: thresholds.min_share: 1.5 is out of range: a fraction from 0 to 1"}},
		{"not a whole number", "what_if:\n  max_new_indexes: 2.5\n", []string{"f.yaml:2: what_if.max_new_indexes: 2.5 is not a whole number"}},
		{"not a number", "thresholds:\n  min_calls: many\n", []string{"f.yaml:2: thresholds.min_calls: want a number", `"many"`}},
		{"bad size", "what_if:\n  storage_budget: lots\n", []string{"f.yaml:2: what_if.storage_budget: not a size"}},
		{"bad severity", "rules:\n  seq-scan:\n    severity: notic\n", []string{"f.yaml:3: rules.seq-scan.severity: want error, warning or notice", "did you mean notice?"}},
		{"enabled not a bool", "rules:\n  seq-scan:\n    enabled: no-thanks\n", []string{"f.yaml:3: rules.seq-scan.enabled: want true or false"}},
		{"ignore without reason", "ignore:\n  - rule: seq-scan\n    object: shop.orders\n", []string{"f.yaml:2: ignore[0]: reason is required"}},
		{"ignore without object or fingerprint", "ignore:\n  - rule: seq-scan\n    reason: why not\n", []string{"f.yaml:2: ignore[0]: say what to ignore"}},
		{"ignore of an unknown rule", "ignore:\n  - rule: seqscan\n    object: x\n    reason: r\n", []string{"f.yaml:2: ignore[0].rule: unknown rule", "did you mean seq-scan?"}},
		{"ignore unknown key", "ignore:\n  - rule: seq-scan\n    objects: x\n    reason: r\n", []string{"f.yaml:3: ignore[0].objects: unknown key; did you mean object?"}},
		{"trust_functions not a list", "trust_functions: 3\n", []string{"f.yaml:1: trust_functions: want a list"}},
		{"key twice", "thresholds:\n  min_calls: 2\n  min_calls: 3\n", []string{"f.yaml:3: thresholds.min_calls: set twice"}},
		{"not a mapping", "- a\n- b\n", []string{"f.yaml:1:", "must be a mapping"}},
		{"ordered pair", "rules:\n  n-plus-one:\n    thresholds:\n      n_plus_one_min_ratio: 3\n", []string{"f.yaml:4: rules.n-plus-one.thresholds.n_plus_one_min_ratio: n_plus_one_max_ratio = 2 is below n_plus_one_min_ratio = 3"}},
		{"report threshold out of range", "report:\n  new_min_share: 2\n", []string{"f.yaml:2: report.new_min_share: 2 is out of range: a fraction from 0 to 1"}},
		{"unknown report threshold", "report:\n  regression_ratoi: 0.5\n", []string{"f.yaml:2: report.regression_ratoi: unknown threshold; did you mean regression_ratio?"}},
		{"syntax", "rules: [\n", []string{"f.yaml: yaml: line"}},
	} {
		err := Default().Read("f.yaml", []byte(c.yaml))
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", c.name, err, w)
			}
		}
	}
	// Every problem is reported, each as an *Error.
	err := Default().Read("f.yaml", []byte("thresholds:\n  min_share: 2\nrules:\n  seq-scn: {}\n"))
	var e *Error
	if !errors.As(err, &e) || strings.Count(err.Error(), "f.yaml:") != 2 {
		t.Errorf("two problems: %v", err)
	}
}

func TestEmptyFile(t *testing.T) {
	for _, text := range []string{"", "# nothing yet\n", "rules:\nignore:\n"} {
		c := Default()
		if err := c.Read("e.yaml", []byte(text)); err != nil {
			t.Errorf("%q: %v", text, err)
		}
		if !reflect.DeepEqual(c.Options, advisor.DefaultOptions()) {
			t.Errorf("%q changed the options", text)
		}
	}
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "repo", "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := Find(deep); err != nil || got != "" {
		t.Errorf("no file: %q, %v", got, err)
	}
	// In a parent.
	want := filepath.Join(root, "repo", FileName)
	if err := os.WriteFile(want, []byte("rules: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := Find(deep); err != nil || got != want {
		t.Errorf("in a parent: %q, %v; want %q", got, err, want)
	}
	// The nearest wins.
	near := filepath.Join(root, "repo", "a", FileName)
	if err := os.WriteFile(near, []byte("rules: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := Find(deep); got != near {
		t.Errorf("nearest: %q, want %q", got, near)
	}
	// The search stops at the repository's root: a file above it does not apply.
	if err := os.Remove(near); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "repo", "a", ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, _ := Find(deep); got != "" {
		t.Errorf("above the repository: found %q", got)
	}
}

// TestWriteRoundTrip: the output of pgadvisor config is a configuration
// file that gives the same configuration, and says where values came from.
func TestWriteRoundTrip(t *testing.T) {
	c := Default()
	if err := c.Read("x.yaml", []byte(example)); err != nil {
		t.Fatal(err)
	}
	if err := c.SetThreshold(advisorThreshold(t, "thresholds.min_calls"), 7, "--min-calls"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.Write(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"min_calls: 7", "# --min-calls",
		"large_table_rows: 50000", "# x.yaml:8",
		"storage_budget: 2GB", "# x.yaml:11",
		"enabled: false", "# x.yaml:3",
		"min_share: 0.001", "# default",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
	again := Default()
	if err := again.Read("out.yaml", buf.Bytes()); err != nil {
		t.Fatalf("the output does not read back: %v\n%s", err, out)
	}
	// The output states every rule's severity; an explicit default is the same configuration.
	for _, r := range advisor.All() {
		if again.Options.Policy.Severity[r.Name] == r.Severity && c.Options.Policy.Severity[r.Name] == "" {
			delete(again.Options.Policy.Severity, r.Name)
		}
	}
	if !reflect.DeepEqual(again.Options, c.Options) || !reflect.DeepEqual(again.Disabled, c.Disabled) || !reflect.DeepEqual(again.TrustFunctions, c.TrustFunctions) {
		t.Errorf("round trip differs:\n%+v\n%+v", again.Options, c.Options)
	}
}

func advisorThreshold(t *testing.T, path string) advisor.Threshold {
	t.Helper()
	for _, th := range advisor.Thresholds() {
		if th.Path() == path {
			return th
		}
	}
	t.Fatalf("no threshold %s", path)
	return advisor.Threshold{}
}
