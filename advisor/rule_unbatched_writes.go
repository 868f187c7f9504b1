package advisor

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pglog"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// UnbatchedWrites finds single-row INSERT, UPDATE and DELETE statements that
// the application runs in a loop: many times per transaction.
var UnbatchedWrites = &Rule{
	Name:     "unbatched-writes",
	Family:   "workload",
	Severity: SeverityWarning,
	Doc: `Rows are written one statement at a time, in a loop
A single-row INSERT (or an UPDATE or DELETE by key) runs many times per
transaction or many times in a row in one session: the application loops
over rows, and each row pays a round trip and a parse/bind/execute.
Batching the same rows is often 10 to 100 times faster. A call count is no
evidence of a loop: a write run once per request (an UPDATE by primary key,
an audit-log INSERT) has nothing to batch, however often it runs.
Evidence model. Two sources, either is enough. (1) The statement's calls
per transaction of the database over the same period: pg_stat_statements
calls against pg_stat_database xact_commit + xact_rollback, read together
just before the statements. More than about one call per transaction on
average means some transactions run it several times: a loop. It is an
average over all transactions, read-only ones included, so a loop in a few
transactions of a busy mixed workload is missed, never invented (measured:
pgbench's TPC-B 1.02 per transaction, silent; a loop of 40 INSERTs per
transaction 37.7, found; the shop fixture's audit-event INSERT, one per
request, 0.31; the blog's page views 0.18). A backend reports its
transactions about once a second, so just after a statistics reset the
ratio reads a little high. (2) With --log, runs of the same write shape
in a row inside one explicit transaction of one session (pglog's write
bursts): this sees a loop in a few transactions, which the average cannot.
Autocommitted repeats are not counted: a pooled session serving one write
per request looks the same in a log. Severity follows the
statement's share of the workload's time, not its count: a loop that costs
a negligible share is not reported, a loop that is a large share is an
error even at a few hundred calls.
Fix: send many rows per statement (one array per column with unnest, or a
multi-row VALUES list), or COPY for bulk loads, and commit once per batch of
a few hundred to a few thousand rows. Parameter types come from the target
columns (format_type of pg_attribute) or the statement's casts, typed
literals pg_stat_statements normalised (interval $4) become casts
($4::interval); a parameter whose type cannot be told gets no rewrite. A
batched UPDATE groups the batch by key first, as the loop would leave the
row: deltas (col = col + $n) are added up, a plain assignment keeps the
batch's last value; other SET forms get no rewrite. Live, every rewritten
statement is PREPAREd in BEGIN READ ONLY … ROLLBACK before it is shown; one
that fails is not shown as SQL, and the finding says why.`,
	Criteria: `calls >= unbatched_min_calls; rows per call <= 1; INSERT with one VALUES row (not
INSERT ... SELECT, not a multi-row VALUES), or UPDATE/DELETE with "column = $n" in WHERE; the statement
costs >= unbatched_min_share of total time; and evidence of a loop: calls per transaction >
unbatched_min_calls_per_xact, or (with --log) a run of >= unbatched_log_min_repeats executions in a row
in one transaction of one session. Calls per transaction are the statement's calls divided by the database's xact_commit +
xact_rollback, counted only when both cover the same period: pg_stat_statements_info.stats_reset and
pg_stat_database.stats_reset within unbatched_reset_skew_seconds of each other, or the database's
statistics never reset and pg_stat_statements reset no later than that after the server's start.
Without either evidence (a snapshot from before transactions were recorded, statistics reset at
different times, pg_stat_statements before 1.9, and no log) there is no finding. Severity: error when the
statement costs >= unbatched_error_share of total time, warning otherwise.`,
	Run: runUnbatchedWrites,
}

func init() { register(UnbatchedWrites) }

