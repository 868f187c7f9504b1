package review

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
	"github.com/pgadvisor/pgadvisor/whatif/record"
)

// Finding is a finding of the report contract with the location of the
// statement (or comment) it is about.
type Finding struct {
	advisor.Finding
	Location Location `json:"location"`
	// stmtLine is the first line of the statement the finding is about,
	// where its pgadvisor-ignore comments are looked for.
	stmtLine int
}

// Suppressed is a finding an inline comment or the configuration took out.
type Suppressed struct {
	Finding Finding `json:"finding"`
	Reason  string  `json:"reason"`
	By      string  `json:"by"` // "inline", "file" or "config"
}

// Options configure a review.
type Options struct {
	// Advisor are the thresholds and the Policy (severity overrides and
	// ignore entries of .pgadvisor.yaml).
	Advisor advisor.Options
	// Enabled says whether a rule runs; nil runs every rule.
	Enabled func(rule string) bool
	// Staging is the snapshot CollectStatements made of Workload(files) on
	// a staging database (--dsn): the sql rules then read its tables, and
	// the plan and what-if rules its plans. Nil: offline.
	Staging *pgstat.Snapshot
}

// Workload is the statements of files that parse, as the workload sent to
// staging: each statement's QueryID is its position among the files'
// statements (1-based), which is how Check maps findings back.
func Workload(files []*File) []pgstat.Statement {
	var out []pgstat.Statement
	i := 0
	for _, f := range files {
		for _, st := range f.Statements {
			i++
			if st.Err == nil {
				out = append(out, pgstat.Statement{QueryID: int64(i), TopLevel: true, Query: st.SQL, Calls: 1})
			}
		}
	}
	return out
}

// stagingFamilies are the rule families run on a staging snapshot: the
// statement rules (database-wide catalog, workload and activity rules are
// the audit's, about a live workload).
var stagingFamilies = map[string]bool{"sql": true, "plan": true, "what-if": true}

// Result is the outcome of a review.
type Result struct {
	Files      int          `json:"files"`
	Statements int          `json:"statements"`
	Findings   []Finding    `json:"findings"`
	Suppressed []Suppressed `json:"suppressed,omitempty"`
	// Baselined is the number of findings a baseline took out.
	Baselined int    `json:"baselined,omitempty"`
	Notes     []Note `json:"notes,omitempty"`
	// UnmatchedIgnores are the configuration's ignore entries that matched
	// no finding (the problem they excused is gone, or they are misspelled).
	UnmatchedIgnores []advisor.Ignore `json:"unmatched_ignores,omitempty"`
	// RuleErrors are sql-family rules that failed; the others still ran.
	RuleErrors []string `json:"rule_errors,omitempty"`
	// Staging says what was done on the staging database (--dsn).
	Staging *StagingSummary `json:"staging,omitempty"`
}

// StagingSummary is what a review did on staging: statements sent, plans
// made, and the time of each phase.
type StagingSummary struct {
	Server     string             `json:"server"`
	Statements int                `json:"statements"`
	Planned    int                `json:"planned"`
	NotPlanned int                `json:"not_planned"`
	TimingsMS  map[string]float64 `json:"timings_ms"`
}

