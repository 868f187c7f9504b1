package advisor

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// RowMisestimate reports scans whose actual rows differ from the planner's
// estimate by orders of magnitude.
var RowMisestimate = &Rule{
	Name:     "row-misestimate",
	Family:   "plan",
	Severity: SeverityWarning,
	Doc: `The planner misestimates rows 100x or more
A scan returned far more (or far fewer) rows than the planner expected. Every
decision above it (join order, nested loop versus hash join, memory for sorts
and hashes) was made for the wrong size. Needs EXPLAIN ANALYZE: actual rows are
only known from an executed plan. The cause decides the fix: when the table
was modified a lot since its last ANALYZE, its statistics are stale (ANALYZE
it, and let autovacuum analyze it more often); when the scan's condition uses
two or more columns of the table, they are probably correlated and the planner
multiplies their selectivities (CREATE STATISTICS on them, then ANALYZE); with
one column, its statistics target is too small for its distribution.
Overestimates below a Limit, a Merge Join, a semi/anti join or a WindowAgg
with a Run Condition are ignored: those nodes legitimately stop reading early.`,
	Criteria: `Statement gate: calls >= min_calls, total time >= min_total_ms, share >= min_share; plan measured with EXPLAIN ANALYZE.
Scan nodes only. Ratio max(est, actual) / min(est, actual) per loop (each at least 1) >= misestimate_factor,
and max(est, actual) x loops >= misestimate_min_rows.
Stale statistics: never analyzed, or n_mod_since_analyze >= stale_stats_fraction x reltuples.
Severity: error when the ratio >= 10 x misestimate_factor, rows >= 10 x misestimate_min_rows and share >= plan_error_share.`,
	Run: runRowMisestimate,
}

func init() { register(RowMisestimate) }

// RowMisestimateThresholds are the thresholds of row-misestimate (rules.row-misestimate.thresholds in .pgadvisor.yaml).
type RowMisestimateThresholds struct {
	Factor             float64 `json:"misestimate_factor" doc:"actual and estimated rows of a scan differ by at least this factor, either way"`
	MinRows            float64 `json:"misestimate_min_rows" doc:"the larger of estimated and actual rows (all loops) is at least this"`
	StaleStatsFraction float64 `json:"stale_stats_fraction" doc:"statistics are stale when the rows modified since the last ANALYZE are at least this fraction of the rows"`
}

var defaultRowMisestimate = RowMisestimateThresholds{
	Factor:             100,
	MinRows:            1000,
	StaleStatsFraction: 0.1,
}

type misestimate struct {
	node  *explain.Node
	ratio float64
}

func runRowMisestimate(p *Pass) error {
	for _, s := range p.Statements {
		if !measured(s) || !costsTime(p, s) {
			continue
		}
		worst := map[string]misestimate{} // by relation
		var order []string
		eachNode(planRoot(s), func(n *explain.Node, anc []*explain.Node) {
			if n.RelationName == "" || n.ActualLoops <= 0 {
				return
			}
			ratio := misestimateRatio(n.PlanRows, n.ActualRows)
			rows := max(n.PlanRows, n.ActualRows) * n.Loops()
			if ratio < p.Options.RowMisestimate.Factor || rows < p.Options.RowMisestimate.MinRows {
				return
			}
			if n.PlanRows > n.ActualRows && stopsEarly(n, anc) {
				return
			}
			key := nodeObject(p, n)
			if w, ok := worst[key]; !ok || ratio > w.ratio {
				if !ok {
					order = append(order, key)
				}
				worst[key] = misestimate{node: n, ratio: ratio}
			}
		})
		for _, key := range order {
			reportMisestimate(p, s, worst[key])
		}
	}
	return nil
}

// stopsEarly reports whether a node's consumer may stop reading it before it
// is exhausted, so that fewer actual rows than estimated are expected.
func stopsEarly(n *explain.Node, anc []*explain.Node) bool {
	chain := append(anc[:len(anc):len(anc)], n)
	for i, a := range chain {
		switch {
		case a.NodeType == "Limit", a.NodeType == "Merge Join":
			if i < len(chain)-1 {
				return true
			}
		case a.JoinType == "Semi" || a.JoinType == "Anti":
			if i < len(chain)-1 {
				return true
			}
		case a.NodeType == "WindowAgg" && a.RunCondition != "":
			// 15+: the window function's Run Condition ends the scan early.
			if i < len(chain)-1 {
				return true
			}
		case a.ParentRelationship == "SubPlan" || a.ParentRelationship == "InitPlan":
			return true
		}
	}
	return false
}

