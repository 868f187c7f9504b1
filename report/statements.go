package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// TopStatementsShown is how many of the heaviest statements a report lists.
const TopStatementsShown = 10

// TopStatement is one of the heaviest statements of the workload, with how
// it was planned and the findings about it: an expensive statement with no
// finding still appears.
type TopStatement struct {
	QueryID string  `json:"queryid,omitempty"`
	Query   string  `json:"query"`
	Calls   int64   `json:"calls"`
	MeanMS  float64 `json:"mean_ms"`
	TotalMS float64 `json:"total_ms"`
	Share   float64 `json:"share"`
	// Plan is how it was planned: analyze, generic, plain, error, skipped,
	// or "not explained" (below --top, or a statement pgadvisor does not plan).
	Plan string `json:"plan"`
	// PlanNote is the reason or the error of the plan, when there is one.
	PlanNote string `json:"plan_note,omitempty"`
	// Findings are the ranks (1-based) of the findings about it.
	Findings []int `json:"findings,omitempty"`
}

// NotPlanned is a statement pgadvisor tried to plan and could not, with the cause.
type NotPlanned struct {
	QueryID string `json:"queryid,omitempty"`
	Query   string `json:"query"`
	// Cause is the server's error, the safety gate's refusal, or why it was skipped.
	Cause    string `json:"cause"`
	SQLState string `json:"sqlstate,omitempty"`
}

// topStatements lists the heaviest statements (model.Statements: as the
// rules saw them, pgadvisor's own, catalog-only and utility statements left out).
func topStatements(stmts []*model.Statement, findings []advisor.Finding, n int) []TopStatement {
	ranks := map[string][]int{}
	for i, f := range findings {
		for _, q := range advisor.StatementsOf(f) {
			ranks[q] = append(ranks[q], i+1)
		}
	}
	var out []TopStatement
	for _, s := range stmts {
		if len(out) == n {
			break
		}
		t := TopStatement{
			Query: s.Query, Calls: s.Calls, TotalMS: num.RoundTo(s.TotalTime(), 10), Share: num.RoundTo(s.Share, 10000),
			Plan: "not explained",
		}
		if s.Calls > 0 {
			t.MeanMS = num.RoundTo(s.TotalTime()/float64(s.Calls), 1000)
		}
		if s.QueryID != 0 {
			t.QueryID = strconv.FormatInt(s.QueryID, 10)
			t.Findings = ranks[t.QueryID]
		}
		if p := s.Plan; p != nil {
			switch {
			case p.Error != "":
				t.Plan, t.PlanNote = "error", p.Error
			case p.Skipped != "":
				t.Plan, t.PlanNote = "skipped", p.Skipped
			default:
				t.Plan, t.PlanNote = string(p.Mode), p.Reason
			}
		}
		out = append(out, t)
	}
	return out
}

// concernedMS is the time of the statements the findings concern, each once.
func concernedMS(stmts []*model.Statement, findings []advisor.Finding) float64 {
	byID := map[string]float64{}
	for _, s := range stmts {
		byID[s.ID().String()] = s.TotalTime()
	}
	seen := map[string]bool{}
	var total float64
	for _, f := range findings {
		for _, q := range advisor.StatementsOf(f) {
			if !seen[q] {
				seen[q] = true
				total += byID[q]
			}
		}
	}
	return num.RoundTo(total, 10)
}

// notPlanned lists every statement whose plan failed or was skipped.
func notPlanned(snap *pgstat.Snapshot) []NotPlanned {
	var out []NotPlanned
	for _, p := range snap.Plans {
		cause := p.Error
		if cause == "" {
			cause = p.Skipped
		}
		if cause == "" {
			continue
		}
		out = append(out, NotPlanned{QueryID: p.QueryID, Query: p.Query, Cause: cause, SQLState: p.SQLState})
	}
	return out
}

// writeTopStatements prints the top statements: for the table view a line of
// numbers and a shortened query each, for Markdown a table; findings by rank.
func writeTopStatements(ew *errWriter, top []TopStatement, md bool) {
	if len(top) == 0 {
		return
	}
	if md {
		ew.printf("\n## Top statements\n\n| # | calls | mean | total | share | plan | findings | statement |\n|---|---|---|---|---|---|---|---|\n")
	} else {
		ew.printf("\nTop statements (the %d heaviest; findings by rank):\n", len(top))
	}
	for i, t := range top {
		refs := "none"
		if len(t.Findings) > 0 {
			refs = findingRefs(t.Findings)
		}
		if md {
			ew.printf("| %d | %s | %s | %s | %.1f%% | %s | %s | `%s` |\n", i+1, num.Thousands(t.Calls), Duration(t.MeanMS), Duration(t.TotalMS), t.Share*100,
				mdEscape(planLabel(t)), refs, strings.ReplaceAll(Shorten(oneLine(t.Query), 120), "`", "'"))
			continue
		}
		head := fmt.Sprintf("%2d. %s calls, %s mean, %s total (%.1f%%); plan %s; findings %s",
			i+1, num.Thousands(t.Calls), Duration(t.MeanMS), Duration(t.TotalMS), t.Share*100, planLabel(t), refs)
		ew.printf("%s\n", indentWrap(head, Width, "    "))
		ew.printf("%s\n", indentWrap("    "+Shorten(oneLine(t.Query), 180), Width, "    "))
	}
}

func planLabel(t TopStatement) string {
	if t.Plan == "error" || t.Plan == "skipped" {
		return t.Plan + " (below)"
	}
	return t.Plan
}

// writeNotPlanned prints every statement that could not be planned, with its cause.
func writeNotPlanned(ew *errWriter, np []NotPlanned, md bool) {
	if len(np) == 0 {
		return
	}
	if md {
		ew.printf("\n## Not planned (%d)\n\n", len(np))
	} else {
		ew.printf("\nNot planned (%d statements; their plan rules did not run):\n", len(np))
	}
	for _, p := range np {
		cause := oneLine(p.Cause)
		if p.SQLState != "" {
			cause += " (SQLSTATE " + p.SQLState + ")"
		}
		if md {
			ew.printf("- `%s`: %s\n", strings.ReplaceAll(Shorten(oneLine(p.Query), 120), "`", "'"), mdEscape(cause))
			continue
		}
		ew.printf("%s\n", indentWrap("- "+Shorten(oneLine(p.Query), 120), Width, "    "))
		ew.printf("%s\n", indentWrap("    cause: "+cause, Width, "    "))
	}
}
