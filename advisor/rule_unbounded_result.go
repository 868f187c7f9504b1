package advisor

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// UnboundedResult finds statements that return very many rows per call
// without a LIMIT, and SELECT * of wide rows on a hot path.
var UnboundedResult = &Rule{
	Name:     "unbounded-result",
	Family:   "workload",
	Severity: SeverityWarning,
	Doc: `A statement ships very many rows, or very wide rows, per call
A read without LIMIT returns thousands of rows per call: the server reads,
the network carries and the application decodes and holds all of them, and
the cost grows with the table. A SELECT * of wide rows (large text, json or
bytea columns) on a hot path ships bytes the caller mostly does not use.
Fix: paginate with a keyset (WHERE id > $last ORDER BY id LIMIT n — unlike
OFFSET it costs the same on every page), and name the columns the caller needs.`,
	Evidence: `rows per call and calls from pg_stat_statements over the period; the shape (no LIMIT, not an aggregate)
from the statement's parse. Rows per call is a rate, independent of the period's length, so the evidence does not
weaken in a short sample; the call floors only keep one-off exports out.`,
	Criteria: `rows per call >= unbounded_min_rows_per_call with calls >= unbounded_min_calls and no
LIMIT (aggregates returning one row per call never qualify); or SELECT * of a table whose average row width
(sum of pg_stats avg_width) is >= wide_row_bytes with calls >= wide_row_min_calls. Severity:
error when the statement costs >= plan_error_share of total time, warning otherwise.`,
	Run: runUnboundedResult,
}

func init() { register(UnboundedResult) }

// UnboundedResultThresholds are the thresholds of unbounded-result (rules.unbounded-result.thresholds in .pgadvisor.yaml).
type UnboundedResultThresholds struct {
	MinRowsPerCall  float64 `json:"unbounded_min_rows_per_call" doc:"rows per call from which a result without LIMIT is unbounded"`
	MinCalls        int64   `json:"unbounded_min_calls" doc:"calls an unbounded statement needs to matter"`
	WideRowBytes    int     `json:"wide_row_bytes" doc:"average row width, bytes, from which SELECT * ships wide rows"`
	WideRowMinCalls int64   `json:"wide_row_min_calls" doc:"calls that make a SELECT * of wide rows a hot path"`
}

var defaultUnboundedResult = UnboundedResultThresholds{
	MinRowsPerCall:  1000,
	MinCalls:        5,
	WideRowBytes:    500,
	WideRowMinCalls: 1000,
}

const keysetPageSize = 1000

func runUnboundedResult(p *Pass) error {
	for _, s := range p.Statements {
		f := s.Facts
		if f == nil || f.Kind != sqlfacts.KindSelect || s.Calls == 0 || f.SelectInto {
			continue
		}
		rowsPerCall := float64(s.Rows) / float64(s.Calls)
		limited := f.Limit != nil && !f.Limit.All
		if !limited && s.Calls >= p.Options.UnboundedResult.MinCalls && rowsPerCall >= p.Options.UnboundedResult.MinRowsPerCall {
			p.Report(p.StatementFinding(s, unboundedFinding(p, s, rowsPerCall)))
			continue
		}
		if f.SelectStar && s.Calls >= p.Options.UnboundedResult.WideRowMinCalls && s.Rows > 0 {
			if fd, ok := wideRowFinding(p, s, rowsPerCall); ok {
				p.Report(p.StatementFinding(s, fd))
			}
		}
	}
	return nil
}