// UnbatchedWritesThresholds are the thresholds of unbatched-writes (rules.unbatched-writes.thresholds in .pgadvisor.yaml).
type UnbatchedWritesThresholds struct {
	MinCalls         int64   `json:"unbatched_min_calls" doc:"a single-row write runs at least this many times"`
	MinCallsPerXact  float64 `json:"unbatched_min_calls_per_xact" doc:"a write runs more than this many times per transaction of the database to be a loop"`
	MinShare         float64 `json:"unbatched_min_share" doc:"a loop costing less than this fraction of total time is not reported"`
	ErrorShare       float64 `json:"unbatched_error_share" doc:"a loop costing at least this fraction of total time is an error, not a warning"`
	ResetSkewSeconds float64 `json:"unbatched_reset_skew_seconds" doc:"pg_stat_statements and pg_stat_database cover the same period when reset within this many seconds of each other"`
	LogMinRepeats    int     `json:"unbatched_log_min_repeats" doc:"statement log: a write run at least this many times in a row in one session is a loop"`
}

var defaultUnbatchedWrites = UnbatchedWritesThresholds{
	MinCalls:         200,
	MinCallsPerXact:  1.5,
	MinShare:         0.01,
	ErrorShare:       0.2,
	ResetSkewSeconds: 60,
	LogMinRepeats:    5,
}

// unbatchedTransactions returns the database's transactions over the period
// pg_stat_statements' calls cover, and false when the snapshot cannot tell.
func unbatchedTransactions(snap *pgstat.Snapshot, skew time.Duration) (int64, bool) {
	srv := snap.Server
	if srv.Transactions == nil || *srv.Transactions <= 0 || snap.StatStatements == nil || snap.StatStatements.StatsReset == nil {
		return 0, false
	}
	statementsReset := *snap.StatStatements.StatsReset
	within := func(a, b time.Time) bool {
		d := a.Sub(b)
		return d <= skew && d >= -skew
	}
	switch {
	case srv.StatsResetAt != nil:
		return *srv.Transactions, within(*srv.StatsResetAt, statementsReset)
	case srv.StartedAt != nil:
		// The database's counters were never reset: they cover the time since
		// the server's statistics began, and the statements' calls at most as
		// long. pg_stat_statements reset at (or before: a clean restart keeps
		// both) the server's start covers that whole time too; reset later, it
		// would undercount the calls of an older database, so a reset after
		// the start is not taken as evidence.
		return *srv.Transactions, !statementsReset.After(srv.StartedAt.Add(skew))
	}
	return 0, false
}

// unbatchedCandidate reports whether s is a single-row write by its text
// and counters, before any evidence of a loop.
func unbatchedCandidate(p *Pass, s *model.Statement) bool {
	f := s.Facts
	if f == nil || s.Calls < p.Options.UnbatchedWrites.MinCalls || s.Calls == 0 || f.Target == nil || f.ModifyingCTE {
		return false
	}
	if float64(s.Rows)/float64(s.Calls) > 1 {
		return false
	}
	switch f.Kind {
	case sqlfacts.KindInsert:
		return f.InsertRows == 1
	case sqlfacts.KindUpdate, sqlfacts.KindDelete:
		return wlHasKeyEquality(f)
	}
	return false
}

