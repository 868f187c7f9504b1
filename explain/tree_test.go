package explain

import (
	"os"
	"strings"
	"testing"
)

func TestTree(t *testing.T) {
	data, err := os.ReadFile("testdata/hash_join_batches.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	lines := p.Tree()
	if len(lines) != len(p.Nodes()) {
		t.Fatalf("%d lines for %d nodes:\n%s", len(lines), len(p.Nodes()), strings.Join(lines, "\n"))
	}
	if !strings.HasPrefix(lines[0], "Hash Join  est 200k rows, cost 7832.1; actual 200k rows, 73.3 ms") {
		t.Errorf("root line %q", lines[0])
	}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "  ") || !strings.Contains(l, "-> ") {
			t.Errorf("child line not indented: %q", l)
		}
	}
	// A plan without ANALYZE shows estimates only.
	p.ExecutionTime = 0
	for _, n := range p.Nodes() {
		n.ActualLoops, n.ActualRows, n.ActualTotalTime = 0, 0, 0
	}
	if l := p.Tree()[0]; strings.Contains(l, "actual") || strings.Contains(l, "never executed") {
		t.Errorf("estimated plan line %q", l)
	}
}
