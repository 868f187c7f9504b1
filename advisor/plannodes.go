package advisor

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// This file holds the helpers shared by the plan-node and SQL rules:
// plan access, node walking with ancestors, the "costs real time" gate,
// severity by share, settings in kB and work_mem sizing.

// planMode says how a statement's plan was obtained: "analyze", "generic",
// "plain", or "none" when there is no usable plan.
func planMode(s *model.Statement) string {
	if planRoot(s) == nil {
		return "none"
	}
	if s.Plan.Mode == "" {
		return string(explain.ModePlain)
	}
	return string(s.Plan.Mode)
}

// planRoot returns the root node of the statement's recorded plan, or nil
// when it was not explained or EXPLAIN failed.
func planRoot(s *model.Statement) *explain.Node {
	if s.Plan == nil || s.Plan.Plan == nil || s.Plan.Error != "" {
		return nil
	}
	return s.Plan.Plan.Plan
}

// measured reports whether the statement's plan was executed (EXPLAIN
// ANALYZE), so that actual rows, loops, spills and timings are known.
func measured(s *model.Statement) bool {
	return planRoot(s) != nil && s.Plan.Mode == explain.ModeAnalyze
}

// modeNote is the phrase a message uses to say where its numbers come from.
func modeNote(s *model.Statement) string {
	switch planMode(s) {
	case "analyze":
		return "measured with EXPLAIN ANALYZE"
	case "generic":
		return "estimated from a generic plan, not executed"
	case "plain":
		return "estimated from EXPLAIN, not executed"
	}
	return "from the SQL text, no plan"
}

// eachNode calls fn for every node of the tree below root (root included),
// parents first, with the chain of its ancestors (root first).
func eachNode(root *explain.Node, fn func(n *explain.Node, ancestors []*explain.Node)) {
	var visit func(n *explain.Node, anc []*explain.Node)
	visit = func(n *explain.Node, anc []*explain.Node) {
		if n == nil {
			return
		}
		fn(n, anc)
		next := append(anc[:len(anc):len(anc)], n)
		for _, c := range n.Plans {
			visit(c, next)
		}
	}
	visit(root, nil)
}

// loops is the number of times a node ran; 1 for plans that were not executed.
func loops(n *explain.Node) float64 {
	if n.ActualLoops > 0 {
		return n.ActualLoops
	}
	return 1
}

// costsTime reports whether a statement costs enough time to be a finding:
// at least MinCalls calls and MinShare of the total, and MinTotalMS
// milliseconds unless it is PlanErrorShare of the total.
func costsTime(p *Pass, s *model.Statement) bool {
	// min_total_ms keeps a visible share of a tiny period from mattering,
	// but a statement that is a large share of the period (plan_error_share)
	// matters however short the period: a 30-second sample is as normal an
	// input as a month of statistics.
	return s.Calls >= p.Options.MinCalls && s.Share >= p.Options.MinShare &&
		(s.TotalTime() >= p.Options.MinTotalMS || s.Share >= p.Options.PlanErrorShare)
}

// severityFor grades a statement finding: an error when the problem is big
// and the statement costs at least PlanErrorShare of the total time, a notice
// when it is small and the statement costs less than ten times MinShare, a
// warning otherwise.
func severityFor(p *Pass, s *model.Statement, big bool) Severity {
	return severityByShare(p.Options, s.Share, big, !big)
}

// severityByShare is the one grader of a finding by the share of total time
// its statement costs: an error from PlanErrorShare when mayError, a notice
// below ten times MinShare when mayNotice, a warning otherwise.
func severityByShare(o Options, share float64, mayError, mayNotice bool) Severity {
	switch {
	case mayError && share >= o.PlanErrorShare:
		return SeverityError
	case mayNotice && share < 10*o.MinShare:
		return SeverityNotice
	}
	return SeverityWarning
}

// nodeTable resolves the relation a scan node reads to the snapshot's table,
// or nil. Without VERBOSE, EXPLAIN leaves Schema empty; Pass.Table then
// prefers public.
func nodeTable(p *Pass, n *explain.Node) *pgstat.Table {
	if n.RelationName == "" {
		return nil
	}
	return p.Table(n.Schema, n.RelationName)
}

// nodeObject is the schema-qualified name of the relation a node reads.
func nodeObject(p *Pass, n *explain.Node) string {
	if t := nodeTable(p, n); t != nil {
		return t.QualifiedName()
	}
	return pgstat.QuoteQualified(n.Schema, n.RelationName)
}

// objectsUnder lists, once each and in plan order, the relations scanned at
// or below n.
func objectsUnder(p *Pass, n *explain.Node) []string {
	seen := map[string]bool{}
	out := []string{}
	eachNode(n, func(c *explain.Node, _ []*explain.Node) {
		if c.RelationName == "" {
			return
		}
		o := nodeObject(p, c)
		if !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	})
	return out
}