func runUnbatchedWrites(p *Pass) error {
	th := p.Options.UnbatchedWrites
	xacts, haveXacts := unbatchedTransactions(p.Snapshot, time.Duration(th.ResetSkewSeconds*float64(time.Second)))
	bursts := map[string]pglog.WriteBurst{}
	if log := wlLog(p.Snapshot); log != nil {
		for _, b := range log.WriteBursts {
			if b.MaxRepeats >= th.LogMinRepeats {
				bursts[b.Fingerprint] = b
			}
		}
	}
	if !haveXacts && len(bursts) == 0 {
		return nil // no evidence of a loop: a call count alone is none
	}
	for _, s := range p.Statements {
		if !unbatchedCandidate(p, s) || s.Share < th.MinShare {
			continue
		}
		callsPerXact := 0.0
		if haveXacts {
			callsPerXact = float64(s.Calls) / float64(xacts)
		}
		burst, inLog := bursts[s.Facts.Fingerprint]
		if callsPerXact <= th.MinCallsPerXact && !inLog {
			continue // about once per transaction, and no run in the log: no loop to batch
		}
		f := s.Facts
		rowsPerCall := float64(s.Rows) / float64(s.Calls)
		table := wlTable(p, *f.Target)
		target := f.Target.Name
		objects := []string{}
		if table != nil {
			target = wlName(table)
			objects = wlObjects(table)
		}
		verb := strings.ToUpper(string(f.Kind))
		ev := map[string]any{
			"calls":         s.Calls,
			"rows":          s.Rows,
			"rows_per_call": round(rowsPerCall, 3),
			"total_ms":      round(s.TotalTime(), 1),
			"mean_ms":       round(s.MeanExecTime, 3),
			"kind":          string(f.Kind),
		}
		if haveXacts {
			ev["transactions"] = xacts
			ev["calls_per_transaction"] = round(callsPerXact, 2)
		}
		if s.WALBytes > 0 {
			ev["wal_bytes"] = num.Int64(s.WALBytes)
		}
		severity := SeverityWarning
		if s.Share >= th.ErrorShare {
			severity = SeverityError
		}
		var msg string
		if callsPerXact > th.MinCallsPerXact {
			msg = fmt.Sprintf("%s on %s writes one row per statement, %.1f times per transaction: %s calls in %s transactions, %.2f rows per call (%.1f ms in all, %.0f%% of the time)",
				verb, target, callsPerXact, num.Thousands(s.Calls), num.Thousands(xacts), rowsPerCall, s.TotalTime(), 100*s.Share)
		} else {
			msg = fmt.Sprintf("%s on %s writes one row per statement, up to %d times in a row inside one transaction (statement log: %s in %s): %s calls, %.2f rows per call (%.1f ms in all, %.0f%% of the time)",
				verb, target, burst.MaxRepeats, wlPlural(burst.Runs, "run"), wlPlural(burst.Sessions, "session"), num.Thousands(s.Calls), rowsPerCall, s.TotalTime(), 100*s.Share)
		}
		if inLog {
			ev["log_runs"] = burst.Runs
			ev["log_sessions"] = burst.Sessions
			ev["log_max_repeats"] = burst.MaxRepeats
			ev["log_total_repeats"] = burst.TotalRepeats
			ev["log_total_ms"] = burst.TotalMS
		}
		fix, unchecked := unbatchedFix(p, s, table)
		if unchecked != "" {
			msg += "; " + unchecked
			ev["rewrite_error"] = unchecked
		}
		p.Report(p.StatementFinding(s, Finding{
			Severity: severity,
			Message:  msg,
			Objects:  objects,
			Evidence: ev,
			Fix:      fix,
		}))
	}
	return nil
}

// UnbatchedRewrites returns the batched statements the unbatched-writes rule
// would show for the snapshot's candidate statements, comments removed, as
// they are PREPAREd before being shown (audit.CheckFixes). COPY, which
// cannot be prepared, is left out.
func UnbatchedRewrites(snap *pgstat.Snapshot, opts Options) []string {
	var out []string
	seen := map[string]bool{}
	stmts, total := model.Statements(snap)
	pass := &Pass{Snapshot: snap, Statements: stmts, TotalMS: total, Options: opts}
	for _, s := range pass.Statements {
		if !unbatchedCandidate(pass, s) {
			continue
		}
		var table *pgstat.Table
		if s.Facts.Target != nil {
			table = wlTable(pass, *s.Facts.Target)
		}
		for _, q := range unbatchedSQL(pass, s, table) {
			q = FixStatement(q)
			if q == "" || strings.HasPrefix(strings.ToUpper(q), "COPY ") || seen[q] {
				continue
			}
			seen[q] = true
			out = append(out, q)
		}
	}
	return out
}

// FixStatement is a fix's SQL without its comment lines, as it is PREPAREd.
func FixStatement(sql string) string {
	var lines []string
	for _, l := range strings.Split(sql, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "--") {
			continue
		}
		lines = append(lines, l)
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
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
	// typeName is a type as format_type writes it, or as a cast names it.
	typeName = `[a-zA-Z_][\w.]*(?:\s+(?:with|without)\s+time\s+zone|\s+precision|\s+varying)?(?:\s*\(\s*\d+(?:\s*,\s*\d+)?\s*\))?(?:\[\])*`
	// castParam is "$n::type".
	castParam = regexp.MustCompile(`\$(\d+)\s*::\s*(` + typeName + `)`)
	// plainParam is a value that is one parameter, maybe cast.
	plainParam = regexp.MustCompile(`^\$(\d+)(?:\s*::\s*` + typeName + `)?$`)
	// deltaAssign is "col = col + $n" (or -, on the same column).
	deltaAssign = regexp.MustCompile(`^((?:"[^"]+"|[a-zA-Z_][\w$]*)(?:\.(?:"[^"]+"|[a-zA-Z_][\w$]*))?)\s*([-+])\s*\$(\d+)(?:\s*::\s*` + typeName + `)?$`)
)

