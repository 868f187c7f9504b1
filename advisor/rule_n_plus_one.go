package advisor

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pglog"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// NPlusOne finds a parameterised lookup that runs once per row of another
// statement: from pg_stat_statements (calls of the child ≈ rows of the
// parent) and from the statement log (runs of one statement after another in
// one session).
var NPlusOne = &Rule{
	Name:     "n-plus-one",
	Family:   "workload",
	Severity: SeverityWarning,
	Doc: `One lookup runs once per row of another statement (N+1 queries)
The application reads a list (the parent statement), then runs one small
query per row of it (the child: a lookup of one table by one column, usually
a foreign key, with $1). Each child call is cheap, but N round trips, N
parses and N executor start-ups add up to most of an endpoint's time.
In pg_stat_statements the child has very many calls of few rows each, and its
calls match the rows the parent returned; in a statement log
(pgadvisor audit --log FILE) the child repeats right after the parent in one
session. Fix: fetch all children in one statement, WHERE order_id = ANY($1)
with the parent's ids as an array, or join the child to the parent (the ORM's
eager loading: includes, prefetch_related, JOIN FETCH).`,
	Evidence: `Proof of the loop is structural: the child's calls equal the rows the parent returned (calls per parent
row between n_plus_one_min_ratio and n_plus_one_max_ratio), the child looks up the parent's key (a foreign key, also
one declared only on partitions, or a <table>_id column), and the parent returns several rows per call. That holds
at any volume, so the count only has to show that it matters: n_plus_one_min_calls calls costing min_share of the
period, or, in a short or quiet period, n_plus_one_few_calls calls costing n_plus_one_few_calls_share. Server time
undercounts an N+1 (each call is also a round trip), so no absolute time floor applies. A statement log (--log) adds
direct evidence: the child repeating right after the parent in one session.`,
	Criteria: `pg_stat_statements: the child costs >= min_share of the period's statement time, with calls >=
n_plus_one_min_calls, or calls >= n_plus_one_few_calls and share >= n_plus_one_few_calls_share (low volume,
strong evidence; min_total_ms does not apply: an N+1 costs mostly round trips); child rows per call <=
n_plus_one_max_rows_per_call; child looks up one table (other tables may be joined to it) with one "column = $n" linked to the parent's
table by a foreign key (or a <table>_id column name); parent returns >= 2 rows per call, outputs the linked column, and child calls /
parent rows between n_plus_one_min_ratio and n_plus_one_max_ratio. Statement log: a run of
>= n_plus_one_log_min_repeats consecutive executions of one statement shape in one session right after
another statement, the run taking >= n_plus_one_log_min_ms. Severity: error when the child costs
>= plan_error_share of total time, warning otherwise.`,
	Run: runNPlusOne,
}

func init() { register(NPlusOne) }

// NPlusOneThresholds are the thresholds of n-plus-one (rules.n-plus-one.thresholds in .pgadvisor.yaml).
type NPlusOneThresholds struct {
	MinCalls       int64   `json:"n_plus_one_min_calls" doc:"a child lookup runs at least this many times, and costs at least min_share of the period's time"`
	FewCalls       int64   `json:"n_plus_one_few_calls" doc:"low volume: a child lookup with fewer calls than n_plus_one_min_calls but at least this many is an N+1 when it costs n_plus_one_few_calls_share"`
	FewCallsShare  float64 `json:"n_plus_one_few_calls_share" doc:"low volume: the share of the period's statement time such a child costs at least"`
	MaxRowsPerCall float64 `json:"n_plus_one_max_rows_per_call" doc:"a child lookup returns at most this many rows per call"`
	MinRatio       float64 `json:"n_plus_one_min_ratio" doc:"child calls / parent rows, at least, for the parent to be the one feeding the child"`
	MaxRatio       float64 `json:"n_plus_one_max_ratio" doc:"child calls / parent rows, at most"`
	LogMinRepeats  int     `json:"n_plus_one_log_min_repeats" doc:"statement log: consecutive repeats of one statement after a parent in one session, at least"`
	LogMinMS       float64 `json:"n_plus_one_log_min_ms" doc:"statement log: time of such a run, milliseconds, at least"`
}

var defaultNPlusOne = NPlusOneThresholds{
	MinCalls:       300,
	FewCalls:       50,
	FewCallsShare:  0.1,
	MaxRowsPerCall: 50,
	MinRatio:       0.5,
	MaxRatio:       2,
	LogMinRepeats:  5,
	LogMinMS:       50,
}