// settingKB returns a memory setting of the snapshot in kB: the pg_settings
// value times its unit (B, kB, 8kB, MB, GB), or a SHOW-style value such as
// "4MB". ok is false when the setting is absent or not a size.
func settingKB(snap *pgstat.Snapshot, name string) (kb float64, ok bool) {
	v, found := snap.Settings[name]
	if !found {
		return 0, false
	}
	return parseKB(v, snap.SettingUnits[name])
}

// parseKB returns a memory value in kB: a number with its own unit ("64kB",
// "4MB", as ALTER ROLE … SET writes it) or a bare number in unit (pg_settings'
// unit; kB when empty). ok is false when v is not a size.
func parseKB(v, unit string) (kb float64, ok bool) {
	num := strings.TrimSpace(v)
	if i := strings.IndexFunc(num, func(r rune) bool { return !(unicode.IsDigit(r) || r == '.' || r == '-') }); i > 0 {
		num, unit = num[:i], strings.TrimSpace(num[i:])
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, false
	}
	switch unit {
	case "B":
		return f / 1024, true
	case "", "kB":
		return f, true
	case "8kB":
		return f * 8, true
	case "MB":
		return f * 1024, true
	case "GB":
		return f * 1024 * 1024, true
	case "TB":
		return f * 1024 * 1024 * 1024, true
	}
	return 0, false
}

// settingFloat returns a numeric setting, or def when it is absent.
func settingFloat(snap *pgstat.Snapshot, name string, def float64) float64 {
	if f, ok := parseFloat(snap.Settings[name]); ok {
		return f
	}
	return def
}

// parseFloat parses a numeric setting value.
func parseFloat(v string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	return f, err == nil
}

// workMemKB is the snapshot's work_mem in kB (4MB, the default, when unknown).
func workMemKB(snap *pgstat.Snapshot) float64 {
	if kb, ok := settingKB(snap, "work_mem"); ok && kb > 0 {
		return kb
	}
	return 4096
}

// hashMemMultiplier is hash_mem_multiplier, or its default for the server
// version: 2 from PostgreSQL 15, 1 before.
func hashMemMultiplier(snap *pgstat.Snapshot) float64 {
	def := 1.0
	if snap.Server.VersionNum >= 150000 {
		def = 2.0
	}
	if m := settingFloat(snap, "hash_mem_multiplier", def); m > 0 {
		return m
	}
	return def
}

// workMemMB returns the work_mem to recommend for an operation that needs
// needKB kilobytes: a power of two in megabytes, at least 1MB and at least
// twice the current work_mem.
func workMemMB(needKB, currentKB float64) int64 {
	need := math.Max(needKB, 2*currentKB)
	mb := int64(1)
	for float64(mb)*1024 < need {
		mb *= 2
	}
	return mb
}

// setWorkMemFix is the fix of a spill: the work_mem that holds it in memory,
// for the query's role (ALTER ROLE, when the statement's user is known) or
// transaction, or, when that is more than MaxWorkMemMB, the advice to
// process fewer rows.
func setWorkMemFix(p *Pass, s *model.Statement, what string, mb int64) *Fix {
	if float64(mb) > p.Options.MaxWorkMemMB {
		return &Fix{
			Summary:  fmt.Sprintf("The %s needs about %dMB, more than a sensible work_mem (%gMB): make it process fewer rows (a more selective filter, an index that delivers rows in order, pre-aggregation)", what, mb, p.Options.MaxWorkMemMB),
			Advisory: true,
		}
	}
	if s.User == "" {
		return &Fix{
			Summary: fmt.Sprintf("Give this query work_mem = %dMB so the %s stays in memory: SET LOCAL in its transaction, or for its role; work_mem is per operation and per connection, so do not raise it server-wide", mb, what),
			SQL:     []string{fmt.Sprintf("SET work_mem = '%dMB'", mb)},
		}
	}
	role := pgstat.QuoteIdent(s.User)
	summary := fmt.Sprintf("Give role %s work_mem = %dMB so the %s stays in memory (or SET LOCAL work_mem in the query's transaction); work_mem is per operation and per connection, so do not raise it server-wide", role, mb, what)
	if v, fromRole := p.SettingFor(s.User, "work_mem"); fromRole {
		db := "<database>"
		if p.Snapshot.Database != "" {
			db = pgstat.QuoteIdent(p.Snapshot.Database)
		}
		summary += fmt.Sprintf("; the role's current work_mem = '%s' may be set IN DATABASE, which wins over a role-wide value: then use ALTER ROLE %s IN DATABASE %s SET", v, role, db)
	}
	return &Fix{
		Summary: summary,
		SQL:     []string{fmt.Sprintf("ALTER ROLE %s SET work_mem = '%dMB'", role, mb)},
	}
}

// misestimateRatio is how many times actual and estimated rows differ, either
// way, each counted as at least one row; it is always >= 1.
func misestimateRatio(estimated, actual float64) float64 {
	e, a := math.Max(estimated, 1), math.Max(actual, 1)
	if e > a {
		return e / a
	}
	return a / e
}