// unbatchedFix writes the batched form of a single-row write, leaving out
// SQL that a live audit could not PREPARE; unchecked then says why.
func unbatchedFix(p *Pass, s *model.Statement, table *pgstat.Table) (fix *Fix, unchecked string) {
	sqls := unbatchedSQL(p, s, table)
	summary := "Batch the rows: one statement with an array per column (unnest) or a multi-row VALUES list, COPY for bulk loads, and one transaction per batch"
	if checks := p.Snapshot.FixChecks; len(checks) > 0 && len(sqls) > 0 {
		failed := map[string]string{}
		checked := map[string]bool{}
		for _, c := range checks {
			checked[c.SQL] = true
			if c.Error != "" {
				failed[c.SQL] = c.Error
			}
		}
		kept := sqls[:0]
		for _, q := range sqls {
			stmt := FixStatement(q)
			if msg, bad := failed[stmt]; bad {
				unchecked = "the batched statement did not prepare on the server (" + msg + "), so it is not shown"
				continue
			}
			kept = append(kept, q)
		}
		sqls = kept
	}
	if len(sqls) == 0 {
		return &Fix{Summary: summary, SQL: []string{batchNote}, Advisory: true}, unchecked
	}
	sqls[len(sqls)-1] += "\n" + batchNote
	return &Fix{Summary: summary, SQL: sqls, Advisory: true}, unchecked
}

const batchNote = "-- and commit once per batch (BEGIN; … a few hundred to a few thousand rows … COMMIT), not once per row"

// unbatchedSQL writes the batched statements of a single-row write: none
// when a parameter's type cannot be told from the target columns or a cast.
func unbatchedSQL(p *Pass, s *model.Statement, table *pgstat.Table) []string {
	q := sqlfacts.CastTypedParams(strings.TrimRight(strings.TrimSpace(s.Query), ";"))
	switch s.Facts.Kind {
	case sqlfacts.KindInsert:
		return insertBatches(p, s, table, q)
	case sqlfacts.KindUpdate:
		return updateBatch(p, s, table, q)
	case sqlfacts.KindDelete:
		return deleteBatch(p, s, table, q)
	}
	return nil
}

// arrayType is the array type of one parameter's element type, "" when
// the element type is unknown or itself an array (unnest would flatten it).
func arrayType(elem string) string {
	if elem == "" || strings.HasSuffix(elem, "]") {
		return ""
	}
	return elem + "[]"
}

// castTypes returns the types the text casts its parameters to ($n::type).
func castTypes(texts ...string) map[int]string {
	out := map[int]string{}
	for _, t := range texts {
		for _, m := range castParam.FindAllStringSubmatch(t, -1) {
			n, _ := strconv.Atoi(m[1])
			if _, ok := out[n]; !ok {
				out[n] = strings.Join(strings.Fields(m[2]), " ")
			}
		}
	}
	return out
}

