package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/internal/num"
)

// Width is the width the table view fits in.
const Width = 100

// findingWidth is the width of the FINDING column's text: Width minus the
// rank and impact columns and the borders and padding.
const findingWidth = Width - 4 - 12 - 10

// TableOptions change how the table view is printed; the zero value is
// plain text, what Table prints.
type TableOptions struct {
	// Colour marks severities with ANSI colours. The caller decides (a
	// terminal, NO_COLOR unset); the printer never probes its writer.
	Colour bool
}

// TableWith returns the table printer with opts.
func TableWith(opts TableOptions) Printer {
	return func(w io.Writer, r *Report) error { return table(w, r, opts) }
}

// Table prints the report for a person: a header saying what was audited,
// collection problems, then the findings grouped by rule (groups in the order
// of their heaviest finding), each with its rank, impact, evidence and fix.
func Table(w io.Writer, r *Report) error { return table(w, r, TableOptions{}) }

// ANSI SGR sequences of the severities.
var severityColours = map[advisor.Severity]string{
	advisor.SeverityError:   "\x1b[1;31m", // bold red
	advisor.SeverityWarning: "\x1b[33m",   // yellow
	advisor.SeverityNotice:  "\x1b[36m",   // cyan
}

// SeverityLabel is the severity as the table prints it, upper case, in its
// colour when colour is on.
func SeverityLabel(s advisor.Severity, colour bool) string {
	label := strings.ToUpper(string(s))
	if code, ok := severityColours[s]; ok && colour {
		return code + label + "\x1b[0m"
	}
	return label
}

func table(w io.Writer, r *Report, opts TableOptions) error {
	ew := &errWriter{w: w}
	server := "PostgreSQL " + orDash(r.Server.Version)
	if r.Server.InRecovery {
		server += " hot standby (in recovery)"
	}
	ew.printf("pgadvisor %s — %s, database %s\n", r.Tool.Version, server, orDash(r.Database))
	if r.Server.InRecovery {
		ew.printf("%s\n", wrap(standbyNote, Width))
	}
	s := r.Summary
	line := fmt.Sprintf("%d statements, %s of statement time", s.Statements, Duration(s.TotalMS))
	if s.StatsSince != nil {
		line += " since " + s.StatsSince.UTC().Format("2006-01-02 15:04 UTC")
	}
	if len(s.PlansByMode) > 0 {
		var parts []string
		for _, m := range []string{"analyze", "generic", "plain", "error", "skipped"} {
			if n := s.PlansByMode[m]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, m))
			}
		}
		line += "; plans: " + strings.Join(parts, ", ")
	}
	if one, ok := singleStatementLine(s); ok {
		line = one
	}
	ew.printf("%s\n", line)
	for _, note := range collectionNotes(s) {
		// wrap, not indentWrap: a first word no longer than the indent
		// would lose its space ("30statements").
		ew.printf("%s\n", wrap(note, Width))
	}
	if len(r.Plan) > 0 {
		ew.printf("\nPlan:\n")
		for _, l := range r.Plan {
			ew.printf("  %s\n", l)
		}
	}
	if len(r.Findings) == 0 {
		ew.printf("\nNo findings.\n")
	} else {
		line := fmt.Sprintf("%s: %d error, %d warning, %d notice", plural(len(r.Findings), "finding"), s.FindingCount["error"], s.FindingCount["warning"], s.FindingCount["notice"])
		if s.ConcernedMS > 0 && s.TotalMS > 0 {
			line += fmt.Sprintf("; they concern statements taking %s (%.1f%% of the statement time, each statement counted once)", Duration(s.ConcernedMS), s.ConcernedMS/s.TotalMS*100)
		}
		ew.printf("%s\n", wrap(line, Width))
	}
	for _, l := range suppressionNotes(r) {
		ew.printf("%s\n", wrap(l, Width))
	}
	if len(r.Problems) > 0 {
		ew.printf("\nNot collected (findings below are from what was):\n")
		for _, p := range r.Problems {
			msg := fmt.Sprintf("- %s: %s", p.Phase, p.Message)
			if p.Fix != "" {
				msg += " — fix: " + p.Fix
			}
			ew.printf("%s\n", indentWrap(msg, Width, "  "))
		}
	}
	for _, e := range r.RuleErrors {
		ew.printf("rule failed: %s\n", e)
	}
	writeWhatIfTries(ew, r.WhatIf, false)
	writeTopStatements(ew, r.TopStatements, false)
	writeNotPlanned(ew, r.NotPlanned, false)
	if ew.err != nil {
		return ew.err
	}
	fixes := r.Fixes
	if fixes == nil {
		fixes = Fixes(r.Findings)
	}
	labels := map[string]string{}
	for _, e := range fixes {
		labels[e.FixID] = e.Label
	}
	for _, g := range groupByRule(r.Findings) {
		title := g.rule
		if rule := advisor.Lookup(g.rule); rule != nil {
			title += " — " + rule.Title()
		}
		ew.printf("\n%s (%d)\n", title, len(g.items))
		if ew.err != nil {
			return ew.err
		}
		t := tablewriter.NewTable(w,
			tablewriter.WithRendition(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)}),
			tablewriter.WithRowAutoWrap(tw.WrapNone),
			tablewriter.WithHeaderAutoFormat(tw.Off),
			tablewriter.WithTrimSpace(tw.Off),
			tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: []tw.Align{tw.AlignRight, tw.AlignRight, tw.AlignLeft}}),
		)
		t.Header("#", "IMPACT", "FINDING")
		for _, it := range g.items {
			if err := t.Append([]string{fmt.Sprint(it.rank), impactCell(it.f), findingCell(it.f, labels[fixKeyOf(it.f)], opts.Colour)}); err != nil {
				return fmt.Errorf("render table: %w", err)
			}
		}
		if err := t.Render(); err != nil {
			return fmt.Errorf("render table: %w", err)
		}
	}
	writeFixSections(ew, fixes)
	writeIndexCurve(ew, r.IndexCurve, false)
	return ew.err
}

