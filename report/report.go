// Package report owns the printers: one per output format over the same
// Report value (findings plus what was collected and how). Printers never
// filter, rank or change findings; the advisor has done that.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// SchemaVersion is the version of the JSON report contract.
const SchemaVersion = 1

// Report is what every printer prints. Its JSON form is the report contract of
// DESIGN.md: fields are added, never renamed or removed, within a schema version.
type Report struct {
	SchemaVersion int               `json:"schema_version"`
	Tool          Tool              `json:"tool"`
	Server        Server            `json:"server"`
	Database      string            `json:"database,omitempty"`
	GeneratedAt   time.Time         `json:"generated_at"`
	Summary       Summary           `json:"summary"`
	Findings      []advisor.Finding `json:"findings"`
	// Fixes lists each fix of the findings once, with the findings it serves.
	Fixes []FixEntry `json:"fixes,omitempty"`
	// Suppressed are the findings the configuration's ignore entries took
	// out, each with its reason; UnmatchedIgnores the entries that matched none.
	Suppressed       []advisor.Suppressed `json:"suppressed,omitempty"`
	UnmatchedIgnores []advisor.Ignore     `json:"unmatched_ignores,omitempty"`
	// Problems are parts of the collection that failed, each with its fix; the
	// findings are those of what was collected.
	Problems   []pgstat.Problem `json:"problems,omitempty"`
	RuleErrors []string         `json:"rule_errors,omitempty"`
	// IndexCurve is the verified recommended indexes by time saved per byte,
	// with the cumulative saving and size: where to stop.
	IndexCurve []CurvePoint `json:"index_curve,omitempty"`
	// TopStatements are the heaviest statements, with how each was planned
	// and the findings about it (absent for a single statement).
	TopStatements []TopStatement `json:"top_statements,omitempty"`
	// NotPlanned lists every statement that could not be planned, with the cause.
	NotPlanned []NotPlanned `json:"not_planned,omitempty"`
	// WhatIf lists the hypothetical indexes tried for the one statement of
	// `pgadvisor explain`, with its cost without and with each; absent for audits.
	WhatIf []WhatIfTry `json:"what_if,omitempty"`
	// Plan is the compact plan tree of the one statement of `pgadvisor
	// explain` (explain.Plan.Tree); absent for audits.
	Plan []string `json:"plan,omitempty"`
}

// Tool names the program.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Server identifies the audited server.
type Server struct {
	Version    string `json:"version"`
	VersionNum int    `json:"version_num"`
	// InRecovery is pg_is_in_recovery() of the audited server: true for a
	// hot standby, whose usage counters are its own and which runs no fix
	// that writes (those fixes carry run_on "primary").
	InRecovery bool `json:"in_recovery"`
	// Role is RoleStandby when InRecovery, else empty.
	Role string `json:"role,omitempty"`
}

// RoleStandby is Server.Role of a hot standby.
const RoleStandby = "standby"

// standbyNote is what the table and Markdown headers say about a standby.
const standbyNote = "Audited a hot standby (pg_is_in_recovery): its index and table usage counters are its own, " +
	"so no index is proposed for dropping from them (check the primary and every replica); " +
	"fixes that write run on the primary, which replicates them here."

// Summary says what was looked at.
type Summary struct {
	Statements   int                `json:"statements"`              // workload statements considered
	TotalMS      float64            `json:"total_ms"`                // their total time, milliseconds
	StatsSince   *time.Time         `json:"stats_since,omitempty"`   // statistics reset time, when known
	PlansByMode  map[string]int     `json:"plans_by_mode,omitempty"` // analyze / generic / plain / error / skipped
	TimingsMS    map[string]float64 `json:"timings_ms,omitempty"`    // collect, explain, what-if, advise
	Source       string             `json:"source"`                  // "live" or the snapshot file
	FindingCount map[string]int     `json:"finding_count"`           // by severity
	// ConcernedMS is the time of the statements the findings concern, each
	// statement counted once however many findings name it (the findings'
	// impacts overlap: several problems of one statement each count its time).
	ConcernedMS float64 `json:"concerned_ms,omitempty"`
	// Suppressed counts the findings the configuration's ignore entries took out.
	Suppressed int `json:"suppressed,omitempty"`
	// StatementsLeftOut counts the pg_stat_statements entries not collected
	// (beyond the heaviest kept, below --min-calls, or hidden); their time
	// is in TotalMS.
	StatementsLeftOut int `json:"statements_left_out,omitempty"`
	// Footprint is what the audit did to pg_stat_statements: entries it
	// added, and whether entries were evicted while it ran (live audits).
	Footprint *pgstat.Footprint `json:"pg_stat_statements_footprint,omitempty"`
}

