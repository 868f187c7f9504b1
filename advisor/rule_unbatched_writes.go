package advisor

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// UnbatchedWrites finds single-row INSERT, UPDATE and DELETE statements
// executed thousands of times.
var UnbatchedWrites = &Rule{
	Name:     "unbatched-writes",
	Family:   "workload",
	Severity: SeverityWarning,
	Doc: `Rows are written one statement at a time
A single-row INSERT (or an UPDATE or DELETE by key) runs thousands of times:
each row pays a round trip, a parse/bind/execute, and — outside an explicit
transaction — a commit with its WAL flush. Batching the same rows is often 10
to 100 times faster. Fix: send many rows per statement (a multi-row VALUES
list, or one array per column with unnest), or COPY for bulk loads, and
commit once per batch of a few hundred to a few thousand rows.`,
	Criteria: `calls >= unbatched_min_calls; rows per call <= 1; INSERT with one VALUES row (not
INSERT ... SELECT, not a multi-row VALUES), or UPDATE/DELETE with "column = $n" in WHERE. Severity: error
when the statement costs >= plan_error_share of total time, warning otherwise.`,
	Run: runUnbatchedWrites,
}

func init() { register(UnbatchedWrites) }

// UnbatchedWritesThresholds are the thresholds of unbatched-writes (rules.unbatched-writes.thresholds in .pgadvisor.yaml).
type UnbatchedWritesThresholds struct {
	MinCalls int64 `json:"unbatched_min_calls" doc:"a single-row write runs at least this many times"`
}

var defaultUnbatchedWrites = UnbatchedWritesThresholds{
	MinCalls: 1000,
}

func runUnbatchedWrites(p *Pass) error {
	for _, s := range p.Statements {
		f := s.Facts
		if f == nil || s.Calls < p.Options.UnbatchedWrites.MinCalls || s.Calls == 0 || f.Target == nil || f.ModifyingCTE {
			continue
		}
		rowsPerCall := float64(s.Rows) / float64(s.Calls)
		if rowsPerCall > 1 {
			continue
		}
		switch f.Kind {
		case sqlfacts.KindInsert:
			if f.InsertRows != 1 {
				continue
			}
		case sqlfacts.KindUpdate, sqlfacts.KindDelete:
			if !wlHasKeyEquality(f) {
				continue
			}
		default:
			continue
		}
		table := wlTable(p, *f.Target)
		target := f.Target.Name
		objects := []string{}
		if table != nil {
			target = wlName(table)
			objects = wlObjects(table)
		}
		verb := strings.ToUpper(string(f.Kind))
		msg := fmt.Sprintf("%s on %s writes one row per statement: %s calls, %.2f rows per call (%.1f ms in all)",
			verb, target, num.Thousands(s.Calls), rowsPerCall, s.TotalTime())
		ev := map[string]any{
			"calls":         s.Calls,
			"rows":          s.Rows,
			"rows_per_call": round(rowsPerCall, 3),
			"total_ms":      round(s.TotalTime(), 1),
			"mean_ms":       round(s.MeanExecTime, 3),
			"kind":          string(f.Kind),
		}
		if s.WALBytes > 0 {
			ev["wal_bytes"] = num.Int64(s.WALBytes)
		}
		p.Report(p.StatementFinding(s, Finding{
			Severity: severityByShare(p.Options, s.Share, true, false),
			Message:  msg,
			Objects:  objects,
			Evidence: ev,
			Fix:      unbatchedFix(p, s, table),
		}))
	}
	return nil
}

// wlHasKeyEquality reports whether a statement's WHERE has "column = $n".
func wlHasKeyEquality(f *sqlfacts.Facts) bool {
	for _, pr := range f.Predicates {
		if pr.Operator == "=" && pr.Param > 0 && !pr.Join && !pr.InOr {
			return true
		}
	}
	return false
}

var (
	insertHead = regexp.MustCompile(`(?is)^\s*INSERT\s+INTO\s+((?:"[^"]+"|[^\s(])+)(\s+AS\s+\S+)?\s*(?:\(([^)]*)\))?\s*VALUES\s*\(`)
	updateHead = regexp.MustCompile(`(?is)^\s*UPDATE\s+(ONLY\s+)?((?:"[^"]+"|[^\s])+)(?:\s+(?:AS\s+)?([a-z_][a-z0-9_]*))?\s+SET\s+`)
	deleteHead = regexp.MustCompile(`(?is)^\s*DELETE\s+FROM\s+(ONLY\s+)?((?:"[^"]+"|[^\s])+)(?:\s+(?:AS\s+)?([a-z_][a-z0-9_]*))?\s+WHERE\s+`)
	plainParam = regexp.MustCompile(`^\$(\d+)(?:::[a-zA-Z_][\w ]*(?:\(\d+(?:,\s*\d+)?\))?)?$`)
)