func unboundedFinding(p *Pass, s *model.Statement, rowsPerCall float64) Finding {
	var tables []*pgstat.Table
	for _, r := range s.Facts.Relations {
		if t := wlTable(p, r); t != nil {
			tables = append(tables, t)
		}
	}
	where := "its tables"
	if len(tables) > 0 {
		where = wlName(tables[0])
	}
	ev := map[string]any{
		"calls":         s.Calls,
		"rows":          s.Rows,
		"rows_per_call": round(rowsPerCall, 1),
		"total_ms":      round(s.TotalTime(), 1),
		"mean_ms":       round(s.MeanExecTime, 3),
		"limit":         false,
	}
	width := 0
	if len(tables) == 1 {
		width = wlRowWidth(tables[0])
		if width > 0 {
			ev["avg_row_bytes"] = width
			ev["bytes_per_call"] = num.Int64(float64(width) * rowsPerCall)
		}
		if t := tables[0]; t.Rows > 0 {
			ev["table_rows"] = num.Int64(t.Rows)
			ev["fraction_of_table"] = round(rowsPerCall/t.Rows, 4)
		}
	}
	msg := fmt.Sprintf("a read of %s returns %s rows per call without LIMIT (%s calls, %s rows in all)",
		where, num.Thousands(num.Int64(rowsPerCall+0.5)), num.Thousands(s.Calls), num.Thousands(s.Rows))
	return Finding{
		Severity: severityByShare(p.Options, s.Share, true, false),
		Message:  msg,
		Objects:  wlObjects(tables...),
		Evidence: ev,
		Fix:      keysetFix(p, s, tables),
	}
}

// keysetFix writes the statement as keyset pagination on the table's primary key.
func keysetFix(p *Pass, s *model.Statement, tables []*pgstat.Table) *Fix {
	fix := &Fix{Advisory: true, Summary: fmt.Sprintf("Paginate with a keyset (WHERE key > $last ORDER BY key LIMIT %d), fetching the next page only when the caller needs it; stream with a cursor when every row is really needed", keysetPageSize)}
	f := s.Facts
	if len(tables) != 1 {
		return fix
	}
	t := tables[0]
	key := wlPrimaryKey(p, t)
	if len(key) == 0 {
		return fix
	}
	q := strings.TrimRight(strings.TrimSpace(s.Query), ";")
	next := len(wlParams(q)) + 1
	last := fmt.Sprintf("$%d", next)
	alias := ""
	if len(f.Relations) == 1 && f.Relations[0].Alias != "" {
		alias = pgstat.QuoteIdent(f.Relations[0].Alias) + "."
	}
	var keyCols []string
	for _, k := range key {
		keyCols = append(keyCols, alias+pgstat.QuoteIdent(k))
	}
	keyExpr, lastExpr := keyCols[0], last
	if len(keyCols) > 1 {
		keyExpr = "(" + strings.Join(keyCols, ", ") + ")"
		var lasts []string
		for i := range keyCols {
			lasts = append(lasts, fmt.Sprintf("$%d", next+i))
		}
		lastExpr = "(" + strings.Join(lasts, ", ") + ")"
	}
	simple := len(f.Joins) == 0 && len(f.OrderBy) == 0 && len(f.GroupBy) == 0 && !f.Aggregates && f.Subqueries == 0 &&
		len(f.CTEs) == 0 && !f.Distinct && !f.Locking && f.Offset == nil && f.Limit == nil &&
		wlFindTop(q, 0, "union", "intersect", "except", "window", "having") < 0
	var sql string
	if simple {
		if w := wlFindTop(q, 0, "where"); w >= 0 {
			sql = fmt.Sprintf("%s WHERE (%s) AND %s > %s", strings.TrimSpace(q[:w]), strings.TrimSpace(q[w+len("where"):]), keyExpr, lastExpr)
		} else {
			sql = fmt.Sprintf("%s WHERE %s > %s", q, keyExpr, lastExpr)
		}
		sql += fmt.Sprintf("\nORDER BY %s\nLIMIT %d", strings.Join(keyCols, ", "), keysetPageSize)
	} else if len(f.OrderBy) == 0 && len(f.GroupBy) == 0 && !f.Aggregates && f.Limit == nil {
		var qk []string
		for _, k := range key {
			qk = append(qk, "q."+pgstat.QuoteIdent(k))
		}
		qkExpr := qk[0]
		if len(qk) > 1 {
			qkExpr = "(" + strings.Join(qk, ", ") + ")"
		}
		sql = fmt.Sprintf("SELECT * FROM (%s) AS q\nWHERE %s > %s\nORDER BY %s\nLIMIT %d", q, qkExpr, lastExpr, strings.Join(qk, ", "), keysetPageSize)
	} else {
		return fix
	}
	fix.SQL = []string{fmt.Sprintf("-- keyset pagination on the primary key of %s: %s is the last key of the previous page (start below the smallest key)\n%s", t.Name, lastExpr, sql)}
	return fix
}

