package advisor

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
	"github.com/pgadvisor/pgadvisor/whatif"
)

// SeqScan finds sequential scans of large tables that throw away most of what
// they read, in statements that cost real time.
var SeqScan = &Rule{
	Name:     "seq-scan",
	Family:   "plan",
	Severity: SeverityWarning,
	Doc: `Sequential scan of a large table discards most rows
A statement reads a large table from start to end and keeps only a small part
of it: every call costs time proportional to the table, not to the answer.
The usual fix is an index on the filtered columns (the missing-index rule
proves which one with HypoPG); when the filter cannot use an index (a function
on the column, a leading wildcard), rewrite it or index the expression. The
scans of a statement over several partitions of one table are one finding
(the first partition, the others in other_partitions_scanned), whose fix is
the index on the partitioned table with its online recipe: the same one the
missing-index rule proposes.`,
	Criteria: `table rows >= large_table_rows; discarded fraction of rows read >= seq_scan_discard,
measured with ANALYZE or estimated from the plan; statement share of total time >= min_share and total
time >= min_total_ms. Severity: error at share >= plan_error_share, warning at >= 10 x min_share, notice below.`,
	Run: runSeqScan,
}

func init() { register(SeqScan) }

// SeqScanThresholds are the thresholds of seq-scan (rules.seq-scan.thresholds in .pgadvisor.yaml).
type SeqScanThresholds struct {
	LargeTableRows float64 `json:"large_table_rows" doc:"tables with fewer rows are too small for a scan to matter"`
	Discard        float64 `json:"seq_scan_discard" doc:"a sequential scan must discard at least this fraction of the rows it reads"`
}

var defaultSeqScan = SeqScanThresholds{
	LargeTableRows: 10000,
	Discard:        0.9,
}

func runSeqScan(p *Pass) error {
	for _, s := range p.Statements {
		if !costsTime(p, s) || s.Plan == nil || s.Plan.Plan == nil || s.Plan.Plan.Plan == nil {
			continue
		}
		analyzed := s.Plan.Mode == explain.ModeAnalyze
		var workers int
		// The scans of several partitions of one table make one finding.
		var found []Finding
		byRoot := map[string]int{}
		explain.Walk(s.Plan.Plan.Plan, func(n *explain.Node, _ int) bool {
			if n.NodeType == "Gather" || n.NodeType == "Gather Merge" {
				workers = n.WorkersPlanned
			}
			if n.NodeType != "Seq Scan" || n.Filter == "" {
				return true
			}
			t := p.Table(n.Schema, n.RelationName)
			if t == nil {
				return true
			}
			rows := p.Snapshot.RowCount(t)
			if rows < p.Options.SeqScan.LargeTableRows {
				return true
			}
			loops := 1.0
			var kept, removed, discard float64
			if analyzed && n.ActualLoops > 0 {
				loops = n.ActualLoops
				kept = n.ActualRows * loops
				removed = n.RowsRemovedByFilter * loops
				if kept+removed == 0 {
					return true
				}
				discard = removed / (kept + removed)
			} else {
				kept = n.PlanRows
				if n.ParallelAware && workers > 0 {
					kept *= float64(workers + 1)
				}
				removed = rows - kept
				if removed < 0 {
					removed = 0
				}
				discard = removed / rows
			}
			// A plan analysed with sampled parameter values shows one call; the
			// workload's own rows per call show all of them. For a plain
			// single-table read the statement's rows are the scan's rows.
			fromWorkload := false
			if wd, ok := workloadDiscard(s, rows); ok && wd > discard && (!analyzed || s.Facts.Params > 0) {
				discard, fromWorkload = wd, true
			}
			if discard < p.Options.SeqScan.Discard {
				return true
			}
			f := seqScanFinding(p, s, t, n, rows, kept, removed, discard, loops, analyzed, fromWorkload)
			if fromWorkload {
				f.Evidence["rows_per_call"] = round(float64(s.Rows)/float64(s.Calls), 1)
				f.Evidence["discarded_fraction_source"] = "rows returned per call by the workload (pg_stat_statements)"
			}
			if root := p.root(t); root != t {
				if i, ok := byRoot[root.QualifiedName()]; ok {
					mergePartitionScan(&found[i], t)
					return true
				}
				byRoot[root.QualifiedName()] = len(found)
			}
			found = append(found, f)
			return true
		})
		for _, f := range found {
			p.Report(p.StatementFinding(s, f))
		}
	}
	return nil
}

// mergePartitionScan adds the scan of another partition of the same table
// to a finding about a partition's scan.
func mergePartitionScan(f *Finding, t *pgstat.Table) {
	more, _ := f.Evidence["other_partitions_scanned"].([]string)
	more = append(more, t.QualifiedName())
	f.Evidence["other_partitions_scanned"] = more
	f.Objects = append(f.Objects, t.QualifiedName())
	if i := strings.LastIndex(f.Message, " (and "); i >= 0 && strings.HasSuffix(f.Message, " more partitions)") {
		f.Message = f.Message[:i]
	}
	f.Message += fmt.Sprintf(" (and %d more partitions)", len(more))
}

