package advisor

import (
	"fmt"
	"strings"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// LargeOffset reports OFFSET pagination that reads and discards many rows.
var LargeOffset = &Rule{
	Name:     "large-offset",
	Family:   "sql",
	Severity: SeverityWarning,
	Doc: `OFFSET pagination discards many rows
OFFSET n makes the server produce n rows and throw them away before returning
the page: page 500 costs 500 pages of work, and rows shift between pages when
data changes. Found from the SQL text when OFFSET is a constant, or from an
EXPLAIN ANALYZE plan where a Limit node returned far fewer rows than its input
produced. pg_stat_statements replaces constants with $n and the audit
explains OFFSET $n with 0, so for workload statements the evidence is also
pg_stat_statements' buffers per call and per row returned: deep pages touch
many buffers for the few rows they return.
Fix: keyset pagination, where the client passes the ORDER BY values of the
last row of the previous page and the query asks for the rows after them, served
by an index on the ORDER BY columns (with a unique tie-breaker).`,
	Criteria: `Statement gate: calls >= min_calls, total time >= min_total_ms, share >= min_share.
SQL: a constant OFFSET >= large_offset. Plan (measured): input rows - output rows of a Limit node >= large_offset.
OFFSET $n (value unknown, the audit samples 0): pg_stat_statements shows >= offset_min_buffers shared buffers per call
and >= offset_buffers_per_row per row returned, while a measured plan, if any, touches fewer than half as many buffers.
Severity: error when >= 100 x large_offset rows are discarded (or >= 100 x offset_min_buffers buffers touched) per call and share >= plan_error_share.`,
	Run: runLargeOffset,
}

func init() { register(LargeOffset) }

// LargeOffsetThresholds are the thresholds of large-offset (rules.large-offset.thresholds in .pgadvisor.yaml).
type LargeOffsetThresholds struct {
	Rows          int64   `json:"large_offset" doc:"an OFFSET, or rows discarded below a Limit, of at least this many rows"`
	MinBuffers    float64 `json:"offset_min_buffers" doc:"OFFSET $n (value unknown): shared buffers touched per call, at least"`
	BuffersPerRow float64 `json:"offset_buffers_per_row" doc:"OFFSET $n (value unknown): shared buffers touched per row returned, at least"`
}

var defaultLargeOffset = LargeOffsetThresholds{
	Rows:          1000,
	MinBuffers:    100,
	BuffersPerRow: 5,
}

func runLargeOffset(p *Pass) error {
	for _, s := range p.Statements {
		if !costsTime(p, s) {
			continue
		}
		f := s.Facts
		if f != nil && f.Kind != sqlfacts.KindSelect {
			continue
		}
		var discarded, offset float64
		var limitNode *explain.Node
		if f != nil && f.Offset != nil && f.Offset.Param == 0 && f.Offset.Value >= p.Options.LargeOffset.Rows {
			offset = float64(f.Offset.Value)
			discarded = offset
		}
		if measured(s) && (f == nil || f.Offset != nil) {
			eachNode(planRoot(s), func(n *explain.Node, _ []*explain.Node) {
				if n.NodeType != "Limit" || len(n.Plans) == 0 || n.ActualLoops <= 0 {
					return
				}
				d := n.Plans[0].TotalActualRows() - n.TotalActualRows()
				if d >= float64(p.Options.LargeOffset.Rows) && d > discarded {
					discarded, limitNode = d, n
				}
			})
		}
		var buffers, rowsPerCall float64
		if discarded == 0 && f != nil && f.Offset != nil && f.Offset.Param > 0 && s.Calls > 0 {
			buffers = float64(s.SharedBlksHit+s.SharedBlksRead) / float64(s.Calls)
			rowsPerCall = max(float64(s.Rows)/float64(s.Calls), 1)
			if buffers < p.Options.LargeOffset.MinBuffers || buffers/rowsPerCall < p.Options.LargeOffset.BuffersPerRow || heavyWithoutOffset(s, buffers) {
				continue
			}
		} else if discarded == 0 {
			continue
		}
		ev := map[string]any{"plan_mode": planMode(s)}
		var msg string
		bigWork := discarded >= 100*float64(p.Options.LargeOffset.Rows)
		switch {
		case buffers > 0:
			ev["offset_param"] = fmt.Sprintf("$%d", f.Offset.Param)
			ev["buffers_per_call"] = round(buffers, 1)
			ev["rows_per_call"] = round(rowsPerCall, 1)
			ev["buffers_per_row"] = round(buffers/rowsPerCall, 1)
			msg = fmt.Sprintf("OFFSET $%d pagination touches %s buffers per call to return %s rows (%.0f per row, pg_stat_statements): deep pages are read and discarded",
				f.Offset.Param, num.Compact(buffers), num.Compact(rowsPerCall), buffers/rowsPerCall)
			bigWork = buffers >= 100*p.Options.LargeOffset.MinBuffers
		case limitNode != nil:
			ev["rows_discarded"] = discarded
			ev["rows_returned"] = limitNode.TotalActualRows()
			ev["rows_read"] = limitNode.Plans[0].TotalActualRows()
			msg = fmt.Sprintf("OFFSET pagination reads %s rows to return %s: %s are discarded per call, %s",
				num.Compact(limitNode.Plans[0].TotalActualRows()), num.Compact(limitNode.TotalActualRows()), num.Compact(discarded), modeNote(s))
		default:
			ev["offset"] = offset
			msg = fmt.Sprintf("OFFSET %s makes every call produce and discard %s rows before the page it returns (%s)",
				num.Compact(offset), num.Compact(offset), modeNote(s))
		}
		var objects []string
		if f != nil {
			for _, r := range f.Relations {
				if t := p.Table(r.Schema, r.Name); t != nil {
					objects = append(objects, t.QualifiedName())
				} else {
					objects = append(objects, pgstat.QuoteQualified(r.Schema, r.Name))
				}
			}
		} else if limitNode != nil {
			objects = objectsUnder(p, limitNode)
		}
		p.Report(p.StatementFinding(s, Finding{
			Severity: severityFor(p, s, bigWork),
			Message:  msg,
			Objects:  objects,
			Evidence: ev,
			Fix:      offsetKeysetFix(p, s.Query, f),
		}))
	}
	return nil
}

// heavyWithoutOffset reports whether the statement's measured plan (run with
// a sampled OFFSET, usually 0) already touches at least half the buffers a
// call touches on average: then its cost does not come from the offset (a
// sort of the whole table, a scan that filters) and other rules say why.
func heavyWithoutOffset(s *model.Statement, buffersPerCall float64) bool {
	if !measured(s) {
		return false
	}
	root := planRoot(s)
	return root.SharedHitBlocks+root.SharedReadBlocks >= buffersPerCall/2
}

// offsetKeysetFix rewrites the statement to keyset pagination from its ORDER
// BY (a sketch when it cannot be rewritten).
func offsetKeysetFix(p *Pass, query string, f *sqlfacts.Facts) *Fix {
	fix := &Fix{Advisory: true}
	if f == nil || len(f.OrderBy) == 0 {
		fix.Summary = "Replace OFFSET with keyset pagination: ORDER BY a unique key (e.g. the primary key), pass the last key of the previous page and select WHERE key > $last … LIMIT n, served by an index on the key"
		return fix
	}
	var cols []string
	desc, mixed := f.OrderBy[0].Desc, false
	for _, o := range f.OrderBy {
		if o.Expression != "" {
			cols = append(cols, o.Expression)
		} else {
			cols = append(cols, pgstat.QuoteIdent(o.Column.Column))
		}
		if o.Desc != desc {
			mixed = true
		}
	}
	var table *pgstat.Table
	if len(f.Relations) == 1 {
		table = p.Table(f.Relations[0].Schema, f.Relations[0].Name)
	}
	tie := ""
	var tieCols []string
	if table != nil && !coversUniqueKey(p, table, f.OrderBy) {
		if pk := primaryKey(p, table); len(pk) > 0 {
			for _, c := range pk {
				cols = append(cols, pgstat.QuoteIdent(c))
				tieCols = append(tieCols, pgstat.QuoteIdent(c))
			}
			tie = " (the primary key is appended as a tie-breaker so the order is total)"
		}
	}
	if mixed {
		fix.Summary = "Replace OFFSET with keyset pagination: pass the ORDER BY values (" + strings.Join(cols, ", ") +
			") of the last row of the previous page and select the rows after them (ORDER BY directions are mixed, so write the comparison out column by column), served by an index on those columns" + tie
		return fix
	}
	op, dir := ">", ""
	if desc {
		op, dir = "<", " DESC"
	}
	params := make([]string, len(cols))
	for i := range cols {
		params[i] = fmt.Sprintf("$%d", i+1)
	}
	from := "…"
	if len(f.Relations) > 0 {
		r := f.Relations[0]
		from = pgstat.QuoteQualified(r.Schema, r.Name)
		if table != nil {
			from = table.QualifiedName()
		}
		if len(f.Relations) > 1 {
			from += " …"
		}
	}
	order := make([]string, len(cols))
	for i, c := range cols {
		order[i] = c + dir
	}
	left, right := cols[0], params[0]
	if len(cols) > 1 {
		left, right = "("+strings.Join(cols, ", ")+")", "("+strings.Join(params, ", ")+")"
	}
	fix.Summary = ("Replace OFFSET with keyset pagination: the client passes the ORDER BY values of the last row it got and the query adds " +
		left + " " + op + " " + right + " to its WHERE clause, drops OFFSET and keeps LIMIT; an index on (" + strings.Join(cols, ", ") + ") serves it" + tie)
	// The statement itself, rewritten (a runnable statement: the tests
	// prepare it); a sketch when it cannot be rewritten.
	if rewritten, err := sqlfacts.KeysetRewrite(query, cols, tieCols, desc); err == nil {
		fix.Summary = "Replace OFFSET with keyset pagination: the client passes the ORDER BY values of the last row it got (the new parameters below) and the query compares " +
			left + " with them instead of skipping rows with OFFSET; an index on (" + strings.Join(cols, ", ") + ") serves it" + tie
		fix.SQL = []string{rewritten}
		return fix
	}
	fix.SQL = []string{fmt.Sprintf("SELECT … FROM %s WHERE %s %s %s ORDER BY %s LIMIT $%d", from, left, op, right, strings.Join(order, ", "), len(cols)+1)}
	return fix
}

// coversUniqueKey reports whether the ORDER BY columns include every column of
// a unique index of the table, so that the order is total.
func coversUniqueKey(p *Pass, t *pgstat.Table, order []sqlfacts.OrderItem) bool {
	have := map[string]bool{}
	for _, o := range order {
		if o.Expression == "" {
			have[o.Column.Column] = true
		}
	}
	for _, ix := range p.IndexesOf(t) {
		if !ix.Unique || ix.Predicate != "" {
			continue
		}
		all := true
		for i, c := range ix.Columns {
			if (i < len(ix.Expressions) && ix.Expressions[i]) || !have[c] {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// primaryKey returns the primary-key columns of a table, or nil.
func primaryKey(p *Pass, t *pgstat.Table) []string {
	for _, ix := range p.IndexesOf(t) {
		if ix.Primary {
			return ix.Columns
		}
	}
	return nil
}
