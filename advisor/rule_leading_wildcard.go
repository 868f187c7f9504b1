package advisor

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
	"github.com/pgadvisor/pgadvisor/whatif"
)

// LeadingWildcard reports LIKE/ILIKE patterns that start with a wildcard.
var LeadingWildcard = &Rule{
	Name:     "leading-wildcard",
	Family:   "sql",
	Severity: SeverityWarning,
	Doc: `LIKE '%x' cannot use a btree index
A LIKE or ILIKE pattern that starts with % or _ matches anywhere in the value: a
btree index (even with text_pattern_ops) only serves patterns with a fixed
prefix, so the table is read in full. Found from the SQL text when the pattern
is a constant; pg_stat_statements replaces constants with $n, so for workload
statements the rule also reads the pattern from the filter of the recorded
plan (EXPLAIN ANALYZE with a sampled value, or plain EXPLAIN). When the
plan shows only a value sampled from the column (an inline '%x%' sent over
the simple protocol is just $n to pg_stat_statements), an ILIKE $n (which no
btree serves), or a LIKE $n still read by a Seq Scan with a concrete value, is
reported as a hidden pattern — unless the statement also filters the table by
a column a btree serves (then the scan is that missing index's, and a pattern
nobody has seen is no reason for a trigram index).
Fix: a trigram index (pg_trgm, GIN) on the column, which serves LIKE and ILIKE
with any pattern of three or more characters; or full-text search when the
search is for words. When the what-if chose a btree index for the statement
instead (the index on its ORDER BY, walked in order until the LIMIT's last
match: cheaper than collecting and sorting every match when many rows
match), the fix is that index.`,
	Criteria: `Statement gate: calls >= min_calls, total time >= min_total_ms, share >= min_share.
Table rows (max of reltuples, n_live_tup) >= large_table_rows; no trigram index on the column (expression);
with a plan, the table is read by a Seq Scan. Hidden pattern (bare $n, the plan shows no wildcard): ILIKE read by a Seq Scan,
or LIKE read by a Seq Scan in a non-generic plan. Tables unknown to the snapshot are reported (as notices) only when the snapshot has no tables (offline review).
Severity: error when the table has >= 100 x large_table_rows rows and share >= plan_error_share.`,
	Run: runLeadingWildcard,
}

func init() { register(LeadingWildcard) }

// LeadingWildcardThresholds are the thresholds of leading-wildcard (rules.leading-wildcard.thresholds in .pgadvisor.yaml).
type LeadingWildcardThresholds = LargeTableThresholds

var defaultLeadingWildcard = LeadingWildcardThresholds{
	LargeTableRows: 10000,
}

// planWildcard matches a LIKE (~~) or ILIKE (~~*) with a leading-wildcard
// constant in a plan node's filter: "(users.name ~~ '%foo%'::text)",
// "((name)::text ~~* '_x%'::text)". Group 1 is the column, 2 the pattern.
var planWildcard = regexp.MustCompile(`"?([A-Za-z_][A-Za-z0-9_$]*)"?\)*(?:::[a-z ]+)?\)*\s+~~\*?\s+'([%_](?:[^']|'')*)'`)

func isLikeOperator(op string) bool {
	switch strings.ToUpper(op) {
	case "LIKE", "ILIKE", "~~", "~~*":
		return true
	}
	return false
}

func leadingWildcard(pattern string) bool {
	pattern = strings.Trim(pattern, "'")
	return strings.HasPrefix(pattern, "%") || strings.HasPrefix(pattern, "_")
}

