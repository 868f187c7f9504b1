package advisor

import (
	"slices"
	"strings"
)

// suppressFindings takes out the findings an ignore entry of the policy
// matches (its rule, and one of the finding's objects or its statement's
// fingerprint) and keeps them in Suppressed with the entry's reason, so a
// summary counts them. Entries that match nothing are kept in
// UnmatchedIgnores: the problem they excused is gone, or they are misspelled.
func suppressFindings(p *Processing) {
	if len(p.Policy.Ignore) == 0 {
		return
	}
	used := make([]bool, len(p.Policy.Ignore))
	kept := p.Findings[:0:0]
	for _, f := range p.Findings {
		hit := -1
		for i, ig := range p.Policy.Ignore {
			if ignores(ig, f) {
				hit = i
				break
			}
		}
		if hit < 0 {
			kept = append(kept, f)
			continue
		}
		used[hit] = true
		p.Suppressed = append(p.Suppressed, Suppressed{Finding: f, Reason: p.Policy.Ignore[hit].Reason, By: "config"})
	}
	p.Findings = kept
	for i, ig := range p.Policy.Ignore {
		if !used[i] {
			p.UnmatchedIgnores = append(p.UnmatchedIgnores, ig)
		}
	}
}

// ignores reports whether an ignore entry matches a finding. Objects compare
// with identifier quotes dropped (an entry may write "Shop".orders or
// Shop.orders); case is kept, as PostgreSQL keeps it in quoted names.
func ignores(ig Ignore, f Finding) bool {
	if ig.Rule != f.Rule {
		return false
	}
	if ig.Fingerprint != "" && ig.Fingerprint == f.Fingerprint {
		return true
	}
	if ig.Object == "" {
		return false
	}
	want := unquoteIdent(ig.Object)
	return slices.ContainsFunc(f.Objects, func(o string) bool { return unquoteIdent(o) == want })
}

func unquoteIdent(s string) string { return strings.ReplaceAll(s, `"`, "") }
