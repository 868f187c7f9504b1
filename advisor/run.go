package advisor

import (
	"fmt"
	"math"
	"sort"

	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// Result is the outcome of a run.
type Result struct {
	Findings []Finding `json:"findings"`
	// Suppressed are the findings an ignore entry took out, with its reason.
	Suppressed []Suppressed `json:"suppressed,omitempty"`
	// UnmatchedIgnores are the ignore entries that matched no finding.
	UnmatchedIgnores []Ignore `json:"unmatched_ignores,omitempty"`
	// RuleErrors are rules that failed; the other rules' findings are still reported.
	RuleErrors []string `json:"rule_errors,omitempty"`
	// Statements is the number of workload statements considered.
	Statements int `json:"statements"`
	// TotalMS is the workload's total statement time, milliseconds.
	TotalMS float64 `json:"total_ms"`
	// Parsed are the statements the rules read (model.Statements), for the
	// report to list without parsing them again.
	Parsed []*model.Statement `json:"-"`
}

// Run runs rules over a snapshot, then the findings pipeline (Process):
// findings that say the same are merged, fixes linked, the policy's ignore
// entries and severities applied, and the rest ranked: most time first, then
// severity, rule and message.
func Run(snap *pgstat.Snapshot, rules []*Rule, opts Options) Result {
	stmts, total := model.Statements(snap)
	res := Result{Statements: len(stmts), TotalMS: total, Parsed: stmts}
	pass := &Pass{Snapshot: snap, Statements: stmts, TotalMS: total, Options: opts}
	var found []Finding
	for _, r := range rules {
		pass.report = func(f Finding) {
			if f.Rule == "" {
				f.Rule = r.Name
			}
			if f.Severity == "" {
				f.Severity = r.Severity
			}
			found = append(found, f)
		}
		if err := runRule(r, pass); err != nil {
			res.RuleErrors = append(res.RuleErrors, fmt.Sprintf("%s: %v", r.Name, err))
		}
	}
	p := &Processing{Findings: found, Policy: opts.Policy, Standby: snap.Server.InRecovery, Indexes: snap.Indexes}
	if len(snap.FixChecks) > 0 {
		p.FixChecks = map[string]string{}
		for _, c := range snap.FixChecks {
			p.FixChecks[c.SQL] = c.Error
		}
	}
	Process(p)
	res.Findings, res.Suppressed, res.UnmatchedIgnores = p.Findings, p.Suppressed, p.UnmatchedIgnores
	return res
}

// runRule runs one rule, turning a panic into an error so that one broken rule
// does not lose the others' findings.
func runRule(r *Rule, p *Pass) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return r.Run(p)
}

// Rank sorts findings: most time first, then severity, rule id and message.
func Rank(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Impact.TotalMS != b.Impact.TotalMS {
			return a.Impact.TotalMS > b.Impact.TotalMS
		}
		if a.Severity.Rank() != b.Severity.Rank() {
			return a.Severity.Rank() > b.Severity.Rank()
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
	})
}

// StatementImpact is the impact of a finding about one statement.
func (p *Pass) StatementImpact(s *model.Statement) Impact {
	return Impact{TotalMS: round(s.TotalTime(), 1), Share: round(s.Share, 4), Calls: s.Calls}
}

// StatementFinding fills the statement fields of a finding.
func (p *Pass) StatementFinding(s *model.Statement, f Finding) Finding {
	f.Query = s.Query
	if s.QueryID != 0 {
		f.QueryID = s.ID().String()
	}
	if s.Facts != nil {
		f.Fingerprint = s.Facts.Fingerprint
	}
	if f.Impact == (Impact{}) {
		f.Impact = p.StatementImpact(s)
	}
	return f
}

func round(v float64, digits int) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0 // JSON has no NaN or Inf; a ratio over nothing is reported as 0
	}
	p := 1.0
	for i := 0; i < digits; i++ {
		p *= 10
	}
	return num.RoundTo(v, p)
}
