package advisor

import (
	"regexp"
	"strings"

	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// Rewrites are the statements the findings would show as rewrites of the
// application's statements, each as it is PREPAREd (comment lines removed):
// the batched forms of unbatched-writes, the N+1 child fetched for all
// parents (= ANY($1)) or joined, the keyset form of an OFFSET page, and any
// other advisory fix with parameters. A live audit PREPAREs each of them
// (audit.CheckFixes) before showing it; the fixcheck processor hides one the
// server refused.
func Rewrites(snap *pgstat.Snapshot, opts Options) []string {
	out := UnbatchedRewrites(snap, opts)
	seen := map[string]bool{}
	for _, q := range out {
		seen[q] = true
	}
	for _, f := range Run(snap, All(), opts).Findings {
		if f.Fix == nil || !f.Fix.Advisory {
			continue
		}
		created := createdBy(f.Fix.SQL)
		for _, piece := range f.Fix.SQL {
			if q := FixStatement(piece); isRewrite(q) && !seen[q] && !readsAny(q, created) {
				seen[q] = true
				out = append(out, q)
			}
		}
	}
	return out
}

// isRewrite reports whether a fix statement is a parameterised query or
// write an application would send (not DDL, not COPY, not a sketch).
func isRewrite(q string) bool {
	if q == "" || strings.Contains(q, "…") || sqlfacts.MaxParam(q) == 0 {
		return false
	}
	word, _, _ := strings.Cut(strings.ToUpper(strings.TrimSpace(q)), " ")
	switch strings.TrimSpace(word) {
	case "SELECT", "WITH", "INSERT", "UPDATE", "DELETE":
		return true
	}
	return false
}

// createdObject finds the relation a fix creates (a materialised view, a
// summary table): a rewrite that reads it cannot be prepared before it exists.
var createdObject = regexp.MustCompile(`(?i)^\s*CREATE\s+(?:MATERIALIZED\s+VIEW|(?:OR\s+REPLACE\s+)?VIEW|TABLE)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\S+)`)

// createdBy lists the relations the statements of a fix create.
func createdBy(sqls []string) []string {
	var out []string
	for _, s := range sqls {
		if m := createdObject.FindStringSubmatch(FixStatement(s)); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// readsAny reports whether a statement names one of the relations.
func readsAny(q string, names []string) bool {
	for _, n := range names {
		if strings.Contains(q, n) {
			return true
		}
	}
	return false
}