func anyTrue(bs []bool) bool {
	for _, b := range bs {
		if b {
			return true
		}
	}
	return false
}

// wlRowWidth is the average row width of t from pg_stats, bytes (0 when unknown).
func wlRowWidth(t *pgstat.Table) int {
	w := 0
	for _, c := range t.Columns {
		w += c.AvgWidth
	}
	return w
}

// wideRowFinding reports SELECT * of a table with wide rows on a hot path.
func wideRowFinding(p *Pass, s *model.Statement, rowsPerCall float64) (Finding, bool) {
	if len(s.Facts.Relations) != 1 {
		return Finding{}, false
	}
	t := wlTable(p, s.Facts.Relations[0])
	if t == nil {
		return Finding{}, false
	}
	width := wlRowWidth(t)
	if width < p.Options.UnboundedResult.WideRowBytes {
		return Finding{}, false
	}
	cols := append([]pgstat.Column(nil), t.Columns...)
	sort.SliceStable(cols, func(i, j int) bool { return cols[i].AvgWidth > cols[j].AvgWidth })
	var wide []string
	for _, c := range cols {
		if c.AvgWidth >= 100 {
			wide = append(wide, fmt.Sprintf("%s (%d bytes)", c.Name, c.AvgWidth))
		}
	}
	ev := map[string]any{
		"calls":          s.Calls,
		"rows_per_call":  round(rowsPerCall, 2),
		"avg_row_bytes":  width,
		"bytes_per_call": num.Int64(float64(width) * rowsPerCall),
		"total_ms":       round(s.TotalTime(), 1),
	}
	if len(wide) > 0 {
		ev["wide_columns"] = wide
	}
	// The column list: narrow columns kept, wide ones left as a comment to add back if needed.
	var keep, drop []string
	for _, c := range t.Columns {
		if c.AvgWidth >= 100 {
			drop = append(drop, pgstat.QuoteIdent(c.Name))
		} else {
			keep = append(keep, pgstat.QuoteIdent(c.Name))
		}
	}
	fix := &Fix{Advisory: true, Summary: "Select only the columns the caller uses instead of *; leave the wide ones out of the hot path"}
	q := strings.TrimSpace(s.Query)
	star := -1
	wlScan(q, func(i, depth int) bool {
		if depth == 0 && q[i] == '*' {
			star = i
			return false
		}
		return true
	})
	if star >= 0 && len(keep) > 0 && wlFindTop(q, 0, "from") > star {
		list := strings.Join(keep, ", ")
		if len(drop) > 0 {
			list += " /* , " + strings.Join(drop, ", ") + " only where needed */"
		}
		start := star
		if star > 0 && q[star-1] == '.' {
			start = star - 1
			for start > 0 && (isIdentChar(q[start-1]) || q[start-1] == '"') {
				start--
			}
			prefix := q[start:star]
			var qualified []string
			for _, c := range keep {
				qualified = append(qualified, prefix+c)
			}
			list = strings.Join(qualified, ", ")
			if len(drop) > 0 {
				list += " /* , " + prefix + strings.Join(drop, ", "+prefix) + " only where needed */"
			}
		}
		fix.SQL = []string{q[:start] + list + q[star+1:]}
	}
	msg := fmt.Sprintf("SELECT * of %s ships %d-byte rows on a hot path (%s calls, %s bytes per call)",
		wlName(t), width, num.Thousands(s.Calls), num.Thousands(num.Int64(float64(width)*rowsPerCall)))
	return Finding{
		Severity: severityByShare(p.Options, s.Share, true, false),
		Message:  msg,
		Objects:  wlObjects(t),
		Evidence: ev,
		Fix:      fix,
	}, true
}
