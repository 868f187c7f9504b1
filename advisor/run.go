package advisor

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// OwnMarker starts every statement pgadvisor sends; statements containing it
// are never findings.
const OwnMarker = pgstat.Marker

// fkCheck matches the statements PostgreSQL's referential-integrity triggers
// run internally: SELECT 1 FROM ONLY "s"."t" x WHERE "id" OPERATOR(pg_catalog.=) $1 FOR KEY SHARE OF x.
var fkCheck = regexp.MustCompile(`(?is)^\s*SELECT\s+1\s+FROM\s+ONLY\s+.*\bFOR\s+(KEY\s+)?SHARE\s+OF\b`)

// Statements builds the rule inputs from a snapshot: parses every statement,
// attaches recorded plans, drops what is never a finding (pgadvisor's own
// statements, internal foreign-key checks, catalog-only statements, utility
// statements) and orders them heaviest first. total is the time of all
// statements except pgadvisor's own, milliseconds: the total pg_stat_statements
// had when the snapshot was taken (TotalTime, which counts the statements
// left out too), else the sum of the kept statements.
func Statements(snap *pgstat.Snapshot) (stmts []*Statement, total float64) {
	plans := planIndex(snap)
	for _, s := range snap.Statements {
		if strings.Contains(s.Query, OwnMarker) {
			continue
		}
		total += s.TotalTime()
	}
	if ss := snap.StatStatements; ss != nil && ss.TotalTime != nil && *ss.TotalTime > total {
		total = *ss.TotalTime
	}
	for _, s := range snap.Statements {
		if strings.Contains(s.Query, OwnMarker) || fkCheck.MatchString(s.Query) {
			continue
		}
		st := &Statement{Statement: s}
		if total > 0 {
			st.Share = s.TotalTime() / total
		}
		if strings.TrimSpace(s.Query) == "" {
			// A saved plan without its text (pgadvisor explain --plan): the
			// plan rules still apply, the SQL rules have nothing to read.
			if st.Plan = plans[strconv.FormatInt(s.QueryID, 10)]; st.Plan != nil {
				stmts = append(stmts, st)
			}
			continue
		}
		// A normalised typed literal (interval $1) parses here but not on
		// the server: it is planned, and shown, as a cast ($1::interval).
		if cast := sqlfacts.CastTypedParams(s.Query); cast != s.Query {
			st.Query = cast
		}
		facts, err := sqlfacts.Analyze(st.Query)
		if err != nil {
			st.ParseError = err.Error()
		} else {
			st.Facts = facts
			if facts.Kind == sqlfacts.KindUtility || facts.Kind == sqlfacts.KindOther || catalogOnly(facts) {
				continue
			}
		}
		st.Plan = plans[strconv.FormatInt(s.QueryID, 10)]
		stmts = append(stmts, st)
	}
	sort.SliceStable(stmts, func(i, j int) bool { return stmts[i].TotalTime() > stmts[j].TotalTime() })
	return stmts, total
}

// planIndex maps queryid to the snapshot's recorded plan.
func planIndex(snap *pgstat.Snapshot) map[string]*explain.Result {
	plans := map[string]*explain.Result{}
	for i := range snap.Plans {
		if p := &snap.Plans[i]; p.QueryID != "" {
			plans[p.QueryID] = p
		}
	}
	return plans
}

// AttachPlans points each statement at its recorded plan, as Statements does,
// for statements built before the plans were recorded (so a live audit
// parses its statements once for the explain and what-if phases).
func AttachPlans(snap *pgstat.Snapshot, stmts []*Statement) {
	plans := planIndex(snap)
	for _, st := range stmts {
		st.Plan = plans[strconv.FormatInt(st.QueryID, 10)]
	}
}

// IsSystemSchema reports whether a schema holds system catalogs.
func IsSystemSchema(schema string) bool {
	return schema == "pg_catalog" || schema == "information_schema" || schema == "pg_toast" || strings.HasPrefix(schema, "pg_temp") || strings.HasPrefix(schema, "pg_toast_temp")
}

// catalogOnly reports whether a statement reads only system catalogs (or no table at all).
func catalogOnly(f *sqlfacts.Facts) bool {
	if len(f.Relations) == 0 {
		return f.Kind == sqlfacts.KindSelect
	}
	for _, r := range f.Relations {
		if !(IsSystemSchema(r.Schema) || (r.Schema == "" && (strings.HasPrefix(r.Name, "pg_") || r.Name == "information_schema"))) {
			return false
		}
	}
	return true
}

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
}

// Run runs rules over a snapshot, then the findings pipeline (Process):
// findings that say the same are merged, fixes linked, the policy's ignore
// entries and severities applied, and the rest ranked: most time first, then
// severity, rule and message.
func Run(snap *pgstat.Snapshot, rules []*Rule, opts Options) Result {
	stmts, total := Statements(snap)
	res := Result{Statements: len(stmts), TotalMS: total}
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
	p := &Processing{Findings: found, Policy: opts.Policy, Standby: snap.Server.InRecovery}
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
func (p *Pass) StatementImpact(s *Statement) Impact {
	return Impact{TotalMS: round(s.TotalTime(), 1), Share: round(s.Share, 4), Calls: s.Calls}
}

// StatementFinding fills the statement fields of a finding.
func (p *Pass) StatementFinding(s *Statement, f Finding) Finding {
	f.Query = s.Query
	if s.QueryID != 0 {
		f.QueryID = strconv.FormatInt(s.QueryID, 10)
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