func runLeadingWildcard(p *Pass) error {
	seen := expressionsSeen{}
	for _, fp := range largeTableFilters(p, func(pr sqlfacts.Predicate) bool { return isLikeOperator(pr.Operator) }) {
		s, pr, t, obj := fp.s, fp.pr, fp.t, fp.obj
		scan, planned := filterScanOf(s, t, obj, pr.Column.Column)
		pattern, likely := "", false
		switch {
		case pr.HasConst:
			if !leadingWildcard(pr.Const) {
				continue
			}
			pattern = strings.Trim(pr.Const, "'")
		case pr.Param == 0:
			if pattern, likely = concatWildcard(s.Query, pr.Column.Column); pattern == "" {
				continue
			}
		case scan != nil:
			pattern = wildcardInFilter(scan, pr.Column.Column)
			if pattern == "" {
				if !hiddenPatternScan(s, pr, scan) {
					continue
				}
				pattern, likely = fmt.Sprintf("$%d", pr.Param), true
			}
		default:
			continue // a $n pattern without a plan that shows it
		}
		if planned && scan == nil {
			continue
		}
		expr := columnExpression(s.Facts, pr)
		if !seen.first(fp, expr) || (t != nil && hasTrigramIndex(p, t, trigramKey(pr, expr))) {
			continue
		}
		reportLeadingWildcard(p, s, t, obj, pr, expr, pattern, likely, scan)
	}
	return nil
}

// hiddenPatternScan reports whether a LIKE/ILIKE against a bare $n, whose
// pattern the recorded plan does not show (the audit sampled a value from
// the column, and pg_stat_statements turned an inline '%x%' into $n), is read
// by a sequential (or full index) scan no btree index could avoid: always for ILIKE (a btree
// cannot serve a case-insensitive match), and for LIKE when the plan was
// made with a concrete value (not generic) and still scans the table.
//
// A full index scan (an Index Scan with no Index Cond, chosen for ORDER BY …
// LIMIT, the pattern only a Filter) reads the whole table as well.
func hiddenPatternScan(s *model.Statement, pr sqlfacts.Predicate, scan *explain.Node) bool {
	fullScan := strings.Contains(scan.NodeType, "Seq Scan") ||
		(strings.Contains(scan.NodeType, "Index") && scan.IndexCond == "" && scan.Filter != "")
	if pr.Param == 0 || pr.Function != "" || !fullScan || otherIndexableFilter(s, pr) {
		return false
	}
	switch strings.ToUpper(pr.Operator) {
	case "ILIKE", "~~*":
		return true
	}
	return planMode(s) != "generic"
}

// otherIndexableFilter reports whether the statement filters the LIKE's
// table by another column a btree serves (city_id = $1 AND email LIKE $2):
// then the full scan is the missing btree's, which seq-scan and
// missing-index report, and a pattern nobody has seen is no reason for a
// trigram index (issue 10 §7).
func otherIndexableFilter(s *model.Statement, pr sqlfacts.Predicate) bool {
	if s.Facts == nil {
		return false
	}
	single := len(s.Facts.Relations) == 1
	for _, o := range s.Facts.Predicates {
		if o.Join || o.InOr || o.Function != "" || o.Column == pr.Column || !(o.IsEquality() || o.IsRange()) {
			continue
		}
		if single || o.Column.Table == pr.Column.Table {
			return true
		}
	}
	return false
}

// wildcardInFilter returns the leading-wildcard pattern a scan's filter
// compares column col with, or "".
func wildcardInFilter(n *explain.Node, col string) string {
	for _, m := range planWildcard.FindAllStringSubmatch(n.Filter, -1) {
		if m[1] == col {
			return strings.ReplaceAll(m[2], "''", "'")
		}
	}
	return ""
}