const batchNote = "-- and commit once per batch (BEGIN; … a few hundred to a few thousand rows … COMMIT), not once per row"

// unbatchedFix writes the batched form of a single-row write.
func unbatchedFix(p *Pass, s *model.Statement, table *pgstat.Table) *Fix {
	q := strings.TrimRight(strings.TrimSpace(s.Query), ";")
	var sqls []string
	switch s.Facts.Kind {
	case sqlfacts.KindInsert:
		sqls = insertBatches(p, s, table, q)
	case sqlfacts.KindUpdate:
		sqls = updateBatch(p, s, table, q)
	case sqlfacts.KindDelete:
		sqls = deleteBatch(p, s, table, q)
	}
	summary := "Batch the rows: one statement with an array per column (unnest) or a multi-row VALUES list, COPY for bulk loads, and one transaction per batch"
	if len(sqls) == 0 {
		return &Fix{Summary: summary, SQL: []string{batchNote}, Advisory: true}
	}
	sqls[len(sqls)-1] += "\n" + batchNote
	return &Fix{Summary: summary, SQL: sqls, Advisory: true}
}

// insertBatches rewrites INSERT INTO t (a, b) VALUES ($1, $2) [suffix] as an
// INSERT … SELECT FROM unnest of one array per column, plus COPY.
func insertBatches(p *Pass, s *model.Statement, table *pgstat.Table, q string) []string {
	m := insertHead.FindStringSubmatchIndex(q)
	if m == nil {
		return nil
	}
	target := q[m[2]:m[3]]
	alias := ""
	if m[4] >= 0 {
		alias = q[m[4]:m[5]]
	}
	var cols []string
	if m[6] >= 0 {
		for _, c := range wlSplitTop(q[m[6]:m[7]]) {
			cols = append(cols, strings.TrimSpace(c))
		}
	} else if table != nil {
		for _, c := range table.Columns {
			cols = append(cols, pgstat.QuoteIdent(c.Name))
		}
	}
	open := m[1] - 1
	closeAt := wlMatchParen(q, open)
	if closeAt < 0 || len(cols) == 0 {
		return nil
	}
	values := wlSplitTop(q[open+1 : closeAt])
	if len(values) != len(cols) {
		return nil
	}
	suffix := strings.TrimSpace(q[closeAt+1:])
	types := map[int]string{}
	allPlain := true
	for i, v := range values {
		v = strings.TrimSpace(v)
		values[i] = v
		if pm := plainParam.FindStringSubmatch(v); pm != nil {
			n, _ := strconv.Atoi(pm[1])
			if _, ok := types[n]; !ok {
				types[n] = wlColumnType(table, wlUnquote(cols[i]))
			}
			if n != i+1 || strings.Contains(v, "::") {
				allPlain = false
			}
			continue
		}
		allPlain = false
	}
	params := wlParams(values...)
	for _, n := range params {
		if _, ok := types[n]; !ok {
			types[n] = wlParamType(p, s, table, n)
		}
	}
	var arrays, names []string
	for _, n := range params {
		arrays = append(arrays, fmt.Sprintf("$%d::%s[]", n, types[n]))
		names = append(names, "p"+strconv.Itoa(n))
	}
	colList := strings.Join(cols, ", ")
	var b strings.Builder
	fmt.Fprintf(&b, "-- one statement per batch: $n is the array of the batch's values of the column\nINSERT INTO %s%s (%s)\n", target, alias, colList)
	if allPlain && len(params) == len(cols) {
		fmt.Fprintf(&b, "SELECT * FROM unnest(%s)", strings.Join(arrays, ", "))
	} else {
		var exprs []string
		for _, v := range values {
			exprs = append(exprs, paramRef.ReplaceAllString(v, "u.p$1"))
		}
		fmt.Fprintf(&b, "SELECT %s\nFROM unnest(%s) AS u(%s)", strings.Join(exprs, ", "), strings.Join(arrays, ", "), strings.Join(names, ", "))
	}
	if suffix != "" {
		b.WriteString("\n" + suffix)
	}
	out := []string{b.String()}
	if !strings.Contains(strings.ToUpper(suffix), "ON CONFLICT") {
		out = append(out, fmt.Sprintf("-- for bulk loads: COPY (pgx: conn.CopyFrom; psql: \\copy)\nCOPY %s (%s) FROM STDIN (FORMAT binary)", target, colList))
	}
	return out
}

