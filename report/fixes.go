package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/internal/num"
)

// FixEntry is one fix of the report's "what to run" list: each fix once,
// in the order of the heaviest finding it serves, with every finding it serves.
type FixEntry struct {
	// Label is the fix's short name in this report (F1, F2, …); FixID its
	// identity across runs.
	Label   string `json:"label"`
	FixID   string `json:"fix_id"`
	Summary string `json:"summary"`
	// SQL is the fix's SQL, as the finding gives it.
	SQL      []string `json:"sql"`
	Advisory bool     `json:"advisory,omitempty"`
	// Hygiene is set for a fix that buys no time in this workload (listed apart).
	Hygiene bool   `json:"hygiene,omitempty"`
	RunOn   string `json:"run_on,omitempty"`
	// SizeBytes is the estimated size of the index the fix creates (the
	// findings' size_bytes evidence), 0 when it creates none or is unknown.
	SizeBytes int64 `json:"size_bytes,omitempty"`
	// Findings are the ranks (1-based, as printed) of the findings it serves;
	// Rules their rules, first the keeper's.
	Findings []int    `json:"findings"`
	Rules    []string `json:"rules"`
}

// Fixes lists the fixes of findings (ranked, as in a report) once each: the
// findings that share a FixID share one entry.
func Fixes(fs []advisor.Finding) []FixEntry {
	var out []FixEntry
	byID := map[string]int{}
	for i, f := range fs {
		if f.Fix == nil || len(f.Fix.SQL) == 0 {
			continue
		}
		id := f.FixID
		if id == "" {
			id = advisor.FixID(advisor.FixKey(f.Fix))
		}
		j, ok := byID[id]
		if !ok {
			j = len(out)
			byID[id] = j
			out = append(out, FixEntry{
				Label: fmt.Sprintf("F%d", j+1), FixID: id, Summary: f.Fix.Summary,
				SQL: f.Fix.SQL, Advisory: f.Fix.Advisory, Hygiene: f.Fix.Hygiene, RunOn: f.Fix.RunOn,
			})
		}
		e := &out[j]
		e.Findings = append(e.Findings, i+1)
		if size := evidenceSize(f); size > e.SizeBytes && firstCreates(f.Fix.SQL) {
			e.SizeBytes = size
		}
		for _, r := range append([]string{f.Rule}, f.RelatedRules...) {
			if !contains(e.Rules, r) {
				e.Rules = append(e.Rules, r)
			}
		}
	}
	return out
}

// evidenceSize is the size_bytes evidence of a finding (JSON numbers read
// back from a saved report are float64).
func evidenceSize(f advisor.Finding) int64 {
	switch v := f.Evidence["size_bytes"].(type) {
	case int64:
		return v
	case int:
		return int64(v)
	case float64:
		return int64(v)
	}
	return 0
}

