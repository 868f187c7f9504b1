package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// loadInput reads the shared input of the printer tests: a report recorded
// from `pgadvisor demo --format json` (testdata/report.json).
func loadInput(t *testing.T) *Report {
	t.Helper()
	data, err := os.ReadFile("testdata/report.json")
	if err != nil {
		t.Fatal(err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) == 0 {
		t.Fatal("the shared input has no findings")
	}
	return &r
}

// TestPrinters compares every printer's output on the shared input with its
// golden file. Regenerate with: go test ./report -update, and review the diff.
func TestPrinters(t *testing.T) {
	r := loadInput(t)
	for name, print := range Printers {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := print(&buf, r); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "report."+name+".golden")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("%s output differs from %s (go test ./report -update, then review the diff)", name, golden)
			}
		})
	}
}

func TestTableFitsAndShowsEveryFinding(t *testing.T) {
	r := loadInput(t)
	var buf bytes.Buffer
	if err := Table(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	inFixes, sqlLines := false, 0
	for i, line := range strings.Split(out, "\n") {
		inFixes = inFixes || StartsFixSection(line)
		heading := strings.HasPrefix(line, "-- F") // a fix's heading, wrapped
		if IsFixSQLLine(line, inFixes) && !heading {
			sqlLines++
			continue // SQL is printed unwrapped, for psql
		}
		if n := len([]rune(line)); n > Width {
			t.Errorf("line %d is %d columns wide: %q", i+1, n, line)
		}
	}
	if sqlLines == 0 {
		t.Errorf("no fix SQL after the fix sections' heading")
	}
	for _, f := range r.Findings {
		if !strings.Contains(out, f.Rule) {
			t.Errorf("rule %s missing from the table", f.Rule)
		}
		if f.Fix != nil {
			for _, sql := range f.Fix.SQL {
				first := strings.Fields(sql)
				if len(first) > 0 && !strings.Contains(out, first[0]) {
					t.Errorf("fix SQL %q not shown", sql)
				}
			}
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := loadInput(t)
	var buf bytes.Buffer
	if err := JSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(r)
	b, _ := json.Marshal(&back)
	if !bytes.Equal(a, b) {
		t.Error("JSON report does not round-trip")
	}
	// The contract: required keys present on every finding, queryid a string.
	var raw struct {
		SchemaVersion int              `json:"schema_version"`
		Findings      []map[string]any `json:"findings"`
	}
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if raw.SchemaVersion != 1 {
		t.Errorf("schema_version = %d", raw.SchemaVersion)
	}
	for i, f := range raw.Findings {
		for _, k := range []string{"rule", "severity", "message", "objects"} {
			if _, ok := f[k]; !ok {
				t.Errorf("finding %d has no %q", i, k)
			}
		}
		if q, ok := f["queryid"]; ok {
			if _, isString := q.(string); !isString {
				t.Errorf("finding %d: queryid is %T, want a string", i, q)
			}
		}
	}
}

func TestWrap(t *testing.T) {
	for _, c := range []struct {
		in    string
		width int
		want  string
	}{
		{"a b c", 3, "a b\nc"},
		{"abcdefgh", 3, "abc\ndef\ngh"},
		{"hello world", 20, "hello world"},
	} {
		if got := wrap(c.in, c.width); got != c.want {
			t.Errorf("wrap(%q, %d) = %q, want %q", c.in, c.width, got, c.want)
		}
	}
	if got := indentWrap("fix: one two three", 10, "  "); got != "fix: one\n  two\n  three" {
		t.Errorf("indentWrap = %q", got)
	}
}

func TestDuration(t *testing.T) {
	for ms, want := range map[float64]string{0.5: "0.50 ms", 850: "850 ms", 12300: "12.3 s", 252000: "4.2 min", 5400000: "1.5 h"} {
		if got := Duration(ms); got != want {
			t.Errorf("Duration(%v) = %q, want %q", ms, got, want)
		}
	}
}
