package history

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Printer writes a report in one format.
type Printer func(io.Writer, *Report) error

// Printers maps a --format name of pgadvisor report to its printer.
var Printers = map[string]Printer{"json": JSON, "markdown": Markdown, "table": Table, "html": HTML}

// Formats lists the format names, for flag help.
func Formats() []string { return []string{"table", "json", "markdown", "html"} }

// listed is how many unchanged statements the text formats show.
const listed = 10

// JSON prints the contract.
func JSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

func periodText(r *Report) string {
	from := "the statistics' reset"
	if r.Period.From != nil {
		from = r.Period.From.Format(time.RFC3339)
	}
	s := fmt.Sprintf("%s to %s", from, r.Period.To.Format(time.RFC3339))
	if r.Period.Note != "" {
		s += " (" + r.Period.Note + ")"
	}
	return s
}

func ms(v float64) string { return fmt.Sprintf("%.3f", v) }

func change(d StatementDelta) string {
	if d.Previous == nil || d.Verdict == VerdictGone || d.Calls == 0 {
		return ""
	}
	return fmt.Sprintf("%+.0f%%", d.MeanChange*100)
}

func shortQuery(q string, n int) string {
	q = strings.Join(strings.Fields(q), " ")
	if r := []rune(q); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return q
}

// shown are the statements the text formats list: every one whose verdict
// is not unchanged, then the heaviest unchanged ones that ran in the
// interval.
func shown(r *Report) []StatementDelta {
	var out []StatementDelta
	unchanged := 0
	for _, d := range r.Statements {
		if d.Verdict == VerdictUnchanged {
			if unchanged >= listed || d.Calls == 0 {
				continue
			}
			unchanged++
		}
		out = append(out, d)
	}
	return out
}

func prevMean(d StatementDelta) string {
	if d.Previous == nil {
		return "-"
	}
	return ms(d.Previous.MeanMS)
}

// Change says what was applied: the index, or the setting with its values
// before and after and whose it is.
func (e AdviceEffect) Change() string {
	if e.Setting == "" {
		return e.Index
	}
	c := e.Setting + " " + e.ValueBefore + " → " + e.ValueAfter
	if e.Role != "" {
		return c + " for role " + e.Role
	}
	return c + " server-wide"
}

func effectBlocks(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f", *v)
}

func effectMean(v *float64) string {
	if v == nil {
		return "-"
	}
	return ms(*v)
}

func verdictCounts(r *Report) string {
	var parts []string
	for _, v := range []string{VerdictRegressed, VerdictNew, VerdictImproved, VerdictUnchanged, VerdictGone} {
		parts = append(parts, fmt.Sprintf("%d %s", r.Summary.Verdicts[v], v))
	}
	return strings.Join(parts, ", ")
}

// Table prints the report for a terminal.
func Table(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "pgadvisor report: %s (database %s)\n", r.Target, r.Database)
	fmt.Fprintf(&b, "Period: %s\n", periodText(r))
	fmt.Fprintf(&b, "Statements: %s; %d calls, %s ms in the interval\n\n", verdictCounts(r), r.Summary.Calls, ms(r.Summary.TotalMS))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERDICT\tCALLS\tMEAN MS\tBEFORE\tCHANGE\tTOTAL MS\tQUERYID\tQUERY")
	for _, d := range shown(r) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Verdict, d.Calls, ms(d.MeanMS), prevMean(d), change(d), ms(d.TotalMS), d.QueryID, shortQuery(d.Query, 60))
	}
	tw.Flush()
	if len(r.Findings) > 0 {
		b.WriteString("\nFindings:\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "STATUS\tFIRST SEEN\tSEVERITY\tRULE\tOBJECTS\tMESSAGE")
		for _, f := range r.Findings {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Status, f.FirstSeen.Format("2006-01-02"), f.Severity, f.Rule, strings.Join(f.Objects, ", "), shortQuery(f.Message, 100))
		}
		tw.Flush()
	}
	if len(r.AdviceEffects) > 0 {
		b.WriteString("\nAdvice applied:\n")
		for _, e := range r.AdviceEffects {
			detail := fmt.Sprintf("%d bytes, %d scans", e.IndexBytes, e.IndexScans)
			if e.Setting != "" {
				detail = fmt.Sprintf("temp blocks per call %s before, %s after", effectBlocks(e.TempBlksBefore), effectBlocks(e.TempBlksAfter))
			}
			fmt.Fprintf(&b, "  %s %s (%s, %s): mean %s ms before, %s ms after, statements %s\n", e.Applied, e.Change(), e.Rule, detail, effectMean(e.MeanMSBefore), effectMean(e.MeanMSAfter), strings.Join(e.Statements, ", "))
		}
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "\nProblem (%s): %s\n", p.Phase, p.Message)
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// Markdown prints the report for a ticket or a chat post.
func Markdown(w io.Writer, r *Report) error {
	var b strings.Builder
	cell := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "`", "'") }
	fmt.Fprintf(&b, "## pgadvisor report: %s\n\n", cell(r.Target))
	fmt.Fprintf(&b, "Period: %s\n\n", periodText(r))
	fmt.Fprintf(&b, "Statements: %s; %d calls, %s ms in the interval.\n\n", verdictCounts(r), r.Summary.Calls, ms(r.Summary.TotalMS))
	b.WriteString("| Verdict | Calls | Mean ms | Before | Change | Total ms | Query |\n|---|---:|---:|---:|---:|---:|---|\n")
	for _, d := range shown(r) {
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | `%s` |\n", d.Verdict, d.Calls, ms(d.MeanMS), prevMean(d), change(d), ms(d.TotalMS), cell(shortQuery(d.Query, 80)))
	}
	if len(r.Findings) > 0 {
		b.WriteString("\n### Findings\n\n| Status | First seen | Severity | Rule | Objects | Message |\n|---|---|---|---|---|---|\n")
		for _, f := range r.Findings {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", f.Status, f.FirstSeen.Format("2006-01-02"), f.Severity, f.Rule, cell(strings.Join(f.Objects, ", ")), cell(f.Message))
		}
	}
	if len(r.AdviceEffects) > 0 {
		b.WriteString("\n### Did the advice work\n\n| Applied | Change | Rule | Mean ms before | Mean ms after | Temp blocks per call before | after | Size bytes | Scans |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n")
		for _, e := range r.AdviceEffects {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %d | %d |\n", e.Applied, cell(e.Change()), e.Rule, effectMean(e.MeanMSBefore), effectMean(e.MeanMSAfter), effectBlocks(e.TempBlksBefore), effectBlocks(e.TempBlksAfter), e.IndexBytes, e.IndexScans)
		}
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "\n> Problem (%s): %s\n", p.Phase, cell(p.Message))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// Regressions says whether the report should fail --fail-on-regression: a
// statement regressed or an error-level finding is new.
func (r *Report) Regressions() bool {
	for _, d := range r.Statements {
		if d.Verdict == VerdictRegressed {
			return true
		}
	}
	for _, f := range r.Findings {
		if f.Status == StatusNew && f.Severity == "error" && r.Period.Compared {
			return true
		}
	}
	return false
}