// Check runs the offline rules over the statements of files: syntax-error,
// the sql-family rules of the advisor (over a snapshot with no tables: the
// facts of the text alone), the migration rules, then the inline and
// configured suppressions and severity overrides.
func Check(files []*File, opts Options) *Result {
	enabled := opts.Enabled
	if enabled == nil {
		enabled = func(string) bool { return true }
	}
	res := &Result{Files: len(files), Findings: []Finding{}}
	var all []*Statement
	for _, f := range files {
		all = append(all, f.Statements...)
	}
	res.Statements = len(all)
	var found []Finding
	if enabled(advisor.SyntaxErrorRule.Name) {
		found = append(found, syntaxErrors(all)...)
	}
	sqlFound, ruleErrors := sqlRules(all, opts.Advisor, enabled, opts.Staging)
	found = append(found, sqlFound...)
	res.RuleErrors = ruleErrors
	if snap := opts.Staging; snap != nil {
		res.Notes = append(res.Notes, notPlanned(all, snap)...)
		sum := &StagingSummary{Server: snap.Server.Version, Statements: len(snap.Statements), TimingsMS: snap.Timings}
		for _, p := range snap.Plans {
			if p.Plan != nil {
				sum.Planned++
			} else {
				sum.NotPlanned++
			}
		}
		res.Staging = sum
	}
	found = append(found, migrationRules(all, enabled)...)

	found, res.Suppressed = suppressInline(files, found, enabled)
	found, cfg, unmatched := applyPolicy(found, opts.Advisor.Policy)
	res.Suppressed = append(res.Suppressed, cfg...)
	res.UnmatchedIgnores = unmatched
	sortFindings(found)
	res.Findings = append(res.Findings, found...)
	sort.SliceStable(res.Suppressed, func(i, j int) bool {
		a, b := res.Suppressed[i].Finding.Location, res.Suppressed[j].Finding.Location
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Line < b.Line
	})
	return res
}

// sortFindings orders findings by path, line, column, then rule.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i].Location, fs[j].Location
		switch {
		case a.Path != b.Path:
			return a.Path < b.Path
		case a.Line != b.Line:
			return a.Line < b.Line
		case a.Column != b.Column:
			return a.Column < b.Column
		}
		return fs[i].Rule < fs[j].Rule
	})
}

// statementFinding fills what every finding about st carries.
func statementFinding(st *Statement, f advisor.Finding) Finding {
	if f.Objects == nil {
		f.Objects = []string{}
	}
	if f.Query == "" {
		f.Query = st.SQL
	}
	if f.Fingerprint == "" {
		f.Fingerprint = st.fingerprint()
	}
	return Finding{Finding: f, Location: st.Location, stmtLine: st.Location.Line}
}

func syntaxErrors(all []*Statement) []Finding {
	var out []Finding
	for _, st := range all {
		if st.Err == nil {
			continue
		}
		f := statementFinding(st, advisor.Finding{
			Rule:     advisor.SyntaxErrorRule.Name,
			Severity: advisor.SyntaxErrorRule.Severity,
			Message:  st.Err.Message,
		})
		// The finding points where the parser stopped; the fingerprint of
		// a statement that does not parse is a hash of its text, so that a
		// baseline still knows it.
		if st.Err.Line > 0 {
			f.Location.Line, f.Location.Column = st.Err.Line, st.Err.Column
			if f.Location.EndLine < f.Location.Line || f.Location.EndLine == f.Location.Line && f.Location.EndColumn <= f.Location.Column {
				f.Location.EndLine, f.Location.EndColumn = f.Location.Line, f.Location.Column+1
			}
		}
		f.Fingerprint = textHash(st.SQL)
		out = append(out, f)
	}
	return out
}