func reportLeadingWildcard(p *Pass, s *model.Statement, t *pgstat.Table, obj string, pr sqlfacts.Predicate, expr, pattern string, likely bool, scan *explain.Node) {
	ev := map[string]any{
		"plan_mode":  planMode(s),
		"expression": expr,
		"operator":   strings.ToUpper(pr.Operator),
		"pattern":    pattern,
	}
	size := ""
	sev := SeverityNotice
	if t != nil {
		rows := p.Snapshot.RowCount(t)
		ev["table_rows"] = rows
		size = fmt.Sprintf(" (%s rows)", num.Compact(rows))
		sev = severityFor(p, s, rows >= 100*p.Options.LeadingWildcard.LargeTableRows)
	}
	note := modeNote(s)
	walk := whatIfWalk(p, s, t)
	if walk != nil {
		ev["what_if_index"] = walk.Name()
	}
	if scan != nil {
		ev["node_type"] = scan.NodeType
		ev["rows_removed_by_filter"] = scan.TotalRowsRemovedByFilter()
		note = fmt.Sprintf("the plan reads it with a %s (%s)", scan.Title(), modeNote(s))
	}
	op := strings.ToUpper(pr.Operator)
	switch op {
	case "~~":
		op = "LIKE"
	case "~~*":
		op = "ILIKE"
	}
	elem := expr + " gin_trgm_ops"
	if pr.Function != "" || pr.Cast != "" {
		elem = "(" + expr + ") gin_trgm_ops"
	}
	short := ""
	if len(strings.Trim(pattern, "%_")) < 3 {
		short = "; patterns with fewer than three characters between wildcards gain little from it"
	}
	msg := fmt.Sprintf("%s %s '%s' on %s%s starts with a wildcard, so no btree index can serve it; %s", expr, op, pattern, obj, size, note)
	if likely && strings.HasPrefix(pattern, "$") && !strings.Contains(pattern, "|") {
		ev["pattern_hidden"] = true
		msg = fmt.Sprintf("%s %s %s on %s%s: pg_stat_statements hides the pattern (an inline '%%x%%' becomes $n) and no index serves the match, so every call reads the whole table; %s", expr, op, pattern, obj, size, note)
	} else if likely {
		ev["pattern_built"] = true
		msg = fmt.Sprintf("%s %s %s on %s%s builds its pattern around a parameter (pg_stat_statements hides the constants; typically '%%' || $1 || '%%'), which no btree index can serve; %s", expr, op, pattern, obj, size, note)
	} else {
		pattern = "'" + pattern + "'"
	}
	fix := &Fix{
		Summary: fmt.Sprintf("Create a trigram GIN index on %s (pg_trgm), which serves LIKE and ILIKE with leading wildcards%s", expr, short),
		SQL:     trigramIndexSQL(p, t, obj, pr, expr, elem),
	}
	if walk != nil {
		// The what-if (HypoPG) found a btree the planner prefers: with a
		// LIMIT, the index on the ORDER BY is walked in order and the
		// scan stops at the last row needed.
		fix = indexFix(p, fmt.Sprintf("Create the index the what-if chose for this statement (planner cost %.0f → %.0f): walked in its order, the scan stops at the LIMIT's last match instead of collecting and sorting every match, as a trigram index on %s would", walk.CostBefore, walk.CostAfter, expr), walk.Candidate)
	}
	p.Report(p.StatementFinding(s, Finding{
		Severity: sev,
		Message:  msg,
		Objects:  []string{obj},
		Evidence: ev,
		Fix:      fix,
	}))
}

// whatIfWalk is the verified btree recommendation that cuts the
// statement's cost on t by MinCostReduction, when the index advice
// recommends no trigram index for it there: the what-if found that the
// planner prefers walking that index (the ORDER BY's, with a LIMIT). nil
// otherwise, and when a btree chosen for other statements only lists this
// one.
func whatIfWalk(p *Pass, s *model.Statement, t *pgstat.Table) *whatif.Recommendation {
	if t == nil {
		return nil
	}
	recs, _ := p.IndexAdvice()
	q := s.ID().String()
	minCut := WhatIfOptions(p.Options).MinCostReduction
	var walk *whatif.Recommendation
	for i := range recs {
		r := &recs[i]
		if r.Schema != t.Schema || r.Table != t.Name {
			continue
		}
		for _, g := range r.Statements {
			if g.QueryID != q {
				continue
			}
			switch {
			case r.Method == "gin":
				return nil
			case walk == nil && r.Verified && r.Method == "btree" && g.Reduction >= minCut:
				walk = r
			}
		}
	}
	return walk
}