// updateBatch rewrites UPDATE t SET … WHERE … with $n as UPDATE … FROM unnest(…) AS v.
func updateBatch(p *Pass, s *model.Statement, table *pgstat.Table, q string) []string {
	m := updateHead.FindStringSubmatchIndex(q)
	if m == nil {
		return nil
	}
	rest := q[m[1]:]
	where := wlFindTop(rest, 0, "where")
	if where < 0 || wlFindTop(rest, 0, "from") >= 0 {
		return nil
	}
	set := strings.TrimSpace(rest[:where])
	cond := strings.TrimSpace(rest[where+len("where"):])
	suffix := ""
	if r := wlFindTop(cond, 0, "returning"); r >= 0 {
		cond, suffix = strings.TrimSpace(cond[:r]), "\n"+strings.TrimSpace(cond[r:])
	}
	types := map[int]string{}
	for _, a := range wlSplitTop(set) {
		col, val, ok := strings.Cut(a, "=")
		if !ok {
			continue
		}
		if pm := plainParam.FindStringSubmatch(strings.TrimSpace(val)); pm != nil {
			n, _ := strconv.Atoi(pm[1])
			types[n] = wlColumnType(table, wlUnquote(strings.TrimSpace(col)))
		}
	}
	params := wlParams(set, cond)
	var arrays, names []string
	for _, n := range params {
		t, ok := types[n]
		if !ok {
			t = wlParamType(p, s, table, n)
		}
		arrays = append(arrays, fmt.Sprintf("$%d::%s[]", n, t))
		names = append(names, "p"+strconv.Itoa(n))
	}
	head := strings.TrimSpace(q[:m[1]])
	return []string{fmt.Sprintf("-- one statement per batch: $n is the array of the batch's values\n%s %s\nFROM unnest(%s) AS v(%s)\nWHERE %s%s",
		head, paramRef.ReplaceAllString(set, "v.p$1"), strings.Join(arrays, ", "), strings.Join(names, ", "), paramRef.ReplaceAllString(cond, "v.p$1"), suffix)}
}

// deleteBatch rewrites DELETE … WHERE key = $1 as = ANY($1::type[]), or
// several parameters as DELETE … USING unnest(…) AS v.
func deleteBatch(p *Pass, s *model.Statement, table *pgstat.Table, q string) []string {
	m := deleteHead.FindStringSubmatchIndex(q)
	if m == nil {
		return nil
	}
	cond := q[m[1]:]
	suffix := ""
	if r := wlFindTop(cond, 0, "returning"); r >= 0 {
		cond, suffix = strings.TrimSpace(cond[:r]), "\n"+strings.TrimSpace(cond[r:])
	}
	params := wlParams(cond)
	head := strings.TrimSpace(q[:m[1]])
	if len(params) == 1 {
		n := params[0]
		re := regexp.MustCompile(`=\s*\$` + strconv.Itoa(n) + `\b`)
		if loc := re.FindStringIndex(cond); loc != nil && len(re.FindAllStringIndex(cond, -1)) == 1 {
			batched := cond[:loc[0]] + fmt.Sprintf("= ANY($%d::%s[])", n, wlParamType(p, s, table, n)) + cond[loc[1]:]
			return []string{fmt.Sprintf("-- one statement per batch: $%d is the array of the batch's keys\n%s %s%s", n, head, batched, suffix)}
		}
	}
	var arrays, names []string
	for _, n := range params {
		arrays = append(arrays, fmt.Sprintf("$%d::%s[]", n, wlParamType(p, s, table, n)))
		names = append(names, "p"+strconv.Itoa(n))
	}
	from := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(head), "WHERE"))
	if i := strings.LastIndex(strings.ToUpper(head), "WHERE"); i >= 0 {
		from = strings.TrimSpace(head[:i])
	}
	return []string{fmt.Sprintf("-- one statement per batch: $n is the array of the batch's values\n%s\nUSING unnest(%s) AS v(%s)\nWHERE %s%s",
		from, strings.Join(arrays, ", "), strings.Join(names, ", "), paramRef.ReplaceAllString(cond, "v.p$1"), suffix)}
}

// wlParamType is the type of the column $n is compared with, "text" when unknown.
func wlParamType(p *Pass, s *model.Statement, table *pgstat.Table, n int) string {
	if s.Facts != nil {
		if c, ok := s.Facts.ParamColumns[n]; ok {
			t := table
			if c.Table != "" && (table == nil || c.Table != table.Name) {
				if other := p.Table(c.Schema, c.Table); other != nil {
					t = other
				}
			}
			if typ := wlColumnType(t, c.Column); typ != "text" || t != nil {
				return typ
			}
		}
		for _, pr := range s.Facts.Predicates {
			if pr.Param == n {
				return wlColumnType(table, pr.Column.Column)
			}
		}
	}
	return "text"
}

// wlColumnType is the type of a column of t, "text" when unknown.
func wlColumnType(t *pgstat.Table, column string) string {
	if t == nil {
		return "text"
	}
	if c := wlColumn(t, column); c != nil && c.Type != "" {
		return c.Type
	}
	return "text"
}