// fixKeyOf is the FixID a finding's fix is listed under.
func fixKeyOf(f advisor.Finding) string {
	if f.FixID != "" || f.Fix == nil || len(f.Fix.SQL) == 0 {
		return f.FixID
	}
	return advisor.FixID(advisor.FixKey(f.Fix))
}

// writeFixSections prints the SQL of the fixes outside the tables, unwrapped
// so that it pastes into psql: "What to run" (each fix once, each statement
// once) and "Sketches to adapt" for the advisory fixes.
func writeFixSections(ew *errWriter, fixes []FixEntry) {
	var run, hygiene, sketch []FixEntry
	for _, e := range fixes {
		switch {
		case e.Advisory:
			sketch = append(sketch, e)
		case e.Hygiene:
			hygiene = append(hygiene, e)
		default:
			run = append(run, e)
		}
	}
	printed := map[string]bool{}
	section := func(list []FixEntry, heading string) {
		if len(list) == 0 {
			return
		}
		ew.printf("\n%s\n", heading)
		for _, e := range list {
			ew.printf("\n%s\n", fixHeading(e))
			if e.RunOn != "" {
				ew.printf("-- run on the %s\n", e.RunOn)
			}
			writeFixSQL(ew, e, printed, false)
		}
	}
	section(run, fmt.Sprintf("%s (%s to cut time%s; each once, for psql):\n-- autocommit: an index built CONCURRENTLY cannot be built inside a transaction block", whatToRunHeading, plural(len(run), "fix"), sizeNote(run)))
	section(hygiene, fmt.Sprintf("%s (%s%s; no time saved in this workload):\n-- they keep the deletes and key updates to come from scanning the referencing tables", hygieneHeading, plural(len(hygiene), "fix"), sizeNote(hygiene)))
	section(sketch, fmt.Sprintf("%s (%s: design changes, not to run as they are):", sketchesHeading, plural(len(sketch), "advisory fix")))
}

