package review

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/pgadvisor/pgadvisor/advisor"
)

// ignoreComment is "pgadvisor-ignore RULE[, RULE…]: reason" (or
// pgadvisor-ignore-file), the comment marker already removed.
var ignoreComment = regexp.MustCompile(`^pgadvisor-ignore(-file)?(?:\s+([A-Za-z0-9_, -]*?))?\s*(?::\s*(.*))?$`)

// ignore is one parsed suppression comment.
type ignore struct {
	rules  []string
	reason string
	file   bool
	line   int
	column int
}

// parseIgnore reads a comment; ok is false when it is no pgadvisor-ignore.
func parseIgnore(c Comment) (ig ignore, ok bool) {
	if !strings.HasPrefix(c.Text, "pgadvisor-ignore") {
		return ignore{}, false
	}
	m := ignoreComment.FindStringSubmatch(c.Text)
	if m == nil {
		return ignore{line: c.Line, column: c.Column}, true // malformed: no rule, no reason
	}
	ig = ignore{file: m[1] != "", reason: strings.TrimSpace(m[3]), line: c.Line, column: c.Column}
	for _, r := range strings.FieldsFunc(m[2], func(r rune) bool { return r == ',' || r == ' ' }) {
		ig.rules = append(ig.rules, r)
	}
	return ig, true
}

// problem is what is wrong with a suppression comment, "" when it is valid.
func (ig ignore) problem() string {
	if len(ig.rules) == 0 {
		return "pgadvisor-ignore names no rule: write -- pgadvisor-ignore RULE: reason"
	}
	for _, r := range ig.rules {
		if advisor.Lookup(r) == nil {
			return fmt.Sprintf("pgadvisor-ignore names %q, which is no rule (pgadvisor rules lists them)", r)
		}
	}
	if ig.reason == "" {
		return fmt.Sprintf("pgadvisor-ignore %s gives no reason, so it suppresses nothing: write -- pgadvisor-ignore %s: why it does not apply", strings.Join(ig.rules, ", "), strings.Join(ig.rules, ", "))
	}
	return ""
}

func (ig ignore) covers(rule string) bool {
	for _, r := range ig.rules {
		if r == rule {
			return true
		}
	}
	return false
}

// suppressInline applies the pgadvisor-ignore comments of each statement
// and pgadvisor-ignore-file comments of each file to the findings, and
// reports every comment without a reason (or naming no rule) as an
// ignore-without-reason finding, which cannot itself be suppressed.
func suppressInline(files []*File, found []Finding, enabled func(string) bool) ([]Finding, []Suppressed) {
	type key struct {
		path string
		line int
	}
	byStatement := map[key][]ignore{} // by the statement's path and first line
	fileIgnores := map[string][]ignore{}
	reported := map[key]bool{} // misplaced file ignores, once each
	var problems []Finding
	report := func(path string, ig ignore, msg string) {
		if !enabled(advisor.IgnoreWithoutReason.Name) {
			return
		}
		problems = append(problems, Finding{
			Finding: advisor.Finding{
				Rule:        advisor.IgnoreWithoutReason.Name,
				Severity:    advisor.IgnoreWithoutReason.Severity,
				Message:     msg,
				Objects:     []string{},
				Fingerprint: textHash(fmt.Sprintf("%s:%s", strings.Join(ig.rules, ","), msg)),
			},
			Location: Location{Path: path, Line: ig.line, Column: max(ig.column, 1), EndLine: ig.line + 1, EndColumn: 1},
		})
	}
	for _, f := range files {
		top := map[int]bool{} // lines of the file's top comments
		for _, c := range f.FileComments {
			top[c.Line] = true
			if ig, ok := parseIgnore(c); ok && ig.file {
				if msg := ig.problem(); msg != "" {
					report(f.Path, ig, msg)
					continue
				}
				fileIgnores[f.Path] = append(fileIgnores[f.Path], ig)
			}
		}
		for _, st := range f.Statements {
			for _, c := range st.Comments {
				ig, ok := parseIgnore(c)
				if !ok {
					continue
				}
				if ig.file {
					if !top[c.Line] && !reported[key{f.Path, c.Line}] {
						// Below the first statement: it would seem to apply, and does not.
						reported[key{f.Path, c.Line}] = true
						report(f.Path, ig, "pgadvisor-ignore-file is read only at the top of a file, before its first statement: it suppresses nothing here (use pgadvisor-ignore for this statement, or move it up)")
					}
					continue
				}
				if msg := ig.problem(); msg != "" {
					report(f.Path, ig, msg)
					continue
				}
				k := key{f.Path, st.Location.Line}
				byStatement[k] = append(byStatement[k], ig)
			}
		}
	}
	var kept []Finding
	var suppressed []Suppressed
	for _, fd := range found {
		hit := false
		for _, ig := range fileIgnores[fd.Location.Path] {
			if ig.covers(fd.Rule) {
				suppressed = append(suppressed, Suppressed{Finding: fd, Reason: ig.reason, By: "file"})
				hit = true
				break
			}
		}
		if !hit {
			for _, ig := range byStatement[key{fd.Location.Path, fd.stmtLine}] {
				if ig.covers(fd.Rule) {
					suppressed = append(suppressed, Suppressed{Finding: fd, Reason: ig.reason, By: "inline"})
					hit = true
					break
				}
			}
		}
		if !hit {
			kept = append(kept, fd)
		}
	}
	return append(kept, problems...), suppressed
}

// applyPolicy applies the configuration's ignore entries and severity
// overrides through the advisor's own policy steps (advisor.ApplyPolicy:
// the audit's semantics), not through advisor.Process, whose merge would
// join findings at different places of the repository.
func applyPolicy(found []Finding, policy advisor.Policy) ([]Finding, []Suppressed, []advisor.Ignore) {
	p := &advisor.Processing{Policy: policy}
	for i, f := range found {
		g := f.Finding
		g.QueryID = strconv.Itoa(i) // which review finding it is; review's findings carry none
		p.Findings = append(p.Findings, g)
	}
	advisor.ApplyPolicy(p)
	back := func(g advisor.Finding) Finding {
		i, _ := strconv.Atoi(g.QueryID)
		f := found[i]
		g.QueryID = f.QueryID
		f.Finding = g
		return f
	}
	kept := make([]Finding, 0, len(p.Findings))
	for _, g := range p.Findings {
		kept = append(kept, back(g))
	}
	var suppressed []Suppressed
	for _, s := range p.Suppressed {
		suppressed = append(suppressed, Suppressed{Finding: back(s.Finding), Reason: s.Reason, By: s.By})
	}
	return kept, suppressed, p.UnmatchedIgnores
}

// textHash is a stable 16-hex-digit identity of a text, for what has no
// pg_query fingerprint (a statement that does not parse, a comment).
func textHash(s string) string {
	sum := sha256.Sum256([]byte(strings.Join(strings.Fields(s), " ")))
	return hex.EncodeToString(sum[:8])
}