// sqlRules runs the advisor's sql-family rules over the statements that
// parse, as a workload of one call each with no time, in a snapshot without
// tables: each rule sees the statement's facts alone. Statement gates are
// opened (min_calls 1, no share or time minimum): in review every statement
// is as important as the next.
func sqlRules(all []*Statement, opts advisor.Options, enabled func(string) bool, staging *pgstat.Snapshot) ([]Finding, []string) {
	var rules []*advisor.Rule
	for _, r := range advisor.All() {
		if (r.Family == "sql" || staging != nil && stagingFamilies[r.Family]) && enabled(r.Name) {
			rules = append(rules, r)
		}
	}
	if len(rules) == 0 {
		return nil, nil
	}
	byID := map[string]*Statement{}
	for i, st := range all {
		byID[fmt.Sprint(i+1)] = st
	}
	snap := staging
	if snap == nil {
		snap = &pgstat.Snapshot{Statements: Workload([]*File{{Statements: all}})}
	}
	opts.MinCalls, opts.MinShare, opts.MinTotalMS = 1, 0, 0
	opts.Policy = advisor.Policy{}
	res := advisor.Run(snap, rules, opts)
	// A finding whose fix serves several statements (one index for
	// several queries) is reported at each of them, once per statement
	// and fix.
	type key struct{ id, fix string }
	has := map[key]bool{}
	for _, f := range res.Findings {
		if f.FixID != "" {
			has[key{f.QueryID, f.FixID}] = true
		}
	}
	var out []Finding
	for _, f := range res.Findings {
		ids := append([]string{f.QueryID}, f.QueryIDs...)
		f.Impact = advisor.Impact{}
		f.QueryIDs = nil
		for n, id := range ids {
			st := byID[id]
			if st == nil || n > 0 && f.FixID != "" && has[key{id, f.FixID}] {
				continue // a finding about no statement of the files, or one it has
			}
			if f.FixID != "" {
				has[key{id, f.FixID}] = true
			}
			g := f
			g.QueryID = "" // a position in this run, not pg_stat_statements' queryid
			g.Query, g.Fingerprint = "", ""
			if n == 0 {
				g.Query, g.Fingerprint = f.Query, f.Fingerprint
			}
			out = append(out, statementFinding(st, g))
		}
	}
	return out, res.RuleErrors
}

// tableKey identifies a table across migrations: unqualified names are
// public's, case folded as PostgreSQL folds unquoted names.
func tableKey(r sqlfacts.Relation) string {
	schema := r.Schema
	if schema == "" {
		schema = "public"
	}
	return strings.ToLower(schema + "." + r.Name)
}

// createIndex is the start of a CREATE INDEX, where CONCURRENTLY goes.
var createIndex = regexp.MustCompile(`(?is)^(CREATE\s+(?:UNIQUE\s+)?INDEX)(\s+)`)