// suppressionNotes say how many findings the configuration suppressed and
// which ignore entries matched nothing.
func suppressionNotes(r *Report) []string {
	var out []string
	if n := len(r.Suppressed); n > 0 {
		byRule := map[string]int{}
		var rules []string
		for _, s := range r.Suppressed {
			if byRule[s.Finding.Rule] == 0 {
				rules = append(rules, s.Finding.Rule)
			}
			byRule[s.Finding.Rule]++
		}
		parts := make([]string, len(rules))
		for i, rule := range rules {
			parts[i] = fmt.Sprintf("%d %s", byRule[rule], rule)
		}
		out = append(out, fmt.Sprintf("%s suppressed by ignore entries of the configuration (%s); JSON lists them with their reasons", plural(n, "finding"), strings.Join(parts, ", ")))
	}
	for _, ig := range r.UnmatchedIgnores {
		what := ig.Object
		if what == "" {
			what = "fingerprint " + ig.Fingerprint
		}
		out = append(out, fmt.Sprintf("ignore entry for %s on %s matched no finding: the problem is gone, or the entry is misspelled", ig.Rule, what))
	}
	return out
}

type rankedFinding struct {
	rank int
	f    advisor.Finding
}

type ruleGroup struct {
	rule  string
	items []rankedFinding
}

// groupByRule keeps the advisor's ranking: groups are ordered by their first
// (heaviest) finding, findings inside a group by rank.
func groupByRule(fs []advisor.Finding) []ruleGroup {
	idx := map[string]int{}
	var groups []ruleGroup
	for i, f := range fs {
		j, ok := idx[f.Rule]
		if !ok {
			j = len(groups)
			idx[f.Rule] = j
			groups = append(groups, ruleGroup{rule: f.Rule})
		}
		groups[j].items = append(groups[j].items, rankedFinding{rank: i + 1, f: f})
	}
	return groups
}

func impactCell(f advisor.Finding) string {
	var lines []string
	if f.Impact.TotalMS > 0 {
		lines = append(lines, Duration(f.Impact.TotalMS))
	}
	if f.Impact.Share > 0 {
		lines = append(lines, fmt.Sprintf("%.1f%%", f.Impact.Share*100))
	}
	if f.Impact.Calls > 0 {
		lines = append(lines, num.Thousands(f.Impact.Calls)+" calls")
	}
	if len(lines) == 0 {
		lines = append(lines, "-")
	}
	return strings.Join(lines, "\n")
}

func findingCell(f advisor.Finding, fixLabel string, colour bool) string {
	var b strings.Builder
	// Wrapped as plain text, then coloured: escapes take no columns.
	label := SeverityLabel(f.Severity, false)
	head := wrap(label+" "+f.Message, findingWidth)
	if colour && strings.HasPrefix(head, label) {
		head = SeverityLabel(f.Severity, true) + head[len(label):]
	}
	b.WriteString(head)
	if f.Query != "" {
		b.WriteString("\n" + indentWrap("query: "+Shorten(oneLine(f.Query), 240), findingWidth, "  "))
	}
	if ev := evidenceLine(compactEvidence(f.Evidence)); ev != "" {
		b.WriteString("\n" + indentWrap("evidence: "+ev, findingWidth, "  "))
	}
	for _, rule := range f.RelatedRules {
		msg := rule
		if ev, ok := f.Evidence[rule].(map[string]any); ok {
			if m, ok := ev["message"].(string); ok && m != "" {
				msg += ": " + Shorten(oneLine(m), 160)
			}
		}
		b.WriteString("\n" + indentWrap("also "+msg, findingWidth, "  "))
	}
	if f.Fix != nil {
		summary := "fix: " + f.Fix.Summary
		if f.Fix.Advisory {
			summary += " (advisory)"
		}
		if fixLabel != "" {
			summary += " — SQL: " + fixLabel + " below"
		}
		b.WriteString("\n" + indentWrap(summary, findingWidth, "  "))
	}
	return b.String()
}

