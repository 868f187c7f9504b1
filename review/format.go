package review

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/pgadvisor/pgadvisor/advisor"
)

// Printer writes a review result in one format.
type Printer func(w io.Writer, r *Result) error

// Printers are the review formats by name.
var Printers = map[string]Printer{
	"text":     Text,
	"json":     JSON,
	"sarif":    SARIF,
	"github":   GitHub,
	"markdown": Markdown,
}

// Formats are the names of Printers, sorted.
func Formats() []string {
	var out []string
	for k := range Printers {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Tool is the name and version the reports carry; the command sets Version.
var Tool = struct{ Name, Version, InformationURI string }{Name: "pgadvisor", Version: "dev"}

// summaryLine says what was reviewed and found.
func summaryLine(r *Result) string {
	counts := map[advisor.Severity]int{}
	for _, f := range r.Findings {
		counts[f.Severity]++
	}
	s := fmt.Sprintf("%d %s in %d %s: %d %s (%d error, %d warning, %d notice)",
		r.Statements, plural(r.Statements, "statement", "statements"), r.Files, plural(r.Files, "file", "files"),
		len(r.Findings), plural(len(r.Findings), "finding", "findings"),
		counts[advisor.SeverityError], counts[advisor.SeverityWarning], counts[advisor.SeverityNotice])
	if n := len(r.Suppressed); n > 0 {
		s += fmt.Sprintf("; %d suppressed", n)
	}
	if r.Baselined > 0 {
		s += fmt.Sprintf("; %d in the baseline, not shown", r.Baselined)
	}
	if st := r.Staging; st != nil {
		s += fmt.Sprintf("; staging (PostgreSQL %s): %d planned, %d not, explain %.0f ms, what-if %.0f ms",
			st.Server, st.Planned, st.NotPlanned, st.TimingsMS["explain"], st.TimingsMS["what_if"])
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// unmatchedIgnores says, for each ignore entry of the configuration that
// matched no finding, so (as the audit's report does).
func unmatchedIgnores(r *Result) []string {
	var out []string
	for _, ig := range r.UnmatchedIgnores {
		what := ig.Object
		if what == "" {
			what = "fingerprint " + ig.Fingerprint
		}
		out = append(out, fmt.Sprintf("ignore entry for %s on %s matched no finding: the problem is gone, or the entry is misspelled", ig.Rule, what))
	}
	return out
}

// Text prints one finding a line, path:line:col: severity rule: message,
// with its fix indented below, then the notes and a summary.
func Text(w io.Writer, r *Result) error {
	var b strings.Builder
	for _, f := range r.Findings {
		l := f.Location
		fmt.Fprintf(&b, "%s:%d:%d: %s %s: %s\n", l.Path, l.Line, l.Column, f.Severity, f.Rule, f.Message)
		if f.Fix != nil {
			fmt.Fprintf(&b, "    fix: %s\n", f.Fix.Summary)
			for _, sql := range f.Fix.SQL {
				for _, line := range strings.Split(sql, "\n") {
					fmt.Fprintf(&b, "        %s\n", line)
				}
			}
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "%s: note: %s\n", n.where(), n.Message)
	}
	for _, m := range unmatchedIgnores(r) {
		fmt.Fprintf(&b, "pgadvisor: note: %s\n", m)
	}
	for _, e := range r.RuleErrors {
		fmt.Fprintf(&b, "pgadvisor: rule failed: %s\n", e)
	}
	b.WriteString(summaryLine(r) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// jsonReport is the JSON form: the report contract (schema_version 1) with
// each finding's location.
type jsonReport struct {
	SchemaVersion int               `json:"schema_version"`
	Tool          map[string]string `json:"tool"`
	GeneratedAt   string            `json:"generated_at"`
	Summary       jsonSummary       `json:"summary"`
	Findings      []Finding         `json:"findings"`
	Suppressed    []Suppressed      `json:"suppressed,omitempty"`
	Notes         []Note            `json:"notes,omitempty"`
	// UnmatchedIgnores are the configuration's ignore entries that matched no finding.
	UnmatchedIgnores []advisor.Ignore `json:"unmatched_ignores,omitempty"`
	RuleErrors       []string         `json:"rule_errors,omitempty"`
	Staging          *StagingSummary  `json:"staging,omitempty"`
}

type jsonSummary struct {
	Source       string         `json:"source"`
	Files        int            `json:"files"`
	Statements   int            `json:"statements"`
	FindingCount map[string]int `json:"finding_count"`
	Suppressed   int            `json:"suppressed"`
	Baselined    int            `json:"baselined"`
}

// Now is the clock of generated_at (tests fix it).
var Now = func() time.Time { return time.Now().UTC() }

// JSON prints the report contract with a location per finding.
func JSON(w io.Writer, r *Result) error {
	counts := map[string]int{"error": 0, "warning": 0, "notice": 0}
	for _, f := range r.Findings {
		counts[string(f.Severity)]++
	}
	rep := jsonReport{
		SchemaVersion: 1,
		Tool:          map[string]string{"name": Tool.Name, "version": Tool.Version},
		GeneratedAt:   Now().Format(time.RFC3339),
		Summary: jsonSummary{Source: "review", Files: r.Files, Statements: r.Statements, FindingCount: counts,
			Suppressed: len(r.Suppressed), Baselined: r.Baselined},
		Findings:         r.Findings,
		Suppressed:       r.Suppressed,
		Notes:            r.Notes,
		UnmatchedIgnores: r.UnmatchedIgnores,
		RuleErrors:       r.RuleErrors,
		Staging:          r.Staging,
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// sarifLevel maps a severity to SARIF's level.
func sarifLevel(s advisor.Severity) string {
	switch s {
	case advisor.SeverityError:
		return "error"
	case advisor.SeverityWarning:
		return "warning"
	}
	return "note"
}

// SARIF prints a SARIF 2.1.0 log with what GitHub code scanning reads:
// every rule of the catalog that has a result in tool.driver.rules (id,
// shortDescription, fullDescription, help), results with a message, a
// relative artifactLocation.uri, a full region and partialFingerprints
// derived from the statement's fingerprint (so that alerts follow a
// statement that moves).
func SARIF(w io.Writer, r *Result) error {
	log, err := sarif.New(sarif.Version210)
	if err != nil {
		return fmt.Errorf("SARIF: %w", err)
	}
	run := sarif.NewRunWithInformationURI(Tool.Name, Tool.InformationURI)
	if Tool.InformationURI == "" {
		run = sarif.NewRun(sarif.Tool{Driver: &sarif.ToolComponent{Name: Tool.Name}})
	}
	run.Tool.Driver.WithVersion(Tool.Version)
	index := map[string]int{}
	for _, f := range r.Findings {
		if _, ok := index[f.Rule]; ok {
			continue
		}
		rd := run.AddRule(f.Rule)
		if rule := advisor.Lookup(f.Rule); rule != nil {
			_, rest, _ := strings.Cut(rule.Doc, "\n")
			rd.WithName(ruleName(rule.Name)).
				WithShortDescription(sarif.NewMultiformatMessageString(rule.Title())).
				WithFullDescription(sarif.NewMultiformatMessageString(strings.Join(strings.Fields(rest), " "))).
				WithHelp(sarif.NewMultiformatMessageString(strings.TrimSpace(rule.Doc) + "\n\nWhen: " + rule.Criteria).
					WithMarkdown("**" + rule.Title() + "**\n\n" + strings.TrimSpace(rest) + "\n\n" + "When: " + rule.Criteria)).
				WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel(sarifLevel(rule.Severity)))
		}
		index[f.Rule] = len(run.Tool.Driver.Rules) - 1
	}
	run.Results = []*sarif.Result{}
	for _, f := range r.Findings {
		l := f.Location
		msg := f.Message
		if f.Fix != nil {
			msg += "\nFix: " + f.Fix.Summary
			for _, sql := range f.Fix.SQL {
				msg += "\n" + sql
			}
		}
		res := run.CreateResultForRule(f.Rule).
			WithRuleIndex(index[f.Rule]).
			WithLevel(sarifLevel(f.Severity)).
			WithMessage(sarif.NewTextMessage(msg))
		res.AddLocation(sarif.NewLocationWithPhysicalLocation(sarif.NewPhysicalLocation().
			WithArtifactLocation(sarif.NewSimpleArtifactLocation(l.Path)).
			WithRegion(sarif.NewRegion().WithStartLine(l.Line).WithStartColumn(l.Column).WithEndLine(l.EndLine).WithEndColumn(l.EndColumn))))
		res.WithPartialFingerPrints(map[string]interface{}{"pgadvisorFingerprint/v1": PartialFingerprint(f)})
	}
	log.AddRun(run)
	if err := log.PrettyWrite(w); err != nil {
		return fmt.Errorf("write SARIF: %w", err)
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// PartialFingerprint identifies a finding across moves of its statement:
// rule, statement fingerprint and path, never a line number.
func PartialFingerprint(f Finding) string {
	return textHash(f.Rule + "\x00" + f.Fingerprint + "\x00" + f.Location.Path)
}

// ruleName is a rule id in SARIF's PascalCase name form: NonSargable.
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.Split(id, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// ghEscape escapes a workflow command's message (and, with comma and colon,
// a property value) as GitHub Actions reads them.
func ghEscape(s string, property bool) string {
	s = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
	if property {
		s = strings.NewReplacer(":", "%3A", ",", "%2C").Replace(s)
	}
	return s
}

// GitHub prints one workflow command per finding (::error, ::warning or
// ::notice with file, line, col, endLine, endColumn and title), which the
// Actions log shows as annotations on the pull request's diff.
func GitHub(w io.Writer, r *Result) error {
	var b strings.Builder
	for _, f := range r.Findings {
		l := f.Location
		level := string(f.Severity)
		msg := f.Message
		if f.Fix != nil {
			msg += "\nfix: " + f.Fix.Summary
			for _, sql := range f.Fix.SQL {
				msg += "\n" + sql
			}
		}
		fmt.Fprintf(&b, "::%s file=%s,line=%d,col=%d,endLine=%d,endColumn=%d,title=%s::%s\n", level,
			ghEscape(l.Path, true), l.Line, l.Column, l.EndLine, l.EndColumn, ghEscape("pgadvisor "+f.Rule, true), ghEscape(msg, false))
	}
	for _, n := range r.Notes {
		line := ""
		if n.Line > 0 {
			line = fmt.Sprintf(",line=%d,col=%d", n.Line, n.Column)
		}
		fmt.Fprintf(&b, "::notice file=%s%s,title=pgadvisor::%s\n", ghEscape(n.Path, true), line, ghEscape(n.Message, false))
	}
	b.WriteString(summaryLine(r) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Markdown prints a pull-request comment: a summary, then a table of the
// findings with their fixes.
func Markdown(w io.Writer, r *Result) error {
	var b strings.Builder
	b.WriteString("### pgadvisor review\n\n" + summaryLine(r) + ".\n\n")
	if len(r.Findings) > 0 {
		b.WriteString("| where | severity | rule | finding |\n|---|---|---|---|\n")
		for _, f := range r.Findings {
			l := f.Location
			fmt.Fprintf(&b, "| `%s:%d:%d` | %s | `%s` | %s |\n", l.Path, l.Line, l.Column, f.Severity, f.Rule, mdCell(f.Message))
		}
		var fixes []Finding
		for _, f := range r.Findings {
			if f.Fix != nil && len(f.Fix.SQL) > 0 {
				fixes = append(fixes, f)
			}
		}
		if len(fixes) > 0 {
			b.WriteString("\n#### Fixes\n")
			for _, f := range fixes {
				fmt.Fprintf(&b, "\n`%s:%d` (%s): %s\n\n```sql\n%s\n```\n", f.Location.Path, f.Location.Line, f.Rule, f.Fix.Summary, strings.Join(f.Fix.SQL, ";\n")+";")
			}
		}
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n#### Not reviewed\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- `%s`: %s\n", n.where(), n.Message)
		}
	}
	if m := unmatchedIgnores(r); len(m) > 0 {
		b.WriteString("\n#### Configuration\n\n")
		for _, line := range m {
			fmt.Fprintf(&b, "- %s\n", line)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// where is the note's path, with its line and column when it has one.
func (n Note) where() string {
	if n.Line > 0 {
		return fmt.Sprintf("%s:%d:%d", n.Path, n.Line, n.Column)
	}
	return n.Path
}