func reportMisestimate(p *Pass, s *model.Statement, m misestimate) {
	n := m.node
	t := nodeTable(p, n)
	obj := nodeObject(p, n)
	direction := "underestimate"
	if n.PlanRows > n.ActualRows {
		direction = "overestimate"
	}
	cond := strings.TrimSpace(strings.Join(nonEmpty(n.IndexCond, n.RecheckCond, n.Filter), " AND "))
	ev := map[string]any{
		"plan_mode":      planMode(s),
		"node_type":      n.NodeType,
		"estimated_rows": n.PlanRows,
		"actual_rows":    n.ActualRows,
		"loops":          n.Loops(),
		"ratio":          round(m.ratio, 1),
		"direction":      direction,
	}
	if cond != "" {
		ev["condition"] = cond
	}
	head := fmt.Sprintf("%s on %s returned %s rows where the planner expected %s (%s× %s)",
		n.NodeType, obj, num.Compact(n.ActualRows), num.Compact(n.PlanRows), num.Compact(round(m.ratio, 0)), direction)
	big := m.ratio >= 10*p.Options.RowMisestimate.Factor && max(n.PlanRows, n.ActualRows)*n.Loops() >= 10*p.Options.RowMisestimate.MinRows
	f := Finding{
		Severity: severityFor(p, s, big),
		Objects:  []string{obj},
		Evidence: ev,
	}
	var cols []string
	if t != nil {
		ev["table_rows"] = t.Rows
		ev["n_mod_since_analyze"] = t.NModSinceAnalyze
		if t.LastAnalyze != nil {
			ev["last_analyze"] = t.LastAnalyze.UTC().Format("2006-01-02T15:04:05Z")
		}
		cols = conditionColumns(cond, t)
	}
	switch {
	case t != nil && staleStats(p, t):
		why := "the table was never analyzed"
		if t.LastAnalyze != nil && t.Rows >= 0 {
			why = fmt.Sprintf("%s rows modified since its last ANALYZE, which counted %s", num.Compact(float64(t.NModSinceAnalyze)), num.Compact(t.Rows))
		}
		f.Message = fmt.Sprintf("%s: statistics are stale, %s; %s", head, why, modeNote(s))
		f.Fix = &Fix{
			Summary: fmt.Sprintf("Analyze %s now, and have autovacuum analyze it more often (a lower autovacuum_analyze_scale_factor for the table) if it changes quickly", obj),
			SQL:     []string{"ANALYZE " + obj},
		}
	case t != nil && len(cols) >= 2:
		ev["columns"] = cols
		quoted := make([]string, len(cols))
		for i, c := range cols {
			quoted[i] = pgstat.QuoteIdent(c)
		}
		kinds := "dependencies, ndistinct, mcv"
		if v := p.Snapshot.Server.VersionNum; v > 0 && v < 120000 {
			kinds = "dependencies, ndistinct"
		}
		name := t.Name + "_" + strings.Join(cols, "_") + "_stats"
		if len(name) > 63 {
			// NAMEDATALEN: PostgreSQL truncates to 63 bytes, never inside a character.
			n := 63
			for n > 0 && name[n]&0xC0 == 0x80 {
				n--
			}
			name = name[:n]
		}
		f.Message = fmt.Sprintf("%s: its condition combines %s, probably correlated columns whose selectivities the planner multiplies; %s",
			head, strings.Join(cols, ", "), modeNote(s))
		f.Fix = &Fix{
			Summary: fmt.Sprintf("Create extended statistics on (%s) so the planner knows how the columns depend on each other, then analyze", strings.Join(cols, ", ")),
			SQL: []string{
				fmt.Sprintf("CREATE STATISTICS %s (%s) ON %s FROM %s", pgstat.QuoteQualified(t.Schema, name), kinds, strings.Join(quoted, ", "), obj),
				"ANALYZE " + obj,
			},
		}
	case t != nil && len(cols) == 1:
		ev["columns"] = cols
		f.Message = fmt.Sprintf("%s: the statistics of %s do not describe its distribution well enough; %s", head, cols[0], modeNote(s))
		f.Fix = &Fix{
			Summary: fmt.Sprintf("Raise the statistics target of %s.%s (more most-common values and histogram buckets), then analyze; if the condition wraps the column in a function, an expression index or expression statistics describe it", obj, cols[0]),
			SQL: []string{
				fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET STATISTICS 1000", obj, pgstat.QuoteIdent(cols[0])),
				"ANALYZE " + obj,
			},
		}
	default:
		f.Message = fmt.Sprintf("%s; %s", head, modeNote(s))
		f.Fix = &Fix{
			Summary:  "Check the statistics of the columns in the scan's condition (ANALYZE, statistics target, extended statistics); the estimate is wrong by orders of magnitude",
			SQL:      []string{"ANALYZE " + obj},
			Advisory: true,
		}
	}
	p.Report(p.StatementFinding(s, f))
}

// staleStats reports whether a table was never analyzed or was modified by at
// least StaleStatsFraction of its rows since its last ANALYZE.
func staleStats(p *Pass, t *pgstat.Table) bool {
	if t.LastAnalyze == nil || t.Rows < 0 {
		return true
	}
	return float64(t.NModSinceAnalyze) >= p.Options.RowMisestimate.StaleStatsFraction*max(t.Rows, 1)
}

var stringLiteral = regexp.MustCompile(`'(?:[^']|'')*'`)

// conditionColumns returns, in table order, the columns of t that a plan
// node's condition text mentions (string literals left out), at most 8 (the
// limit of CREATE STATISTICS).
func conditionColumns(cond string, t *pgstat.Table) []string {
	if cond == "" {
		return nil
	}
	text := stringLiteral.ReplaceAllString(cond, "''")
	words := map[string]bool{}
	for _, w := range identWord.FindAllString(text, -1) {
		words[strings.Trim(w, `"`)] = true
	}
	var cols []string
	for _, c := range t.Columns {
		if words[c.Name] {
			cols = append(cols, c.Name)
		}
	}
	if len(cols) > 8 {
		cols = cols[:8]
	}
	return cols
}

var identWord = regexp.MustCompile(`"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*`)

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