// evidenceLine renders evidence as "key=value" pairs in key order.
func evidenceLine(ev map[string]any) string {
	if len(ev) == 0 {
		return ""
	}
	keys := make([]string, 0, len(ev))
	for k := range ev {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+valueString(ev[k]))
	}
	return strings.Join(parts, " ")
}

// compactEvidence keeps the evidence a person reads in the table view: numbers,
// flags and short words. Lists, objects and long texts stay in JSON and Markdown.
func compactEvidence(ev map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range ev {
		switch x := v.(type) {
		case string:
			if len([]rune(x)) <= 40 && !strings.ContainsAny(x, "\n") {
				out[k] = x
			}
		case bool, float64, float32, int, int64, int32, uint32, uint64:
			out[k] = x
		}
	}
	return out
}

func valueString(v any) string {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) && x < 1e15 && x > -1e15 {
			return fmt.Sprint(int64(x))
		}
		if x >= 1000 || x <= -1000 {
			return fmt.Sprintf("%.0f", x)
		}
		return fmt.Sprintf("%.4g", x)
	case float32:
		return valueString(float64(x))
	case []string:
		return strings.Join(x, ",")
	case string:
		return Shorten(oneLine(x), 80)
	}
	return Shorten(oneLine(fmt.Sprint(v)), 80)
}

// Duration formats milliseconds for people: 850 ms, 12.3 s, 4.2 min, 1.5 h.
func Duration(ms float64) string {
	switch {
	case ms < 1:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.0f ms", ms)
	case ms < 60_000:
		return fmt.Sprintf("%.1f s", ms/1000)
	case ms < 3_600_000:
		return fmt.Sprintf("%.1f min", ms/60_000)
	}
	return fmt.Sprintf("%.1f h", ms/3_600_000)
}

// Shorten cuts s to at most n runes, ending in "…" when cut.
func Shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// wrap breaks text into lines of at most width runes at spaces, breaking
// words longer than a line.
func wrap(text string, width int) string { return indentWrap(text, width, "") }

// indentWrap wraps like wrap and indents continuation lines. Leading spaces
// of the first line are kept; words are separated by one space.
func indentWrap(text string, width int, indent string) string {
	var lines []string
	lead := 0
	for lead < len(text) && text[lead] == ' ' {
		lead++
	}
	cur := []rune(text[:lead])
	hasWord := false // the current line holds a word already
	limit := width
	for _, word := range strings.Fields(text) {
		w := []rune(word)
		for len(w) > 0 {
			space := 0
			if hasWord {
				space = 1
			}
			if len(cur)+space+len(w) <= limit {
				if space == 1 {
					cur = append(cur, ' ')
				}
				cur = append(cur, w...)
				w = nil
				hasWord = true
				continue
			}
			if hasWord {
				lines = append(lines, string(cur))
				cur = []rune(indent)
				hasWord = false
				continue
			}
			room := limit - len(cur)
			if room < 1 {
				room = 1
			}
			if room > len(w) {
				room = len(w)
			}
			cur = append(cur, w[:room]...)
			w = w[room:]
			lines = append(lines, string(cur))
			cur = []rune(indent)
		}
	}
	if strings.TrimSpace(string(cur)) != "" {
		lines = append(lines, string(cur))
	}
	return strings.Join(lines, "\n")
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err != nil {
		return
	}
	_, e.err = fmt.Fprintf(e.w, format, args...)
}

// plural is "1 finding", "2 findings", "1 fix", "3 fixes".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "x") || strings.HasSuffix(noun, "s") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
