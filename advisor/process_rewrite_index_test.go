package advisor

import (
	"strings"
	"testing"
)

func TestFoldRewriteIndexes(t *testing.T) {
	create := func(name, keys string) *Fix {
		return &Fix{Summary: "create " + name, SQL: []string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS " + name + " ON blog.comments USING btree (" + keys + ")"}}
	}
	rewrite := func(q string) Finding {
		return Finding{Rule: "non-sargable", QueryID: q, Evidence: map[string]any{"expression": "date(created_at)"},
			Fix: &Fix{Summary: "Compare the bare column with a day range", SQL: create("comments_created_at_idx", "created_at").SQL}}
	}
	p := &Processing{Findings: []Finding{
		rewrite("1"),
		{Rule: "missing-index", QueryID: "1", Fix: create("comments_date_idx", "(date(created_at))")},
		rewrite("2"), // nothing serves statement 2 as written: the rewrite's index stays
		{Rule: "missing-index", QueryID: "3", QueryIDs: []string{"4"}, Fix: create("comments_date_post_id_idx", "(date(created_at)), post_id")},
		rewrite("4"), // served as written by an index of another statement's finding
		{Rule: "missing-index", QueryID: "5", Fix: create("comments_post_id_idx", "post_id")},
		rewrite("5"), // an index on another key does not serve the expression
		{Rule: "fk-missing-index", QueryID: "6", Fix: &Fix{Summary: "create", SQL: create("comments_date_fk_idx", "(date(created_at))").SQL, Hygiene: true}},
		rewrite("6"), // hygiene buys no time: it does not count
	}}
	foldRewriteIndexes(p)
	for _, c := range []struct {
		name string
		at   int
		fold bool
	}{
		{"the rewrite's index leaves what to run when the expression index serves the statement", 0, true},
		{"the expression index keeps its fix", 1, false},
		{"no index serves the statement as written", 2, false},
		{"an index serving several statements counts for each", 4, true},
		{"an index on another key", 6, false},
		{"a hygiene index", 8, false},
	} {
		f := p.Findings[c.at]
		if f.Fix.Advisory != c.fold || c.fold && (!strings.Contains(f.Fix.Summary, "if you rewrite the statement, comments_created_at_idx serves it instead of") || len(f.Fix.SQL) == 0) {
			t.Errorf("%s: advisory %v, want %v: %q", c.name, f.Fix.Advisory, c.fold, f.Fix.Summary)
		}
	}
}
