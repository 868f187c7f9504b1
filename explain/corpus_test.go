package explain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusMin is how many real plans testdata/corpus holds at least (issue 10).
const corpusMin = 84

// TestCorpusParses: every plan of testdata/corpus (real plans from public
// plan viewers' test suites, sources in its MANIFEST.tsv) parses, walks and
// prints, and the manifest names each file once.
func TestCorpusParses(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < corpusMin {
		t.Errorf("%d plans in testdata/corpus, want at least %d", len(files), corpusMin)
	}
	manifest, err := os.ReadFile(filepath.Join("testdata", "corpus", "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(manifest)), "\n") {
		name, source, ok := strings.Cut(line, "\t")
		if !ok || source == "" || sources[name] != "" {
			t.Errorf("MANIFEST.tsv line %q: want one line per file, name TAB source", line)
		}
		sources[name] = source
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			if sources[name] == "" {
				t.Errorf("%s has no source in MANIFEST.tsv", name)
			}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			nodes := p.Nodes()
			if len(nodes) == 0 || len(p.Tree()) != len(nodes) {
				t.Fatalf("%d nodes, %d tree lines", len(nodes), len(p.Tree()))
			}
			for _, n := range nodes {
				if n.NodeType == "" || n.String() == "" {
					t.Errorf("node without a type: %+v", n)
				}
			}
		})
	}
}
