package explain

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// readShape reads one of testdata/shapes (see testdata/shapes/README.md).
func readShape(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "shapes", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestShapePG17JIT: 17 writes JIT "Generation" as {"Deform", "Total"}; the
// plan parses and Generation is the total.
func TestShapePG17JIT(t *testing.T) {
	p, err := Parse(readShape(t, "jit_pg17.json"))
	if err != nil {
		t.Fatal(err)
	}
	tm := p.JIT.Timing
	if tm == nil || tm.Generation != 0.292 || tm.GenerationDeform != 0.071 || tm.Total != 141.353 || tm.Emission == 0 {
		t.Fatalf("JIT timing %+v", tm)
	}
	if len(tm.Extra) != 0 {
		t.Errorf("Generation left in Extra: %v", tm.Extra)
	}
	// 16 and before: a number.
	p, err = Parse(recordedPlans(t)["jit"])
	if err != nil || p.JIT.Timing.Generation != 0.292 || p.JIT.Timing.GenerationDeform != 0 {
		t.Fatalf("16-style JIT: %v %+v", err, p.JIT.Timing)
	}
}

// TestShapeNewerFields: keys pgadvisor has no field for (17's Storage and
// Serialization, 18's Disabled and Index Searches) and read fields of
// another JSON kind (Async Capable as a string, Output as a string) do not
// reject the plan; they are kept in Extra and the rest is read.
func TestShapeNewerFields(t *testing.T) {
	p, err := Parse(readShape(t, "newer_fields.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := p.Plan
	if n.NodeType != "Index Scan" || n.IndexName != "orders_pkey" || n.ActualLoops != 1 || n.TotalCost != 8.44 {
		t.Errorf("node read as %s", n)
	}
	for _, k := range []string{"Disabled", "Index Searches", "Storage", "Async Capable", "Output"} {
		if _, ok := n.Extra[k]; !ok {
			t.Errorf("%q not kept in the node's Extra (%v)", k, n.Extra)
		}
	}
	if n.Output != nil || n.AsyncCapable {
		t.Errorf("a field of another kind was decoded: Output %v, Async Capable %v", n.Output, n.AsyncCapable)
	}
	if _, ok := p.Extra["Serialization"]; !ok || p.ExecutionTime == 0 {
		t.Errorf("plan-level Extra %v, execution time %v", p.Extra, p.ExecutionTime)
	}
}

// TestParseStructure: the two fields that make the tree are still checked.
func TestParseStructure(t *testing.T) {
	for _, in := range []string{
		`[{"Plan": {"Node Type": "Limit", "Plans": {"Node Type": "Seq Scan"}}}]`,
		`[{"Plan": {"Node Type": "Limit", "Plans": ["Seq Scan"]}}]`,
		`[{"Plan": {"Node Type": "Limit", "Plans": [{"Node Type": ["Seq Scan"]}]}}]`,
		`[{"Plan": "Seq Scan"}]`,
		`[{"Plan": {"Node Type": "Limit", "Plans": [null]}}]`,
	} {
		if p, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%s) accepted it: %s", in, p.Plan)
		}
	}
}

// TestShapeBOM: a UTF-8 byte order mark (Windows editors) is dropped.
func TestShapeBOM(t *testing.T) {
	data := readShape(t, "bom.json")
	if !bytes.HasPrefix(data, utf8BOM) {
		t.Fatal("bom.json has no byte order mark")
	}
	if p, err := Parse(data); err != nil || p.Plan.IndexName != "orders_pkey" {
		t.Fatalf("Parse: %v", err)
	}
}

// TestShapePsqlFrames: JSON as psql prints it (header, rule, "+"
// continuations, "(1 row)") parses; a framed text plan gets the text
// plan's message; pev2's frames cover the other border and line styles
// (testdata/corpus).
func TestShapePsqlFrames(t *testing.T) {
	framed := readShape(t, "psql_framed.txt")
	if !bytes.Contains(framed, []byte("QUERY PLAN")) || !bytes.Contains(framed, []byte("+\n")) {
		t.Fatal("psql_framed.txt is not framed")
	}
	p, err := Parse(framed)
	if err != nil {
		t.Fatal(err)
	}
	if p.Plan.NodeType != "Nested Loop" || len(p.Nodes()) != 3 || p.ExecutionTime == 0 {
		t.Errorf("framed plan read as %v with %d nodes", p.Plan, len(p.Nodes()))
	}
	_, err = Parse(readShape(t, "psql_framed_text.txt"))
	if err == nil || !strings.Contains(err.Error(), "EXPLAIN text output; use EXPLAIN (FORMAT JSON)") {
		t.Errorf("framed text plan: %v", err)
	}
	for _, c := range []struct{ in, want string }{
		{"QUERY PLAN\n[{\"Plan\": {\"Node Type\": \"Result\"}}]\n(1 row)\n", "Result"}, // psql -A
		{"\r\n QUERY PLAN \r\n------------\r\n [{\"Plan\": +\r\n {\"Node Type\": \"Result\"}}]\r\n(1 row)\r\n", "Result"},
		{"┌────────────┐\n│ QUERY PLAN │\n├────────────┤\n│ [{\"Plan\": ↵│\n│ {\"Node Type\": \"Append\"}}] │\n└────────────┘\n(1 row)", "Append"},
	} {
		p, err := Parse([]byte(c.in))
		if err != nil || p.Plan.NodeType != c.want {
			t.Errorf("Parse(%q): %v", c.in, err)
		}
	}
	// A JSON document that merely mentions QUERY PLAN is not unframed.
	in := []byte(`[{"Plan": {"Node Type": "Result", "Output": ["'QUERY PLAN'::text"]}}]`)
	if got := Unframe(in); !bytes.Equal(got, in) {
		t.Errorf("Unframe changed unframed JSON: %s", got)
	}
}

// TestErrorKeepsCharacters: the start of the input quoted in an error is
// cut between characters, never inside one.
func TestErrorKeepsCharacters(t *testing.T) {
	_, err := Parse([]byte(strings.Repeat("é", 19) + "€€€ plan"))
	if err == nil {
		t.Fatal("accepted")
	}
	if msg := err.Error(); !utf8.ValidString(msg) || !strings.Contains(msg, strings.Repeat("é", 19)+"€…") {
		t.Errorf("error %q", msg)
	}
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"}, {"abcd", 3, "abc…"}, {"ééé", 2, "éé…"}, {"", 1, ""}, {"日本語", 0, "…"},
	} {
		if got := shorten(c.in, c.n); got != c.want {
			t.Errorf("shorten(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

// TestPlanSetting: the settings a plan records (EXPLAIN SETTINGS).
func TestPlanSetting(t *testing.T) {
	p, err := Parse(recordedPlans(t)["sort_external_merge"])
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := p.Setting("work_mem"); !ok || v != "64kB" {
		t.Errorf("work_mem = %q, %v", v, ok)
	}
	if v, ok := p.Setting("jit"); ok {
		t.Errorf("jit = %q, not in the plan's Settings", v)
	}
	var nilPlan *Plan
	if _, ok := nilPlan.Setting("work_mem"); ok {
		t.Error("a nil plan has settings")
	}
}