// firstCreates reports whether a fix creates an index.
func firstCreates(sqls []string) bool {
	for _, s := range sqls {
		if u := strings.ToUpper(strings.TrimSpace(s)); strings.HasPrefix(u, "CREATE INDEX") || strings.HasPrefix(u, "CREATE UNIQUE INDEX") {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// terminateSQL ends a statement with ";": its last line that is not a
// comment gets one unless it has one (a piece of advice made only of
// comments is left alone). The statement's own lines are kept: a "--"
// comment on one line never swallows the SQL on the next.
func terminateSQL(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimRight(lines[i], " \t")
		if t := strings.TrimSpace(l); t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		if !strings.HasSuffix(l, ";") && !strings.Contains(l, "--") {
			lines[i] = l + ";"
		}
		break
	}
	return strings.Join(lines, "\n")
}

// findingRefs names findings by rank: "#1", "#1, #17".
func findingRefs(ranks []int) string {
	parts := make([]string, len(ranks))
	for i, r := range ranks {
		parts[i] = fmt.Sprintf("#%d", r)
	}
	return strings.Join(parts, ", ")
}

// fixHeading is the comment above a fix, wrapped to Width: its label, the
// findings it serves and its summary.
func fixHeading(e FixEntry) string {
	text := fmt.Sprintf("%s for %s (%s): %s", e.Label, findingRefs(e.Findings), strings.Join(e.Rules, ", "), oneLine(e.Summary))
	return commentLines(text)
}

// commentLines wraps text to Width as SQL comment lines.
func commentLines(text string) string {
	lines := strings.Split(wrap(text, Width-3), "\n")
	for i, l := range lines {
		lines[i] = "-- " + l
	}
	return strings.Join(lines, "\n")
}

// IsFixSQLLine reports whether a line of the table view belongs to the fix
// SQL of the fix sections, printed unwrapped so that it pastes into psql
// (the headings pgadvisor writes there are wrapped); every other line fits
// in Width.
func IsFixSQLLine(line string, inFixSection bool) bool {
	return inFixSection && !StartsFixSection(line)
}

// Fix section headings of the table view.
const (
	whatToRunHeading = "What to run"
	hygieneHeading   = "Hygiene"
	sketchesHeading  = "Sketches to adapt"
)

// StartsFixSection reports whether a table line is a fix section's heading.
func StartsFixSection(line string) bool {
	for _, h := range []string{whatToRunHeading, hygieneHeading, sketchesHeading} {
		if strings.HasPrefix(line, h+" (") {
			return true
		}
	}
	return false
}

// totalSize sums the estimated sizes of the indexes the fixes create.
func totalSize(fixes []FixEntry) int64 {
	var n int64
	for _, e := range fixes {
		n += e.SizeBytes
	}
	return n
}

// sizeNote is ", 38.2 MB of new indexes" for fixes that create indexes of a known size.
func sizeNote(fixes []FixEntry) string {
	if n := totalSize(fixes); n > 0 {
		return ", " + num.Bytes(float64(n)) + " of new indexes"
	}
	return ""
}

// writeFixSQL prints a fix's SQL, each statement unwrapped and terminated,
// skipping statements an earlier fix already printed (CREATE EXTENSION once);
// commented puts "-- " before every line (advice to adapt, not to run).
func writeFixSQL(ew *errWriter, e FixEntry, printed map[string]bool, commented bool) {
	for _, sql := range e.SQL {
		key := oneLine(strings.TrimSuffix(strings.TrimSpace(sql), ";"))
		if !commented {
			if printed[key] {
				ew.printf("-- (%s: above)\n", Shorten(key, 80))
				continue
			}
			printed[key] = true
		}
		text := terminateSQL(sql)
		if commented {
			lines := strings.Split(text, "\n")
			for i, l := range lines {
				if !strings.HasPrefix(strings.TrimSpace(l), "--") {
					lines[i] = "-- " + l
				}
			}
			text = strings.Join(lines, "\n")
		}
		ew.printf("%s\n", text)
	}
}

// SQL prints every fix of the report as one script for psql: each fix once,
// preceded by a comment naming its findings; statements are autocommitted
// (CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction block);
// advisory fixes, design sketches to adapt, are commented out.
func SQL(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	ew.printf("-- pgadvisor %s: fixes for database %s (%s)\n", r.Tool.Version, orDash(r.Database), r.GeneratedAt.Format("2006-01-02 15:04 UTC"))
	ew.printf("-- Run with: psql -v ON_ERROR_STOP=1 -f FILE (no BEGIN: CONCURRENTLY cannot run in a transaction)\n")
	if r.Server.InRecovery {
		ew.printf("%s\n", commentLines(standbyNote))
	}
	fixes := Fixes(r.Findings)
	if len(fixes) == 0 {
		ew.printf("-- No fixes.\n")
		return ew.err
	}
	printed := map[string]bool{}
	for _, e := range fixes {
		ew.printf("\n%s\n", fixHeading(e))
		if e.RunOn != "" {
			ew.printf("-- run on the %s\n", e.RunOn)
		}
		if e.Advisory {
			ew.printf("-- advisory: a design change to adapt, commented out\n")
		}
		if e.Hygiene {
			ew.printf("-- hygiene: saves no time in this workload; keeps future deletes and key updates from scanning\n")
		}
		writeFixSQL(ew, e, printed, e.Advisory)
	}
	if ew.err != nil {
		return fmt.Errorf("write SQL script: %w", ew.err)
	}
	return nil
}
