package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/internal/num"
)

// Markdown prints the report as a Markdown document (for tickets and nightly mails).
func Markdown(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	ew.printf("# pgadvisor report\n\n")
	server := "PostgreSQL " + orDash(r.Server.Version)
	if r.Server.InRecovery {
		server += " **hot standby** (in recovery)"
	}
	if one, ok := singleStatementLine(r.Summary); ok {
		ew.printf("%s, database `%s`, %s. ", server, orDash(r.Database), one)
	} else {
		ew.printf("%s, database `%s`, %d statements, %s of statement time. ", server, orDash(r.Database), r.Summary.Statements, Duration(r.Summary.TotalMS))
	}
	ew.printf("%d findings (%d error, %d warning, %d notice).\n", len(r.Findings), r.Summary.FindingCount["error"], r.Summary.FindingCount["warning"], r.Summary.FindingCount["notice"])
	if notes := collectionNotes(r.Summary); len(notes) > 0 {
		ew.printf("\n")
		for _, note := range notes {
			ew.printf("- %s\n", mdEscape(note))
		}
	}
	if notes := suppressionNotes(r); len(notes) > 0 {
		ew.printf("\n")
		for _, note := range notes {
			ew.printf("- %s\n", mdEscape(note))
		}
	}
	if r.Server.InRecovery {
		ew.printf("\n> %s\n", mdEscape(standbyNote))
	}
	if len(r.Plan) > 0 {
		// Relation and index names cannot hold a newline, so the fence holds.
		ew.printf("\n## Plan\n\n```\n%s\n```\n", strings.Join(r.Plan, "\n"))
	}
	if len(r.Problems) > 0 {
		ew.printf("\n## Not collected\n\n")
		for _, p := range r.Problems {
			ew.printf("- **%s**: %s", p.Phase, p.Message)
			if p.Fix != "" {
				ew.printf(" — fix: %s", p.Fix)
			}
			ew.printf("\n")
		}
	}
	writeWhatIfTries(ew, r.WhatIf, true)
	writeTopStatements(ew, r.TopStatements, true)
	writeNotPlanned(ew, r.NotPlanned, true)
	firstRank := map[string]int{} // fix id → rank of the first finding printing its SQL
	for _, g := range groupByRule(r.Findings) {
		title := "`" + g.rule + "`"
		if rule := advisor.Lookup(g.rule); rule != nil {
			title += " — " + rule.Title()
		}
		ew.printf("\n## %s\n", title)
		for _, it := range g.items {
			f := it.f
			ew.printf("\n### %d. %s\n\n", it.rank, mdEscape(f.Message))
			ew.printf("- severity: **%s**; impact: %s", f.Severity, Duration(f.Impact.TotalMS))
			if f.Impact.Share > 0 {
				ew.printf(" (%.1f%% of statement time)", f.Impact.Share*100)
			}
			if f.Impact.Calls > 0 {
				ew.printf(", %s calls", num.Thousands(f.Impact.Calls))
			}
			ew.printf("\n")
			if len(f.Objects) > 0 {
				ew.printf("- objects: `%s`\n", strings.Join(f.Objects, "`, `"))
			}
			if len(f.Evidence) > 0 {
				ew.printf("- evidence: %s\n", mdEvidence(f.Evidence))
			}
			for _, rule := range f.RelatedRules {
				if ev, ok := f.Evidence[rule].(map[string]any); ok {
					if m, ok := ev["message"].(string); ok {
						ew.printf("- also `%s`: %s\n", rule, mdEscape(oneLine(m)))
						continue
					}
				}
				ew.printf("- also `%s`\n", rule)
			}
			if f.Query != "" {
				ew.printf("\n```sql\n%s\n```\n", strings.TrimSpace(f.Query))
			}
			if f.Fix != nil {
				adv := ""
				if f.Fix.Advisory {
					adv = " (advisory)"
				}
				if f.Fix.Hygiene {
					adv = " (hygiene: no time saved in this workload)"
				}
				ew.printf("\n**Fix%s:** %s\n", adv, mdEscape(f.Fix.Summary))
				id := fixKeyOf(f)
				if first, ok := firstRank[id]; ok && id != "" {
					ew.printf("\nSame fix as finding %d (`%s`).\n", first, id)
				} else if len(f.Fix.SQL) > 0 {
					firstRank[id] = it.rank
					ew.printf("\n```sql\n%s\n```\n", strings.Join(terminate(f.Fix.SQL), "\n"))
				}
			}
		}
	}
	writeIndexCurve(ew, r.IndexCurve, true)
	if ew.err != nil {
		return fmt.Errorf("write markdown report: %w", ew.err)
	}
	return nil
}

// mdEvidence renders evidence as inline-code key=value pairs in key order.
func mdEvidence(ev map[string]any) string {
	keys := make([]string, 0, len(ev))
	for k := range ev {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, "`"+strings.ReplaceAll(k+"="+valueString(ev[k]), "`", "'")+"`")
	}
	return strings.Join(parts, " ")
}

func terminate(sqls []string) []string {
	out := make([]string, len(sqls))
	for i, s := range sqls {
		out[i] = terminateSQL(s)
	}
	return out
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`, "<", "&lt;").Replace(s)
}