// migrationRules runs index-not-concurrent and fk-missing-index over each
// migration folder, in migration order.
func migrationRules(all []*Statement, enabled func(string) bool) []Finding {
	type ddlStatement struct {
		st  *Statement
		ddl sqlfacts.DDL
	}
	folders := map[string][]ddlStatement{}
	var names []string
	for _, st := range all {
		if st.Migration == 0 || st.Err != nil {
			continue
		}
		d, err := sqlfacts.AnalyzeDDL(st.SQL)
		if err != nil {
			continue
		}
		if _, ok := folders[st.Folder]; !ok {
			names = append(names, st.Folder)
		}
		folders[st.Folder] = append(folders[st.Folder], ddlStatement{st, d})
	}
	sort.Strings(names)
	var out []Finding
	for _, folder := range names {
		stmts := folders[folder]
		sort.SliceStable(stmts, func(i, j int) bool {
			a, b := stmts[i].st, stmts[j].st
			if a.Migration != b.Migration {
				return a.Migration < b.Migration
			}
			return a.Location.Line < b.Location.Line
		})
		created := map[string]int{} // table → migration that creates it
		type index struct {
			columns   []string
			migration int
		}
		indexes := map[string][]index{}
		for _, ds := range stmts {
			if t := ds.ddl.CreatesTable; t != nil {
				if _, ok := created[tableKey(*t)]; !ok {
					created[tableKey(*t)] = ds.st.Migration
				}
			}
			for _, ix := range ds.ddl.Indexes {
				if !ix.Partial {
					indexes[tableKey(ix.Table)] = append(indexes[tableKey(ix.Table)], index{ix.Columns, ds.st.Migration})
				}
			}
		}
		for _, ds := range stmts {
			st := ds.st
			if enabled(advisor.IndexNotConcurrent.Name) {
				for _, ix := range ds.ddl.Indexes {
					if !ix.Statement || ix.Concurrently {
						continue
					}
					if m, ok := created[tableKey(ix.Table)]; ok && m <= st.Migration {
						continue
					}
					obj := pgstat.QuoteQualified(ix.Table.Schema, ix.Table.Name)
					f := advisor.Finding{
						Rule:     advisor.IndexNotConcurrent.Name,
						Severity: advisor.IndexNotConcurrent.Severity,
						Message:  fmt.Sprintf("CREATE INDEX on %s, a table these migrations do not create, blocks its writes while the index builds: use CREATE INDEX CONCURRENTLY", obj),
						Objects:  []string{obj},
						Fix: &advisor.Fix{
							Summary: "Build the index with CONCURRENTLY (the migration must then run outside a transaction block)",
							SQL:     []string{createIndex.ReplaceAllString(st.SQL, "${1} CONCURRENTLY${2}")},
						},
					}
					out = append(out, statementFinding(st, f))
				}
			}
			if !enabled(advisor.FKMissingIndex.Name) {
				continue
			}
			for _, fk := range ds.ddl.ForeignKeys {
				covered := false
				for _, ix := range indexes[tableKey(fk.Table)] {
					if leadsWith(ix.columns, fk.Columns) {
						covered = true
						break
					}
				}
				if covered || len(fk.Columns) == 0 {
					continue
				}
				obj := pgstat.QuoteQualified(fk.Table.Schema, fk.Table.Name)
				c := record.Candidate{Schema: fk.Table.Schema, Table: fk.Table.Name, Method: "btree"}
				for _, col := range fk.Columns {
					c.Keys = append(c.Keys, record.Key{Column: col})
				}
				create := c.CreateSQL()
				if m, ok := created[tableKey(fk.Table)]; ok && m == st.Migration {
					// A table the same migration creates is empty: no need to build online.
					create = strings.Replace(create, "CREATE INDEX CONCURRENTLY ", "CREATE INDEX ", 1)
				}
				f := advisor.Finding{
					Rule:     advisor.FKMissingIndex.Name,
					Severity: advisor.FKMissingIndex.Severity,
					Message: fmt.Sprintf("foreign key %s (%s) → %s has no index leading with its columns in this or a later migration: each DELETE or key UPDATE of %s scans %s",
						obj, strings.Join(fk.Columns, ", "), pgstat.QuoteQualified(fk.References.Schema, fk.References.Name),
						pgstat.QuoteQualified(fk.References.Schema, fk.References.Name), obj),
					Objects:  []string{obj},
					Evidence: map[string]any{"columns": fk.Columns, "references": pgstat.QuoteQualified(fk.References.Schema, fk.References.Name)},
					Fix:      &advisor.Fix{Summary: "Index the referencing columns in a later migration", SQL: []string{create}},
				}
				out = append(out, statementFinding(st, f))
			}
		}
	}
	return out
}

// leadsWith reports whether an index's leading columns are exactly cols,
// in any order.
func leadsWith(index, cols []string) bool {
	if len(index) < len(cols) {
		return false
	}
	want := map[string]bool{}
	for _, c := range cols {
		want[strings.ToLower(c)] = true
	}
	for _, c := range index[:len(cols)] {
		if c == "" || !want[strings.ToLower(c)] {
			return false
		}
		delete(want, strings.ToLower(c))
	}
	return len(want) == 0
}

// missingObject are the SQLSTATEs of a statement naming what the database
// lacks: undefined table, column, function, object, schema.
var missingObject = map[string]bool{"42P01": true, "42703": true, "42883": true, "42704": true, "3F000": true}

// notPlanned notes each statement staging could not plan, at its location;
// one that names an object staging lacks is said to be so (a migration not
// applied there yet), not a broken query.
func notPlanned(all []*Statement, snap *pgstat.Snapshot) []Note {
	var out []Note
	for _, p := range snap.Plans {
		if p.Plan != nil || p.Error == "" && p.Skipped == "" {
			continue
		}
		var i int
		if _, err := fmt.Sscan(p.QueryID, &i); err != nil || i < 1 || i > len(all) {
			continue
		}
		st := all[i-1]
		msg := "not planned on staging: " + p.Error + p.Skipped
		if missingObject[p.SQLState] {
			msg = "staging lacks an object the statement references (a migration not applied there yet?): " + p.Error
		}
		out = append(out, Note{Path: st.Location.Path, Line: st.Location.Line, Column: st.Location.Column, Message: msg})
	}
	return out
}