// insertBatches rewrites INSERT INTO t (a, b) VALUES ($1, $2) [suffix] as an
// INSERT … SELECT FROM unnest of one array per parameter, plus COPY.
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
	if wlParams(suffix) != nil {
		return nil // ON CONFLICT … or RETURNING with parameters: not one value per row
	}
	if wlFindTop(suffix, 0, "do update") >= 0 {
		// A key repeated in the batch would make ON CONFLICT DO UPDATE fail
		// ("cannot affect row a second time"), where the loop updates twice.
		return nil
	}
	types := castTypes(values...)
	allPlain := true
	for i, v := range values {
		v = strings.TrimSpace(v)
		values[i] = v
		if pm := plainParam.FindStringSubmatch(v); pm != nil {
			n, _ := strconv.Atoi(pm[1])
			if _, ok := types[n]; !ok && wlKnownColumnType(table, wlUnquote(cols[i])) != "" {
				types[n] = wlKnownColumnType(table, wlUnquote(cols[i]))
			}
			if n != i+1 || strings.Contains(v, "::") {
				allPlain = false
			}
			continue
		}
		allPlain = false
		// One parameter in an expression (lower($2), $3 + 1): the column's
		// type is the likely one; a live audit PREPAREs the rewrite before
		// showing it.
		if ps := wlParams(v); len(ps) == 1 {
			if _, ok := types[ps[0]]; !ok && wlKnownColumnType(table, wlUnquote(cols[i])) != "" {
				types[ps[0]] = wlKnownColumnType(table, wlUnquote(cols[i]))
			}
		}
	}
	params := wlParams(values...)
	var arrays, names []string
	for _, n := range params {
		t, ok := types[n]
		if !ok {
			t = wlParamType(p, s, table, n)
		}
		at := arrayType(t)
		if at == "" {
			return nil
		}
		arrays = append(arrays, fmt.Sprintf("$%d::%s", n, at))
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

// updateBatch rewrites UPDATE t SET … WHERE k = $n [AND …] as one UPDATE …
// FROM the batch's arrays, grouped by key first so that a key repeated in
// the batch ends as the loop leaves it: deltas (col = col + $n) are added
// up, a plain assignment (col = $n) keeps the batch's last value. Any other
// SET or WHERE form is not rewritten.
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
	if wlParams(suffix) != nil {
		return nil
	}
	types := castTypes(set, cond)
	// The key: WHERE is a conjunction of "column = $n".
	keys := map[int]bool{}
	for _, c := range wlSplitAnd(cond) {
		col, val, ok := strings.Cut(c, "=")
		pm := plainParam.FindStringSubmatch(strings.TrimSpace(val))
		if !ok || pm == nil || strings.ContainsAny(col, "<>!()") {
			return nil
		}
		n, _ := strconv.Atoi(pm[1])
		keys[n] = true
		if _, ok := types[n]; !ok && wlKnownColumnType(table, wlUnquote(strings.TrimSpace(col))) != "" {
			types[n] = wlKnownColumnType(table, wlUnquote(strings.TrimSpace(col)))
		}
	}
	// The values: each parameter of SET is a plain value or a delta.
	agg := map[int]string{} // "last" or "sum"
	for _, a := range wlSplitTop(set) {
		col, val, ok := strings.Cut(a, "=")
		if !ok {
			return nil
		}
		col, val = wlUnquote(strings.TrimSpace(col)), strings.TrimSpace(val)
		ps := wlParams(val)
		if len(ps) == 0 {
			continue // now(), a constant: the same for every row
		}
		n := ps[0]
		kind := ""
		if plainParam.MatchString(val) {
			kind = "last"
		} else if dm := deltaAssign.FindStringSubmatch(val); dm != nil && wlUnquote(dm[1]) == col {
			kind = "sum"
		}
		if kind == "" || len(ps) != 1 || (agg[n] != "" && agg[n] != kind) {
			return nil
		}
		if keys[n] {
			continue // a key's value is the group's
		}
		agg[n] = kind
		if _, ok := types[n]; !ok && wlKnownColumnType(table, col) != "" {
			types[n] = wlKnownColumnType(table, col)
		}
	}
	params := wlParams(set, cond)
	var arrays, names, keyNames, outs []string
	for _, n := range params {
		t, ok := types[n]
		if !ok {
			t = wlParamType(p, s, table, n)
		}
		at := arrayType(t)
		if at == "" {
			return nil
		}
		name := "p" + strconv.Itoa(n)
		arrays = append(arrays, fmt.Sprintf("$%d::%s", n, at))
		names = append(names, name)
		switch {
		case keys[n]:
			keyNames = append(keyNames, name)
			outs = append(outs, name)
		case agg[n] == "sum":
			outs = append(outs, fmt.Sprintf("sum(%s) AS %s", name, name))
		case agg[n] == "last":
			outs = append(outs, fmt.Sprintf("(array_agg(%s ORDER BY ord DESC))[1] AS %s", name, name))
		default:
			return nil
		}
	}
	if len(keyNames) == 0 {
		return nil
	}
	head := strings.TrimSpace(q[:m[1]])
	return []string{fmt.Sprintf("-- one statement per batch: $n is the array of the batch's values; a key repeated in the batch is updated once, as the loop would leave it\n%s %s\nFROM (SELECT %s\n      FROM unnest(%s) WITH ORDINALITY AS u(%s, ord)\n      GROUP BY %s) AS v\nWHERE %s%s",
		head, paramRef.ReplaceAllString(set, "v.p$1"), strings.Join(outs, ", "), strings.Join(arrays, ", "), strings.Join(names, ", "), strings.Join(keyNames, ", "), paramRef.ReplaceAllString(cond, "v.p$1"), suffix)}
}