// New builds a report from a snapshot and the advisor's result.
func New(version string, snap *pgstat.Snapshot, res advisor.Result, source string) *Report {
	r := &Report{
		SchemaVersion:    SchemaVersion,
		Tool:             Tool{Name: "pgadvisor", Version: version},
		Server:           Server{Version: snap.Server.Version, VersionNum: snap.Server.VersionNum, InRecovery: snap.Server.InRecovery},
		Database:         snap.Database,
		GeneratedAt:      time.Now().UTC().Truncate(time.Second),
		Findings:         res.Findings,
		Suppressed:       res.Suppressed,
		UnmatchedIgnores: res.UnmatchedIgnores,
		Problems:         snap.Problems,
		RuleErrors:       res.RuleErrors,
		Summary: Summary{
			Statements:   res.Statements,
			TotalMS:      num.RoundTo(res.TotalMS, 10),
			PlansByMode:  map[string]int{},
			TimingsMS:    map[string]float64{},
			Source:       source,
			FindingCount: map[string]int{"error": 0, "warning": 0, "notice": 0},
		},
	}
	if r.Server.InRecovery {
		r.Server.Role = RoleStandby
	}
	if r.Findings == nil {
		r.Findings = []advisor.Finding{}
	}
	r.Fixes = Fixes(r.Findings)
	r.IndexCurve = indexCurve(r.Findings, r.Fixes, res.TotalMS)
	if source != "statement" {
		stmts := res.Parsed
		if stmts == nil {
			stmts, _ = model.Statements(snap)
		}
		r.TopStatements = topStatements(stmts, r.Findings, TopStatementsShown)
		r.Summary.ConcernedMS = concernedMS(stmts, r.Findings)
	}
	r.NotPlanned = notPlanned(snap)
	r.Summary.Suppressed = len(r.Suppressed)
	if snap.StatStatements != nil && snap.StatStatements.StatsReset != nil {
		r.Summary.StatsSince = snap.StatStatements.StatsReset
	} else if snap.Server.StatsResetAt != nil {
		r.Summary.StatsSince = snap.Server.StatsResetAt
	}
	if ss := snap.StatStatements; ss != nil && source != "statement" {
		if ss.Entries != nil {
			r.Summary.StatementsLeftOut = max(*ss.Entries-len(snap.Statements), 0)
		} else {
			r.Summary.StatementsLeftOut = ss.OmittedRows + ss.HiddenRows
		}
		r.Summary.Footprint = ss.Footprint
	}
	for _, p := range snap.Plans {
		mode := string(p.Mode)
		switch {
		case p.Error != "":
			mode = "error"
		case p.Skipped != "":
			mode = "skipped"
		}
		r.Summary.PlansByMode[mode]++
	}
	if source == "statement" && len(snap.Plans) == 1 {
		r.Plan = snap.Plans[0].Plan.Tree()
		r.WhatIf = whatIfTries(snap)
	}
	for k, v := range snap.Timings {
		r.Summary.TimingsMS[k] = v
	}
	for _, f := range r.Findings {
		r.Summary.FindingCount[string(f.Severity)]++
	}
	return r
}

// collectionNotes are the lines saying what was left out of the statements
// and what the audit did to pg_stat_statements, for the table and Markdown
// printers.
func collectionNotes(s Summary) []string {
	var out []string
	if s.StatementsLeftOut > 0 {
		out = append(out, fmt.Sprintf("%d statements left out (not among the heaviest kept, below --min-calls, or hidden); their time is in the total and in every share", s.StatementsLeftOut))
	}
	if s.Footprint != nil {
		out = append(out, s.Footprint.Summary())
	}
	return out
}

// Printer writes a report in one format.
type Printer func(w io.Writer, r *Report) error

// Printers maps a --format name to its printer.
var Printers = map[string]Printer{
	"json":     JSON,
	"table":    Table,
	"markdown": Markdown,
	"sql":      SQL,
}

// Formats lists the format names, for flag help.
func Formats() []string { return []string{"table", "json", "markdown", "sql"} }

// JSON prints the report contract.
func JSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

// singleStatementLine describes what was done to the one statement of
// `pgadvisor explain` (Source "statement"), instead of a workload's totals;
// ok is false for any other report.
func singleStatementLine(s Summary) (line string, ok bool) {
	if s.Source != "statement" {
		return "", false
	}
	switch {
	case s.PlansByMode["analyze"] > 0:
		took := Duration(s.TotalMS)
		if s.TotalMS < 0.1 {
			took = "under 0.1 ms"
		}
		return fmt.Sprintf("one statement, executed with EXPLAIN ANALYZE in %s (rolled back)", took), true
	case s.PlansByMode["generic"] > 0:
		return "one statement, planned with a generic plan (not executed)", true
	case s.PlansByMode["plain"] > 0:
		return "one statement, planned with a plain EXPLAIN (not executed)", true
	}
	return "one statement, not planned", true
}