// wlLink is how a child lookup column is fed by a parent table.
type wlLink struct {
	parent    *pgstat.Table
	parentKey string // the parent's column whose values the child is called with
	child     *pgstat.Table
	column    string // the child's column compared with $n
	source    string // "foreign key" or "column name"
}

func runNPlusOne(p *Pass) error {
	type pending struct {
		stmt *model.Statement
		f    Finding
	}
	byFingerprint := map[string]*pending{}
	var order []*pending
	for _, child := range p.Statements {
		f, ok := nPlusOneFromStats(p, child)
		if !ok {
			continue
		}
		pd := &pending{stmt: child, f: f}
		order = append(order, pd)
		if child.Facts != nil {
			byFingerprint[child.Facts.Fingerprint] = pd
		}
	}
	if log := wlLog(p.Snapshot); log != nil {
		for _, seq := range log.Sequences {
			if seq.MaxRepeats < p.Options.NPlusOne.LogMinRepeats || seq.MaxRunMS < p.Options.NPlusOne.LogMinMS {
				continue
			}
			if pd := byFingerprint[seq.ChildFingerprint]; pd != nil {
				for k, v := range nPlusOneLogEvidence(seq) {
					pd.f.Evidence[k] = v
				}
				continue
			}
			f := nPlusOneFromLog(p, log, seq)
			order = append(order, &pending{f: f})
		}
	}
	for _, pd := range order {
		p.Report(pd.f)
	}
	return nil
}

// nPlusOneFromStats checks one statement as the child of an N+1 pair.
func nPlusOneFromStats(p *Pass, child *model.Statement) (Finding, bool) {
	f := child.Facts
	if f == nil || f.Kind != sqlfacts.KindSelect || len(f.Relations) == 0 || f.Locking {
		return Finding{}, false
	}
	if !nPlusOneVolume(p, child) {
		return Finding{}, false
	}
	rowsPerCall := float64(child.Rows) / float64(child.Calls)
	if rowsPerCall > p.Options.NPlusOne.MaxRowsPerCall {
		return Finding{}, false
	}
	var best *model.Statement
	var bestLink wlLink
	var bestParam int
	bestScore := math.Inf(1)
	for _, pred := range f.Predicates {
		if pred.Operator != "=" || pred.Param == 0 || pred.Join || pred.InOr || pred.Function != "" {
			continue
		}
		table := nPlusOneLookupTable(p, f, pred.Column)
		if table == nil {
			continue
		}
		for _, link := range wlLinks(p, table, pred.Column.Column) {
			for _, parent := range p.Statements {
				if parent == child || parent.Facts == nil || parent.Facts.Kind != sqlfacts.KindSelect || parent.Calls == 0 || parent.Rows == 0 {
					continue
				}
				if !wlReads(p, parent.Facts, link.parent) || !wlSelects(parent.Query, link.parentKey) {
					continue
				}
				if float64(parent.Rows)/float64(parent.Calls) < 2 {
					continue // one row per call: 1+1 round trips, not N+1
				}
				ratio := float64(child.Calls) / float64(parent.Rows)
				if ratio < p.Options.NPlusOne.MinRatio || ratio > p.Options.NPlusOne.MaxRatio {
					continue
				}
				score := math.Abs(math.Log(ratio))
				if score < bestScore || (score == bestScore && parent.TotalTime() > best.TotalTime()) {
					best, bestLink, bestParam, bestScore = parent, link, pred.Param, score
				}
			}
		}
	}
	if best == nil {
		return Finding{}, false
	}
	ratio := float64(child.Calls) / float64(best.Rows)
	link := bestLink
	msg := fmt.Sprintf("%s is read once per row of a statement on %s: %s calls of %.1f rows each, for %s parent rows (%.2f×) — N+1 queries",
		wlName(link.child), wlName(link.parent), num.Thousands(child.Calls), rowsPerCall, num.Thousands(best.Rows), ratio)
	ev := map[string]any{
		"child_calls":          child.Calls,
		"child_rows":           child.Rows,
		"child_rows_per_call":  round(rowsPerCall, 2),
		"child_total_ms":       round(child.TotalTime(), 1),
		"child_mean_ms":        round(child.MeanExecTime, 3),
		"parent_queryid":       strconv.FormatInt(best.QueryID, 10),
		"parent_query":         best.Query,
		"parent_calls":         best.Calls,
		"parent_rows":          best.Rows,
		"calls_per_parent_row": round(ratio, 3),
		"link":                 wlName(link.child) + "." + link.column + " = " + wlName(link.parent) + "." + link.parentKey,
		"link_source":          link.source,
	}
	finding := Finding{
		Severity: severityByShare(p.Options, child.Share, true, false),
		Message:  msg,
		Objects:  wlObjects(link.child, link.parent),
		Evidence: ev,
		Fix:      nPlusOneFix(child.Query, best.Query, link, bestParam),
	}
	return p.StatementFinding(child, finding), true
}