// wlSplitAnd splits a condition at its top-level ANDs; nil when it has a top-level OR.
func wlSplitAnd(cond string) []string {
	if wlFindTop(cond, 0, "or") >= 0 {
		return nil
	}
	var out []string
	for {
		i := wlFindTop(cond, 0, "and")
		if i < 0 {
			return append(out, strings.TrimSpace(cond))
		}
		out = append(out, strings.TrimSpace(cond[:i]))
		cond = cond[i+len("and"):]
	}
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
	if wlParams(suffix) != nil {
		return nil
	}
	types := castTypes(cond)
	typeOf := func(n int) string {
		if t, ok := types[n]; ok {
			return arrayType(t)
		}
		return arrayType(wlParamType(p, s, table, n))
	}
	params := wlParams(cond)
	head := strings.TrimSpace(q[:m[1]])
	if len(params) == 1 {
		n := params[0]
		re := regexp.MustCompile(`=\s*\$` + strconv.Itoa(n) + `\b(?:\s*::\s*` + typeName + `)?`)
		if loc := re.FindStringIndex(cond); loc != nil && len(re.FindAllStringIndex(cond, -1)) == 1 {
			at := typeOf(n)
			if at == "" {
				return nil
			}
			batched := cond[:loc[0]] + fmt.Sprintf("= ANY($%d::%s)", n, at) + cond[loc[1]:]
			return []string{fmt.Sprintf("-- one statement per batch: $%d is the array of the batch's keys\n%s %s%s", n, head, batched, suffix)}
		}
	}
	var arrays, names []string
	for _, n := range params {
		at := typeOf(n)
		if at == "" {
			return nil
		}
		arrays = append(arrays, fmt.Sprintf("$%d::%s", n, at))
		names = append(names, "p"+strconv.Itoa(n))
	}
	from := strings.TrimSpace(head)
	if i := strings.LastIndex(strings.ToUpper(head), "WHERE"); i >= 0 {
		from = strings.TrimSpace(head[:i])
	}
	return []string{fmt.Sprintf("-- one statement per batch: $n is the array of the batch's values\n%s\nUSING unnest(%s) AS v(%s)\nWHERE %s%s",
		from, strings.Join(arrays, ", "), strings.Join(names, ", "), paramRef.ReplaceAllString(cond, "v.p$1"), suffix)}
}

// wlParamType is the type of the column $n is compared with or assigned
// to, "" when unknown.
func wlParamType(p *Pass, s *model.Statement, table *pgstat.Table, n int) string {
	if s.Facts == nil {
		return ""
	}
	if c, ok := s.Facts.ParamColumns[n]; ok {
		t := table
		if c.Table != "" && (table == nil || c.Table != table.Name) {
			t = p.Table(c.Schema, c.Table)
		}
		if typ := wlKnownColumnType(t, c.Column); typ != "" {
			return typ
		}
	}
	for _, pr := range s.Facts.Predicates {
		if pr.Param == n && !pr.Join {
			if typ := wlKnownColumnType(table, pr.Column.Column); typ != "" {
				return typ
			}
		}
	}
	return ""
}

// wlKnownColumnType is the type of a column of t (format_type of
// pg_attribute), "" when unknown.
func wlKnownColumnType(t *pgstat.Table, column string) string {
	if t == nil {
		return ""
	}
	if c := wlColumn(t, column); c != nil {
		return c.Type
	}
	return ""
}