// workloadDiscard is the fraction of a table a single-table, non-aggregating
// statement throws away per call, from pg_stat_statements rows and calls.
func workloadDiscard(s *model.Statement, tableRows float64) (float64, bool) {
	f := s.Facts
	if f == nil || f.Kind != sqlfacts.KindSelect || len(f.Relations) != 1 || f.Aggregates || f.Distinct || len(f.GroupBy) > 0 || s.Calls == 0 || tableRows <= 0 {
		return 0, false
	}
	perCall := float64(s.Rows) / float64(s.Calls)
	if perCall >= tableRows {
		return 0, true
	}
	return 1 - perCall/tableRows, true
}

func seqScanFinding(p *Pass, s *model.Statement, t *pgstat.Table, n *explain.Node, rows, kept, removed, discard, loops float64, analyzed, fromWorkload bool) Finding {
	how := "estimated by the planner"
	switch {
	case fromWorkload:
		how = "from the rows each call returns"
	case analyzed:
		how = "measured with EXPLAIN ANALYZE"
	}
	msg := fmt.Sprintf("%s is read by sequential scan for %s (%s rows, %s discarded, %s)",
		t.QualifiedName(), conditionText(s, p.root(t), n.Filter), num.Compact(rows), num.Percent(discard), how)
	if loops > 1 && !n.ParallelAware {
		msg += fmt.Sprintf(", %s times per call", num.Compact(loops))
	}
	ev := map[string]any{
		"table_rows":         num.Int64(rows),
		"filter":             n.Filter,
		"discarded_fraction": round(discard, 4),
		"plan_mode":          string(s.Plan.Mode),
		"scan_cost":          round(n.TotalCost, 2),
		"mean_ms":            round(s.MeanExecTime, 3),
		"calls":              s.Calls,
	}
	if analyzed {
		ev["rows_removed_by_filter"] = num.Int64(removed)
		ev["rows_returned"] = num.Int64(kept)
		ev["loops"] = num.Int64(loops)
	} else {
		ev["estimated_rows_returned"] = num.Int64(kept)
		if s.Plan.Reason != "" {
			ev["not_analyzed_because"] = s.Plan.Reason
		}
	}
	f := Finding{
		Severity: severityByShare(p.Options, s.Share, true, true),
		Message:  msg,
		Objects:  []string{t.QualifiedName()},
		Evidence: ev,
	}
	if root := p.root(t); root != t {
		f.Message += ", a partition of " + root.QualifiedName()
		f.Objects = append(f.Objects, root.QualifiedName())
		ev["partition_of"] = root.QualifiedName()
	}
	if c := scanCandidate(p, s, t); c != nil {
		f.Fix = &Fix{Summary: "Create an index that serves the filter: " + c.Reason, SQL: p.indexSQL(*c)}
	} else {
		f.Fix = &Fix{Summary: "No plain index can serve this filter as written: rewrite it so the column stands alone (no function or cast on it, no leading wildcard), or index the expression", Advisory: true}
	}
	return f
}

// scanCandidate is the index for the statement on that table: the workload's
// recommendation serving it (so both rules name the same index), else the
// statement's own candidate. A partition's index is its partitioned root's
// (with the online recipe), as the missing-index rule proposes it.
func scanCandidate(p *Pass, s *model.Statement, t *pgstat.Table) *whatif.Candidate {
	t = p.root(t)
	if r := p.recommendationFor(s.ID().String(), t.Schema, t.Name); r != nil {
		return &r.Candidate
	}
	opts := WhatIfOptions(p.Options)
	_, res := p.IndexAdvice()
	for _, c := range whatif.Candidates(p.Snapshot, []whatif.Input{whatIfInput(s)}, opts) {
		if c.Schema == t.Schema && c.Table == t.Name && !c.Alternative && (res == nil || !slices.Contains(res.NotImmutable, c.ID())) {
			return &c
		}
	}
	return nil
}

// conditionText describes what the scan filters on: the statement's own
// predicates on the table as written (with $n, never sampled values), else the
// plan's filter with its literals masked.
func conditionText(s *model.Statement, t *pgstat.Table, filter string) string {
	if s.Facts != nil {
		var parts []string
		for _, pr := range s.Facts.Predicates {
			if pr.Join || (pr.Column.Table != "" && pr.Column.Table != t.Name) {
				continue
			}
			parts = append(parts, predicateText(pr))
		}
		if len(parts) > 0 {
			return shortFilter(strings.Join(parts, " AND "))
		}
	}
	return shortFilter(pgstat.MaskLiterals(filter))
}

// predicateText renders a predicate as "column op $n" or "column op constant".
func predicateText(pr sqlfacts.Predicate) string {
	col := pr.Column.Column
	if pr.Expression != "" {
		col = pr.Expression
	}
	switch {
	case pr.Operator == "IS NULL" || pr.Operator == "IS NOT NULL":
		return col + " " + pr.Operator
	case pr.Param > 0:
		return fmt.Sprintf("%s %s $%d", col, pr.Operator, pr.Param)
	case pr.HasConst:
		return col + " " + pr.Operator + " " + pr.Const
	}
	return col + " " + pr.Operator + " …"
}

// shortFilter turns an EXPLAIN filter into a short readable condition.
func shortFilter(filter string) string {
	f := strings.TrimSpace(filter)
	for strings.HasPrefix(f, "(") && strings.HasSuffix(f, ")") && balanced(f[1:len(f)-1]) {
		f = f[1 : len(f)-1]
	}
	if r := []rune(f); len(r) > 80 {
		f = string(r[:79]) + "…"
	}
	return f
}

func balanced(s string) bool {
	depth := 0
	for _, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}