// nPlusOneVolume is the rule's volume gate, relative to the period: a child
// called often (n_plus_one_min_calls) that costs a visible share of the
// time (min_share), or a child called less often (n_plus_one_few_calls, a
// 30-second sample or a quiet hour) that costs a large share
// (n_plus_one_few_calls_share). A large count that is a negligible share
// stays silent whatever the count. min_total_ms is not applied: an N+1
// costs mostly round trips, which the server's statement time does not count.
func nPlusOneVolume(p *Pass, child *model.Statement) bool {
	o := p.Options.NPlusOne
	switch {
	case child.Calls == 0 || child.Share < p.Options.MinShare:
		return false
	case child.Calls >= o.MinCalls:
		return true
	}
	return child.Calls >= o.FewCalls && child.Share >= o.FewCallsShare
}

// nPlusOneLookupTable returns the table whose column a child lookup compares
// with $n: the only relation of a single-table lookup, or, when the child
// joins other tables to the looked-up one (a post's tags through post_tags),
// the relation the column belongs to. nil when it cannot be told.
func nPlusOneLookupTable(p *Pass, f *sqlfacts.Facts, col sqlfacts.ColumnRef) *pgstat.Table {
	if len(f.Relations) == 1 {
		return wlTable(p, f.Relations[0])
	}
	if col.Table == "" {
		return nil
	}
	var found *pgstat.Table
	for _, r := range f.Relations {
		if r.Name != col.Table || (col.Schema != "" && r.Schema != "" && r.Schema != col.Schema) {
			continue
		}
		t := wlTable(p, r)
		if t == nil || (found != nil && found != t) {
			return nil
		}
		found = t
	}
	return found
}

// wlLinks lists the ways column of table can be fed by another table's rows:
// a foreign key from it, a foreign key to it, or a <name>_id naming convention.
func wlLinks(p *Pass, table *pgstat.Table, column string) []wlLink {
	var out []wlLink
	seen := map[*pgstat.Table]bool{}
	for _, fk := range p.Snapshot.ForeignKeys {
		if len(fk.Columns) != 1 {
			continue
		}
		// A key declared on the table, or only on its partitions (older
		// schemas had to), links the table.
		if on := p.Table(fk.Schema, fk.Table); on != nil && on != table && p.root(on) == table && fk.Columns[0] == column {
			if parent := p.Table(fk.RefSchema, fk.RefTable); parent != nil && !seen[parent] {
				seen[parent] = true
				out = append(out, wlLink{parent: parent, parentKey: fk.RefColumns[0], child: table, column: column, source: "foreign key (on its partitions)"})
			}
		}
		if fk.Schema == table.Schema && fk.Table == table.Name && fk.Columns[0] == column {
			if parent := p.Table(fk.RefSchema, fk.RefTable); parent != nil {
				out = append(out, wlLink{parent: parent, parentKey: fk.RefColumns[0], child: table, column: column, source: "foreign key"})
			}
		}
		if fk.RefSchema == table.Schema && fk.RefTable == table.Name && fk.RefColumns[0] == column {
			if parent := p.Table(fk.Schema, fk.Table); parent != nil && parent != table {
				out = append(out, wlLink{parent: parent, parentKey: fk.Columns[0], child: table, column: column, source: "foreign key"})
			}
		}
	}
	if len(out) > 0 {
		return out
	}
	// No declared foreign key: order_id names orders.id (or rental_id
	// rental.rental_id, pagila's naming), and id is named by <singular>_id elsewhere.
	if base, ok := strings.CutSuffix(column, "_id"); ok && base != "" {
		for _, name := range wlPlurals(base) {
			parent := p.Table(table.Schema, name)
			if parent == nil || parent == table {
				continue
			}
			if key := "id"; wlHasColumn(parent, key) || wlHasColumn(parent, column) {
				if !wlHasColumn(parent, key) {
					key = column
				}
				out = append(out, wlLink{parent: parent, parentKey: key, child: table, column: column, source: "column name"})
				break
			}
		}
	}
	if column == "id" {
		for _, single := range wlSingulars(table.Name) {
			for i := range p.Snapshot.Tables {
				t := &p.Snapshot.Tables[i]
				if t != table && t.Schema == table.Schema && wlHasColumn(t, single+"_id") {
					out = append(out, wlLink{parent: t, parentKey: single + "_id", child: table, column: column, source: "column name"})
				}
			}
		}
	}
	return out
}