// concatPattern matches the pattern side of a LIKE/ILIKE written as a
// concatenation: '%' || $1 || '%', $2 || $1 || $3 (pg_stat_statements'
// normalised form of the former), concat('%', $1).
var concatPattern = regexp.MustCompile(`(?is)^\s*(?:\(\s*)*(?:('(?:[^']|'')*')|(\$\d+))\s*\|\||^\s*concat\s*\(\s*(?:('(?:[^']|'')*')|(\$\d+))\s*,`)

// concatChain is the whole concatenation: operands joined by ||, or a concat(…) call without nested parentheses.
var concatChain = regexp.MustCompile(`(?is)^\s*(?:(?:'(?:[^']|'')*'|\$\d+(?:::\w+)?)\s*\|\|\s*)+(?:'(?:[^']|'')*'|\$\d+(?:::\w+)?)|^\s*concat\s*\([^()]*\)`)

// concatWildcard finds, in a statement's text, a LIKE/ILIKE on column col
// whose pattern is built by concatenation and starts with a wildcard. It
// returns the pattern expression (up to its first 40 characters) and whether
// the wildcard is only likely: the leading operand is a $n that
// pg_stat_statements put in place of a constant. "" when there is none.
func concatWildcard(query, col string) (pattern string, likely bool) {
	re, err := regexp.Compile(`(?is)\b` + regexp.QuoteMeta(col) + `"?\s*\)?\s+(?:NOT\s+)?(?:I?LIKE|~~\*?)\s+`)
	if err != nil {
		return "", false
	}
	for _, loc := range re.FindAllStringIndex(query, -1) {
		rest := query[loc[1]:]
		m := concatPattern.FindStringSubmatch(rest)
		if m == nil {
			continue
		}
		text := strings.TrimSpace(concatChain.FindString(rest))
		if text == "" {
			text = strings.TrimSpace(rest)
			if len(text) > 40 {
				text = text[:40] + "…"
			}
		}
		switch {
		case m[1] != "" && leadingWildcard(m[1]), m[3] != "" && leadingWildcard(m[3]):
			return text, false
		case m[2] != "", m[4] != "":
			return text, true
		}
	}
	return "", false
}

// hasTrigramIndex reports whether an index of t serves a trigram search on
// key (whatif.IndexServes: a valid, non-partial GIN or GiST index with a
// pg_trgm operator class on it).
func hasTrigramIndex(p *Pass, t *pgstat.Table, key whatif.Key) bool {
	for _, ix := range p.IndexesOf(t) {
		if whatif.IndexServes(ix, "gin", []whatif.Key{key}, 1) {
			return true
		}
	}
	return false
}

// trigramIndexSQL is the pg_trgm GIN index on the column or expression,
// named as the index advisor names it, after the CREATE EXTENSION it needs.
func trigramIndexSQL(p *Pass, t *pgstat.Table, obj string, pr sqlfacts.Predicate, expr, elem string) []string {
	if t == nil {
		return nil // the table is not in the snapshot: no name to give the index
	}
	c := whatif.Candidate{Schema: t.Schema, Table: t.Name, Method: "gin", Partitioned: t.Kind == "p", Keys: []whatif.Key{trigramKey(pr, expr)}, Extensions: []string{"pg_trgm"}}
	return p.indexSQL(c)
}

// trigramKey is the pg_trgm key of a LIKE predicate: its column, or the
// expression around it.
func trigramKey(pr sqlfacts.Predicate, expr string) whatif.Key {
	if pr.Function != "" || pr.Cast != "" {
		return whatif.Key{Expression: expr, Opclass: "gin_trgm_ops"}
	}
	return whatif.Key{Column: pr.Column.Column, Opclass: "gin_trgm_ops"}
}
