// Package advisor owns the rules, the findings they report, their registry and
// the run: running every rule over a snapshot's statements (model.Statements:
// statistics + SQL facts + plan), de-duplicating and ranking. Rules are small pure
// functions over a Pass: they never query the database and never print.
package advisor

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// Rule is one check. Doc's first line is its title; the rest says what it looks
// for, why it matters and how to fix it. Criteria says when it reports, naming
// its thresholds by key without their values: ThresholdsText adds them, with
// their defaults, from the rule's thresholds struct (Options.<Rule>) and the
// common ones Criteria names.
type Rule struct {
	Name     string
	Family   string // plan, what-if, workload, activity, sql, catalog, review
	Severity Severity
	Doc      string
	Criteria string
	// Evidence is the rule's evidence model, for workload and activity
	// rules: what it counts as proof, over which period, and why a large
	// count alone is not enough (docs/rules.md prints it).
	Evidence string
	Run      func(*Pass) error
}

// Title is the first line of Doc.
func (r *Rule) Title() string {
	title, _, _ := strings.Cut(r.Doc, "\n")
	return title
}

// Pass carries a rule's inputs and its Report callback.
type Pass struct {
	Snapshot *pgstat.Snapshot
	// Statements are the workload's statements, heaviest first: the current
	// database's, without pgadvisor's own, catalog-only statements, utility
	// statements or the internal foreign-key checks.
	Statements []*model.Statement
	// TotalMS is the workload's total statement time, milliseconds.
	TotalMS float64
	Options Options
	report  func(Finding)

	indexAdvice *indexAdvice // computed once per run, shared by the index rules
}

// Report records a finding. Objects is made non-nil.
func (p *Pass) Report(f Finding) {
	if f.Objects == nil {
		f.Objects = []string{}
	}
	p.report(f)
}

// Table returns the snapshot's table by schema and name (schema "" prefers public).
func (p *Pass) Table(schema, name string) *pgstat.Table { return p.Snapshot.Table(schema, name) }

// IndexesOf returns the indexes of a table.
func (p *Pass) IndexesOf(t *pgstat.Table) []*pgstat.Index {
	var out []*pgstat.Index
	for i := range p.Snapshot.Indexes {
		ix := &p.Snapshot.Indexes[i]
		if ix.Schema == t.Schema && ix.Table == t.Name {
			out = append(out, ix)
		}
	}
	return out
}

var ruleName = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// Validate checks that the rules have unique kebab-case names, a doc, a family,
// a severity and a Run function.
func Validate(rules []*Rule) error {
	seen := map[string]bool{}
	for _, r := range rules {
		switch {
		case !ruleName.MatchString(r.Name):
			return fmt.Errorf("rule %q: name must be kebab-case", r.Name)
		case seen[r.Name]:
			return fmt.Errorf("rule %q: registered twice", r.Name)
		case strings.TrimSpace(r.Doc) == "":
			return fmt.Errorf("rule %q: empty doc", r.Name)
		case r.Family == "":
			return fmt.Errorf("rule %q: no family", r.Name)
		case r.Severity.Rank() == 0:
			return fmt.Errorf("rule %q: invalid severity %q", r.Name, r.Severity)
		case r.Run == nil:
			return fmt.Errorf("rule %q: no Run", r.Name)
		}
		seen[r.Name] = true
	}
	return nil
}