func wlPlurals(base string) []string {
	out := []string{base + "s", base + "es", base}
	if strings.HasSuffix(base, "y") {
		out = append(out, strings.TrimSuffix(base, "y")+"ies")
	}
	return out
}

func wlSingulars(name string) []string {
	var out []string
	if s, ok := strings.CutSuffix(name, "ies"); ok {
		out = append(out, s+"y")
	}
	if s, ok := strings.CutSuffix(name, "es"); ok {
		out = append(out, s)
	}
	if s, ok := strings.CutSuffix(name, "s"); ok {
		out = append(out, s)
	}
	return append(out, name)
}

func wlHasColumn(t *pgstat.Table, name string) bool {
	return wlColumn(t, name) != nil
}

// wlSelects reports whether a SELECT's output list can hold column: it names
// it or has a *. A text it cannot read counts as yes.
func wlSelects(sql, column string) bool {
	q := strings.TrimSpace(sql)
	sel := wlFindTop(q, 0, "select")
	from := wlFindTop(q, 0, "from")
	if sel < 0 || from < sel {
		return true
	}
	list := q[sel+len("select") : from]
	if strings.Contains(list, "*") {
		return true
	}
	re := regexp.MustCompile(`(?i)(^|[^a-z0-9_$])"?` + regexp.QuoteMeta(column) + `"?([^a-z0-9_$]|$)`)
	return re.MatchString(list)
}

// wlReads reports whether a statement reads table.
func wlReads(p *Pass, f *sqlfacts.Facts, table *pgstat.Table) bool {
	for _, r := range f.Relations {
		if wlTable(p, r) == table {
			return true
		}
	}
	return false
}

// nPlusOneFix writes the batched child statement and the join.
func nPlusOneFix(childSQL, parentSQL string, link wlLink, param int) *Fix {
	col := link.column
	batched := wlEqualityToAny(childSQL, col, param)
	var sqls []string
	if batched != childSQL {
		sqls = append(sqls, fmt.Sprintf("-- one statement for all parent rows: $%d is the array of %s.%s values the parent returned\n%s",
			param, link.parent.Name, link.parentKey, batched))
	}
	// The join needs the parent's key among the parent statement's output
	// columns; a parent that does not return it (it selects other columns,
	// or the log's previous statement is not the parent) gets no join.
	parent := strings.TrimRight(strings.TrimSpace(parentSQL), ";")
	joined := sqlfacts.ReturnsColumn(parent, link.parentKey)
	if joined {
		join := fmt.Sprintf("-- or one round trip: join the children to the parent's rows\nSELECT p.*, c.*\nFROM (%s) AS p\nJOIN %s AS c ON c.%s = p.%s",
			parent, link.child.QualifiedName(), pgstat.QuoteIdent(col), pgstat.QuoteIdent(link.parentKey))
		sqls = append(sqls, join)
	}
	how := fmt.Sprintf("= ANY($%d) with an array of %s", param, link.parentKey)
	if joined {
		how += ", or a join"
	}
	return &Fix{
		Advisory: true, // application code to change: the statements hold $n for the caller's values
		Summary:  fmt.Sprintf("Fetch the %s rows of all %s rows at once (%s) instead of one query per row", link.child.Name, link.parent.Name, how),
		SQL:      sqls,
	}
}

// wlEqualityToAny rewrites "column = $n" (or a constant) in sql into "column = ANY($n)".
func wlEqualityToAny(sql, column string, param int) string {
	re := regexp.MustCompile(`(?i)((?:\b[a-z_][a-z0-9_$]*\.|"[^"]+"\.)?(?:\b` + regexp.QuoteMeta(column) + `\b|"` + regexp.QuoteMeta(column) + `")\s*=\s*)(\$\d+\b|'(?:[^']|'')*'|-?\d+(?:\.\d+)?\b)`)
	loc := re.FindStringSubmatchIndex(sql)
	if loc == nil {
		return sql
	}
	value := sql[loc[4]:loc[5]]
	if !strings.HasPrefix(value, "$") {
		value = "$" + strconv.Itoa(param)
	}
	return sql[:loc[4]] + "ANY(" + value + ")" + sql[loc[5]:]
}

