package advisor

import (
	"slices"
	"strings"
)

// familySpecificity orders rule families from the most specific finding to
// the least: a what-if finding has measured the index, a SQL finding names
// the construct, a plan finding the node, a catalog finding only the schema.
var familySpecificity = map[string]int{
	"what-if":  6,
	"sql":      5,
	"plan":     4,
	"workload": 3,
	"activity": 2,
	"catalog":  1,
}

// mergeFindings makes one finding of the findings that say the same thing:
// findings about the same statement (or about no statement) whose fixes run
// the same SQL. The most specific rule keeps the finding (missing-index
// over seq-scan over fk-missing-index: by family, then severity, then time);
// the others are listed in RelatedRules and their message and evidence kept
// under their rule's name in the keeper's evidence. The impact is counted
// once: the larger of the merged ones (they concern the same statement
// time), the severity is the most serious. Findings of one rule that are
// exact repeats (same statement, objects and fix or message) are dropped.
// Findings about different statements that share a fix are not merged:
// linkFixes links them.
func mergeFindings(p *Processing) {
	fs := dropRepeats(p.Findings)
	order := make([]int, len(fs))
	for i := range order {
		order[i] = i
	}
	spec := func(f Finding) int { return familySpecificity[p.Family(f.Rule)] }
	slices.SortStableFunc(order, func(a, b int) int {
		fa, fb := fs[a], fs[b]
		if d := spec(fb) - spec(fa); d != 0 {
			return d
		}
		if d := fb.Severity.Rank() - fa.Severity.Rank(); d != 0 {
			return d
		}
		if fa.Impact.TotalMS != fb.Impact.TotalMS {
			if fa.Impact.TotalMS > fb.Impact.TotalMS {
				return -1
			}
			return 1
		}
		return strings.Compare(fa.Rule, fb.Rule)
	})
	keepers := map[string][]int{} // fix key → indexes into fs of the keepers so far
	merged := make([]bool, len(fs))
	for _, i := range order {
		key := FixKey(fs[i].Fix)
		if key == "" {
			continue
		}
		into := -1
		for _, k := range keepers[key] {
			if sameSubject(fs[k], fs[i]) {
				into = k
				break
			}
		}
		if into < 0 {
			keepers[key] = append(keepers[key], i)
			continue
		}
		absorb(&fs[into], fs[i])
		merged[i] = true
	}
	out := fs[:0:0]
	for i, f := range fs {
		if !merged[i] {
			out = append(out, f)
		}
	}
	p.Findings = out
}

// sameSubject reports whether two findings with the same fix concern the
// same statement: their statements overlap, or one of them (a catalog
// finding) concerns no statement.
func sameSubject(a, b Finding) bool {
	sa, sb := StatementsOf(a), StatementsOf(b)
	if len(sa) == 0 || len(sb) == 0 {
		return true
	}
	for _, s := range sa {
		if slices.Contains(sb, s) {
			return true
		}
	}
	return false
}

// StatementsOf lists the statements a finding concerns: its queryid and the
// other statements it counts (QueryIDs), or its fingerprint when it has no
// queryid (a statement given on the command line), or nothing.
func StatementsOf(f Finding) []string {
	var out []string
	if f.QueryID != "" {
		out = append(out, f.QueryID)
	}
	for _, q := range f.QueryIDs {
		if !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	if len(out) == 0 && f.Fingerprint != "" {
		out = append(out, "fingerprint:"+f.Fingerprint)
	}
	return out
}

// absorb merges g into f.
func absorb(f *Finding, g Finding) {
	if g.Severity.Rank() > f.Severity.Rank() {
		f.Severity = g.Severity
	}
	if g.Impact.TotalMS > f.Impact.TotalMS {
		f.Impact = g.Impact
	}
	for _, o := range g.Objects {
		if !slices.Contains(f.Objects, o) {
			f.Objects = append(f.Objects, o)
		}
	}
	if f.QueryID == "" && g.QueryID != "" {
		f.Query, f.QueryID, f.Fingerprint = g.Query, g.QueryID, g.Fingerprint
	} else if g.QueryID != "" && g.QueryID != f.QueryID && !slices.Contains(f.QueryIDs, g.QueryID) {
		f.QueryIDs = append(f.QueryIDs, g.QueryID)
	}
	if g.Rule == f.Rule {
		return
	}
	if !slices.Contains(f.RelatedRules, g.Rule) {
		f.RelatedRules = append(f.RelatedRules, g.Rule)
	}
	for _, r := range g.RelatedRules {
		if r != f.Rule && !slices.Contains(f.RelatedRules, r) {
			f.RelatedRules = append(f.RelatedRules, r)
		}
	}
	ev := map[string]any{"message": g.Message, "severity": string(g.Severity)}
	for k, v := range g.Evidence {
		ev[k] = v
	}
	if f.Evidence == nil {
		f.Evidence = map[string]any{}
	}
	f.Evidence[g.Rule] = ev
}

// dropRepeats drops findings that repeat an earlier one of the same rule:
// same statement, objects and fix SQL (or, without SQL, message).
func dropRepeats(fs []Finding) []Finding {
	seen := map[string]bool{}
	out := make([]Finding, 0, len(fs))
	for _, f := range fs {
		var b strings.Builder
		b.WriteString(f.Rule + "\x00" + f.QueryID + "\x00" + strings.Join(f.Objects, ",") + "\x00")
		if key := FixKey(f.Fix); key != "" {
			b.WriteString(key)
		} else {
			b.WriteString(f.Message)
		}
		if seen[b.String()] {
			continue
		}
		seen[b.String()] = true
		out = append(out, f)
	}
	return out
}

// FixKey is the identity of a fix: its SQL, whitespace-normalised; "" for a
// fix without SQL (two such fixes are never the same fix).
func FixKey(fix *Fix) string {
	if fix == nil || len(fix.SQL) == 0 {
		return ""
	}
	parts := make([]string, len(fix.SQL))
	for i, s := range fix.SQL {
		parts[i] = strings.TrimSuffix(strings.Join(strings.Fields(s), " "), ";")
	}
	return strings.Join(parts, ";\n")
}