// wlLog returns the snapshot's statement-log summary, or nil.
func wlLog(s *pgstat.Snapshot) *pglog.Summary { return s.Log }

func nPlusOneLogEvidence(seq pglog.Sequence) map[string]any {
	return map[string]any{
		"log_runs":          seq.Runs,
		"log_sessions":      seq.Sessions,
		"log_max_repeats":   seq.MaxRepeats,
		"log_total_repeats": seq.TotalRepeats,
		"log_total_ms":      seq.TotalMS,
		"log_max_run_ms":    seq.MaxRunMS,
		"log_parent_query":  seq.ParentQuery,
	}
}

// nPlusOneFromLog reports a sequence of the statement log that
// pg_stat_statements did not already show.
func nPlusOneFromLog(p *Pass, log *pglog.Summary, seq pglog.Sequence) Finding {
	ev := nPlusOneLogEvidence(seq)
	if seq.Application != "" {
		ev["log_application"] = seq.Application
	}
	if seq.User != "" {
		ev["log_user"] = seq.User
	}
	childSQL, parentSQL := seq.ChildQuery, seq.ParentQuery
	var stmt *model.Statement
	for _, s := range p.Statements {
		if s.Facts != nil && s.Facts.Fingerprint == seq.ChildFingerprint {
			stmt = s
			childSQL = s.Query
			break
		}
	}
	for _, s := range p.Statements {
		if s.Facts != nil && s.Facts.Fingerprint == seq.ParentFingerprint {
			parentSQL = s.Query
			ev["parent_queryid"] = strconv.FormatInt(s.QueryID, 10)
			break
		}
	}
	f := Finding{
		Severity: SeverityWarning,
		Message: fmt.Sprintf("the statement log shows one query repeated up to %d times in a row after another, %s in %s (%.1f ms) — N+1 queries",
			seq.MaxRepeats, wlPlural(seq.Runs, "time"), wlPlural(seq.Sessions, "session"), seq.TotalMS),
		Objects:     []string{},
		Evidence:    ev,
		Query:       childSQL,
		Fingerprint: seq.ChildFingerprint,
	}
	if log.TotalMS > 0 {
		f.Impact = Impact{TotalMS: round(seq.TotalMS, 1), Share: round(seq.TotalMS/log.TotalMS, 4), Calls: seq.TotalRepeats}
	}
	if facts, err := sqlfacts.Analyze(childSQL); err == nil && len(facts.Relations) == 1 {
		if table := wlTable(p, facts.Relations[0]); table != nil {
			f.Objects = wlObjects(table)
			for _, pred := range facts.Predicates {
				if pred.Operator != "=" || pred.Join || pred.InOr || (pred.Param == 0 && !pred.HasConst) {
					continue
				}
				link := wlLink{child: table, column: pred.Column.Column, parent: nil, parentKey: "id", source: "statement log"}
				if links := wlLinks(p, table, pred.Column.Column); len(links) > 0 {
					link = links[0]
					if pf, err := sqlfacts.Analyze(parentSQL); err == nil {
						for _, l := range links {
							if wlReads(p, pf, l.parent) {
								link = l
								break
							}
						}
					}
					f.Objects = wlObjects(table, link.parent)
				} else {
					link.parent = &pgstat.Table{Name: "parent"}
				}
				param := pred.Param
				if param == 0 {
					param = 1
				}
				f.Fix = nPlusOneFix(childSQL, parentSQL, link, param)
				f.Message = fmt.Sprintf("%s is read once per row of the previous statement: up to %d times in a row, %s in %s (%.1f ms) — N+1 queries",
					wlName(table), seq.MaxRepeats, wlPlural(seq.Runs, "time"), wlPlural(seq.Sessions, "session"), seq.TotalMS)
				break
			}
		}
	}
	if f.Fix == nil {
		f.Fix = &Fix{Advisory: true, Summary: "Fetch the repeated rows in one statement (= ANY($1) with an array of the parent's keys, or a join with the parent statement) instead of one query per row"}
	}
	if stmt != nil {
		f = p.StatementFinding(stmt, f)
	}
	return f
}

// wlPlural is "1 session", "2 sessions".
func wlPlural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
