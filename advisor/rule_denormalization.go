package advisor

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// Denormalization finds hot multi-join or aggregate reads over read-mostly
// tables that a materialised view (or a copied column) would serve.
var Denormalization = &Rule{
	Name:     "denormalization",
	Family:   "workload",
	Severity: SeverityNotice,
	Doc: `A hot join over read-mostly tables is recomputed on every call
A statement with two or more joins, or an aggregate, costs a large share of
the workload's time, while the tables it reads barely change: every call
redoes the same work for the same answer. Precompute it: a materialised view
(refreshed CONCURRENTLY on a schedule that matches how stale the answer may
be), a summary table kept by the application, or a column copied into the
table the statement starts from. Where a joined table is written often, keep
the schema normalised: the copies would cost more than the joins. This is a
design decision to weigh, not a statement to run as is.`,
	Evidence: `A read is hot by its share of the period's time (denorm_min_share) or of all read calls
(denorm_min_call_share), with denorm_min_calls calls, or, in a short period, denorm_few_calls calls costing
denorm_hot_share. Read-mostly is measured per table from its own statistics over the same period (rows written
against rows read, n_tup_* against seq_tup_read and index fetches), so a table that is written often disqualifies
the materialised view however hot the read; only a read costing denorm_hot_share whose one written table is the
fact table, joined to read-mostly dimensions, is reported, with the copy-the-columns fix instead.`,
	Criteria: `hot: calls >= denorm_min_calls and either a share of total time >= denorm_min_share
or a share of all read (SELECT) calls >= denorm_min_call_share (or, at low volume, calls >= denorm_few_calls and a
share of total time >= denorm_hot_share); two or more joins (three or more tables), or an
aggregate when hot by time; every table read-mostly: (n_tup_ins + n_tup_upd + n_tup_del) / (seq_tup_read +
max(idx_tup_fetch, idx_tup_read summed over the table's indexes, which counts index-only scans)) <=
denorm_max_write_ratio; or, for a read costing >= denorm_hot_share of total time, all but one (the fact table, written)
read-mostly, with two or more read-mostly dimension tables: then the fix copies their columns into the fact table.
Severity: warning at >= denorm_hot_share of total time,
notice below. Always advisory.`,
	Run: runDenormalization,
}

func init() { register(Denormalization) }

// DenormalizationThresholds are the thresholds of denormalization (rules.denormalization.thresholds in .pgadvisor.yaml).
type DenormalizationThresholds struct {
	MinShare      float64 `json:"denorm_min_share" doc:"a read's share of total time from which it is hot"`
	MinCalls      int64   `json:"denorm_min_calls" doc:"calls that make a read a hot path"`
	FewCalls      int64   `json:"denorm_few_calls" doc:"low volume: fewer calls than denorm_min_calls but at least this many make a read hot when it costs denorm_hot_share of total time"`
	MinCallShare  float64 `json:"denorm_min_call_share" doc:"a read's share of all read calls from which a multi-join read is hot"`
	HotShare      float64 `json:"denorm_hot_share" doc:"share of total time from which the finding is a warning, not a notice"`
	MaxWriteRatio float64 `json:"denorm_max_write_ratio" doc:"rows written / rows read of a table, at most, for it to be read-mostly"`
}

var defaultDenormalization = DenormalizationThresholds{
	MinShare:      0.05,
	MinCalls:      100,
	FewCalls:      10,
	MinCallShare:  0.05,
	HotShare:      0.2,
	MaxWriteRatio: 0.01,
}

func runDenormalization(p *Pass) error {
	signatures := map[string]int{}
	sigOf := map[*model.Statement]string{}
	for _, s := range p.Statements {
		if s.Facts == nil || s.Facts.Kind != sqlfacts.KindSelect {
			continue
		}
		tables := denormTables(p, s.Facts)
		if len(tables) < 2 {
			continue
		}
		var names []string
		for _, t := range tables {
			names = append(names, wlName(t))
		}
		sort.Strings(names)
		sig := strings.Join(names, ",")
		signatures[sig]++
		sigOf[s] = sig
	}
	// The share of calls is among reads: writes (one per row in an insert
	// loop, say) say nothing about how hot a read path is.
	var allCalls int64
	for _, s := range p.Statements {
		if s.Facts != nil && s.Facts.Kind == sqlfacts.KindSelect {
			allCalls += s.Calls
		}
	}
	for _, s := range p.Statements {
		f := s.Facts
		o := p.Options.Denormalization
		if f == nil || f.Kind != sqlfacts.KindSelect || f.Locking || f.SelectInto {
			continue
		}
		// Volume relative to the period: many calls, or few that cost a
		// large share of the time (a 30-second sample, a quiet hour).
		if s.Calls < o.MinCalls && !(s.Calls >= o.FewCalls && s.Share >= o.HotShare) {
			continue
		}
		callShare := 0.0
		if allCalls > 0 {
			callShare = float64(s.Calls) / float64(allCalls)
		}
		hotByTime := s.Share >= p.Options.Denormalization.MinShare
		hotByCalls := callShare >= p.Options.Denormalization.MinCallShare
		if !hotByTime && !hotByCalls {
			continue
		}
		tables := denormTables(p, f)
		if len(tables) == 0 {
			continue
		}
		joins := len(f.Joins)
		if n := len(tables) - 1; n > joins {
			joins = n
		}
		if joins < 2 && !(f.Aggregates && hotByTime) {
			continue // a frequent single-table aggregate is not enough: it must cost time
		}
		ratios := map[string]float64{}
		var written []*pgstat.Table // tables that are not read-mostly
		maxRatio := 0.0             // of the read-mostly tables
		for _, t := range tables {
			reads := denormRowsRead(p, t)
			writes := t.NTupIns + t.NTupUpd + t.NTupDel
			if reads <= 0 {
				// No reads counted (statistics just reset, or not yet
				// flushed by the backends): only writes can disqualify it.
				if writes > 0 {
					written = append(written, t)
				}
				ratios[wlName(t)] = 0
				continue
			}
			r := float64(writes) / float64(reads)
			ratios[wlName(t)] = round(r, 5)
			if r > o.MaxWriteRatio {
				written = append(written, t)
			} else if r > maxRatio {
				maxRatio = r
			}
		}
		// One written table (the fact table) joined to read-mostly
		// dimension tables is still worth denormalising when the read is a
		// large share of the time: the dimensions' columns are copied into
		// the fact table; a materialised view would be stale at once.
		factWritten := len(written) == 1 && len(tables) >= 3 && s.Share >= o.HotShare
		if len(written) > 0 && !factWritten {
			continue // a write-heavy table: keep it normalised
		}
		sev := SeverityNotice
		if s.Share >= p.Options.Denormalization.HotShare {
			sev = SeverityWarning
		}
		ev := map[string]any{
			"share":            round(s.Share, 4),
			"calls":            s.Calls,
			"mean_ms":          round(s.MeanExecTime, 3),
			"joins":            joins,
			"aggregate":        f.Aggregates,
			"write_read_ratio": ratios,
			"max_write_ratio":  round(maxRatio, 5),
		}
		if sig := sigOf[s]; sig != "" && signatures[sig] > 1 {
			ev["same_join_statements"] = signatures[sig]
		}
		what := fmt.Sprintf("a %d-join read", joins)
		if joins < 2 {
			what = "an aggregate"
		}
		if factWritten {
			fact := written[0]
			var dims []*pgstat.Table
			for _, t := range tables {
				if t != fact {
					dims = append(dims, t)
				}
			}
			ev["fact_table"] = wlName(fact)
			msg := fmt.Sprintf("%s costs %.1f%% of total time, %s calls (%.2f ms each), joining %s, which is written, to read-mostly %s (writes at most %.2f%% of reads)",
				what, s.Share*100, num.Thousands(s.Calls), s.MeanExecTime, wlName(fact), strings.Join(wlObjects(dims...), ", "), maxRatio*100)
			p.Report(p.StatementFinding(s, Finding{
				Severity: sev,
				Message:  msg,
				Objects:  wlObjects(tables...),
				Evidence: ev,
				Fix: &Fix{
					Summary: fmt.Sprintf("Copy the columns the statement reads from %s into %s (they change little: a trigger on them, or the application, keeps the copies current), or keep a summary table updated with each write to %s; a materialised view would be stale as soon as %s changes",
						strings.Join(wlObjects(dims...), ", "), wlName(fact), wlName(fact), wlName(fact)),
					Advisory: true,
				},
			}))
			continue
		}
		msg := fmt.Sprintf("%s over read-mostly tables (%s) costs %.1f%% of total time, %s calls (%.1f%% of all read calls, %.2f ms each); writes are at most %.2f%% of reads",
			what, strings.Join(wlObjects(tables...), ", "), s.Share*100, num.Thousands(s.Calls), callShare*100, s.MeanExecTime, maxRatio*100)
		if n := ev["same_join_statements"]; n != nil {
			msg += fmt.Sprintf("; %d statements repeat this join", n)
		}
		p.Report(p.StatementFinding(s, Finding{
			Severity: sev,
			Message:  msg,
			Objects:  wlObjects(tables...),
			Evidence: ev,
			Fix:      denormFix(p, s, tables, maxRatio),
		}))
	}
	return nil
}

// denormTables resolves the statement's relations to tables, leaving out CTE
// names; nil when one of them is not a known table.
func denormTables(p *Pass, f *sqlfacts.Facts) []*pgstat.Table {
	ctes := map[string]bool{}
	for _, c := range f.CTEs {
		ctes[c.Name] = true
	}
	var out []*pgstat.Table
	seen := map[*pgstat.Table]bool{}
	for _, r := range f.Relations {
		if r.Schema == "" && ctes[r.Name] {
			continue
		}
		t := wlTable(p, r)
		if t == nil {
			return nil
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

var filterColumn = regexp.MustCompile(`(?is)^\s*((?:"[^"]+"|[a-z_][a-z0-9_$]*)(?:\.(?:"[^"]+"|[a-z_][a-z0-9_$]*))?)\s*(=|<>|!=|<=|>=|<|>|\bLIKE\b|\bILIKE\b|\bIN\b|\bBETWEEN\b|=\s*ANY\b)`)

// denormParam finds a $n left in a view's body.
var denormParam = regexp.MustCompile(`\$\d+`)

// denormFix writes the materialised view: the statement without its $n
// conditions, the filtered columns added to the output, a unique index for
// REFRESH … CONCURRENTLY, the refresh, and the read from the view.
func denormFix(p *Pass, s *model.Statement, tables []*pgstat.Table, maxRatio float64) *Fix {
	fix := &Fix{
		Summary:  fmt.Sprintf("Precompute it: a materialised view refreshed CONCURRENTLY on a schedule (or a copied column / summary table kept by the application); the tables change little (writes <= %.2f%% of reads)", maxRatio*100),
		Advisory: true,
	}
	name := "mv_" + tables[0].Name
	for _, t := range tables[1:] {
		name += "_" + t.Name
	}
	if len(name) > 50 {
		name = name[:50]
	}
	// Two statements over the same tables get two views: suffix the statement's fingerprint.
	if s.Facts != nil && len(s.Facts.Fingerprint) >= 6 {
		name += "_" + s.Facts.Fingerprint[:6]
	}
	mv := pgstat.QuoteQualified(tables[0].Schema, name)
	body, filters, keys, ok := denormBody(p, s)
	if ok {
		if hidden := denormParam.FindAllString(body, -1); len(hidden) > 0 {
			// A view cannot take parameters: the constants pg_stat_statements
			// hid outside the WHERE conditions (a separator, a label) are
			// the application's to write in; the SQL would not run as it is.
			fix.SQL = []string{fmt.Sprintf("-- CREATE MATERIALIZED VIEW %s AS <this statement without its $n conditions, with the filtered columns in the output and the application's constants for %s, which pg_stat_statements hides>;\n-- CREATE UNIQUE INDEX ON %s (%s);\n-- REFRESH MATERIALIZED VIEW CONCURRENTLY %s;  -- on a schedule",
				mv, strings.Join(hidden, ", "), mv, strings.Join(keys, ", "), mv)}
			return fix
		}
	}
	if !ok {
		fix.SQL = []string{fmt.Sprintf("-- CREATE MATERIALIZED VIEW %s AS <this statement without its $n conditions, with the filtered columns in the output>;\n-- CREATE UNIQUE INDEX ON %s (<its key columns>);\n-- REFRESH MATERIALIZED VIEW CONCURRENTLY %s;  -- on a schedule", mv, mv, mv)}
		return fix
	}
	sqls := []string{
		fmt.Sprintf("CREATE MATERIALIZED VIEW %s AS\n%s", mv, body),
		fmt.Sprintf("CREATE UNIQUE INDEX ON %s (%s)", mv, strings.Join(keys, ", ")),
		fmt.Sprintf("-- refresh as often as the answer may be stale, e.g. every 5 minutes with pg_cron:\n-- SELECT cron.schedule('%s', '*/5 * * * *', 'REFRESH MATERIALIZED VIEW CONCURRENTLY %s');\nREFRESH MATERIALIZED VIEW CONCURRENTLY %s", name, mv, mv),
	}
	read := "SELECT * FROM " + mv
	if len(filters) > 0 {
		read += " WHERE " + strings.Join(filters, " AND ")
	}
	sqls = append(sqls, "-- then the application reads:\n"+read)
	fix.SQL = sqls
	return fix
}

// denormBody rewrites the statement text for a materialised view. It returns
// the body, the filters to apply when reading the view (on its columns), the
// unique key columns, and false when the text is beyond this rewrite.
func denormBody(p *Pass, s *model.Statement) (body string, filters, keys []string, ok bool) {
	q := strings.TrimRight(strings.TrimSpace(s.Query), ";")
	f := s.Facts
	if !wlKeywordAt(q, 0, "select") || f.SelectStar || len(f.CTEs) > 0 ||
		wlFindTop(q, 0, "union", "intersect", "except", "window", "having", "distinct") >= 0 {
		return "", nil, nil, false
	}
	from := wlFindTop(q, 0, "from")
	if from < 0 {
		return "", nil, nil, false
	}
	end := len(q)
	clauseStart := func(kws ...string) int {
		i := wlFindTop(q, from, kws...)
		if i < 0 {
			return end
		}
		return i
	}
	where := wlFindTop(q, from, "where")
	group := clauseStart("group by")
	tail := clauseStart("order by", "limit", "offset", "fetch", "for")
	if group > tail {
		group = tail
	}
	selectList := wlSplitTop(q[len("select"):from])
	outNames := map[string]bool{}
	for i := range selectList {
		selectList[i] = strings.TrimSpace(selectList[i])
		outNames[outputName(selectList[i])] = true
	}
	fromEnd := group
	if where >= 0 {
		fromEnd = where
	}
	fromPart := strings.TrimSpace(q[from:fromEnd])
	if paramRef.MatchString(fromPart) {
		return "", nil, nil, false // a $n in a join condition
	}
	var keep []string
	if where >= 0 {
		for _, c := range splitAnd(q[where+len("where") : group]) {
			c = strings.TrimSpace(c)
			if !paramRef.MatchString(c) {
				keep = append(keep, c)
				continue
			}
			m := filterColumn.FindStringSubmatchIndex(c)
			if m == nil {
				return "", nil, nil, false
			}
			col := c[m[2]:m[3]]
			op := strings.ToUpper(strings.Join(strings.Fields(c[m[4]:m[5]]), " "))
			if f.Aggregates && op != "=" && op != "IN" && op != "= ANY" {
				return "", nil, nil, false // a range over an aggregate cannot be read back from the view
			}
			name := wlUnquote(col)
			alias := name
			if !containsExpr(selectList, col) {
				if outNames[name] {
					alias = strings.ReplaceAll(wlUnquote(strings.Split(col, ".")[0]), ".", "_") + "_" + name
					selectList = append(selectList, col+" AS "+pgstat.QuoteIdent(alias))
				} else {
					selectList = append(selectList, col)
				}
				outNames[alias] = true
			}
			filters = append(filters, pgstat.QuoteIdent(alias)+c[m[3]:])
		}
	}
	var groupBy []string
	if group < tail {
		for _, g := range wlSplitTop(q[group+len("group by") : tail]) {
			groupBy = append(groupBy, strings.TrimSpace(g))
		}
	}
	if f.Aggregates {
		// Each group is one row: the group keys (and the moved filters) are unique.
		for _, g := range groupBy {
			if !containsExpr(selectList, g) {
				return "", nil, nil, false
			}
			keys = append(keys, pgstat.QuoteIdent(outputName(exprFor(selectList, g))))
		}
		for _, fl := range filters {
			colName := strings.Fields(fl)[0]
			if !slices.Contains(keys, colName) {
				keys = append(keys, colName)
			}
		}
		for _, fl := range filters {
			_ = fl
		}
		if len(keys) == 0 {
			return "", nil, nil, false // one row: a summary table is simpler
		}
		// The filter columns join the GROUP BY.
		for _, c := range selectList[len(wlSplitTop(q[len("select"):from])):] {
			expr := strings.TrimSpace(strings.Split(c, " AS ")[0])
			if !containsExpr(groupBy, expr) {
				groupBy = append(groupBy, expr)
			}
		}
	} else {
		// Rows of a join are identified by the primary keys of its tables.
		for _, r := range f.Relations {
			t := wlTable(p, r)
			if t == nil {
				return "", nil, nil, false
			}
			pk := wlPrimaryKey(p, t)
			if len(pk) == 0 {
				return "", nil, nil, false
			}
			ref := r.Name
			if r.Alias != "" {
				ref = r.Alias
			} else if r.Schema != "" {
				ref = r.Schema + "." + r.Name
			}
			for _, k := range pk {
				alias := t.Name + "_" + k
				selectList = append(selectList, ref+"."+pgstat.QuoteIdent(k)+" AS "+pgstat.QuoteIdent(alias))
				keys = append(keys, pgstat.QuoteIdent(alias))
			}
		}
	}
	var b strings.Builder
	b.WriteString("SELECT " + strings.Join(selectList, ",\n       ") + "\n" + fromPart)
	if len(keep) > 0 {
		b.WriteString("\nWHERE " + strings.Join(keep, " AND "))
	}
	if len(groupBy) > 0 {
		b.WriteString("\nGROUP BY " + strings.Join(groupBy, ", "))
	}
	return b.String(), filters, keys, true
}

// splitAnd splits a condition at its top-level ANDs (not those of BETWEEN).
func splitAnd(cond string) []string {
	var parts []string
	start, pos := 0, 0
	for {
		i := wlFindTop(cond, pos, "and")
		if i < 0 {
			break
		}
		if b := wlFindTop(cond[start:i], 0, "between"); b >= 0 && !strings.Contains(strings.ToLower(cond[start+b:i]), " and ") {
			// the AND of BETWEEN x AND y
			pos = i + 3
			if strings.Count(strings.ToLower(cond[start:i]), "between") > strings.Count(strings.ToLower(cond[start:i]), " and ") {
				continue
			}
		}
		parts = append(parts, cond[start:i])
		start, pos = i+3, i+3
	}
	return append(parts, cond[start:])
}

// outputName is the column name a select-list item gets.
func outputName(item string) string {
	item = strings.TrimSpace(item)
	if i := wlFindTop(item, 0, "as"); i >= 0 {
		return wlUnquote(item[i+2:])
	}
	if m := regexp.MustCompile(`^(?:[\w"]+\.)?([\w"]+)$`).FindStringSubmatch(item); m != nil {
		return wlUnquote(m[1])
	}
	if m := regexp.MustCompile(`^([a-zA-Z_]\w*)\s*\(`).FindStringSubmatch(item); m != nil {
		return strings.ToLower(m[1])
	}
	return "?column?"
}

func normExpr(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), "")) }

func containsExpr(list []string, expr string) bool { return exprFor(list, expr) != "" }

// exprFor returns the select-list item computing expr (possibly aliased), or "".
func exprFor(list []string, expr string) string {
	e := normExpr(expr)
	for _, item := range list {
		base := item
		if i := wlFindTop(item, 0, "as"); i >= 0 {
			base = item[:i]
		}
		if normExpr(base) == e {
			return item
		}
	}
	return ""
}

// denormRowsRead is the number of rows read from t since the statistics
// reset: sequentially read rows plus rows found through its indexes. Index
// entries read (idx_tup_read, summed over the table's indexes) count rows
// returned by index-only scans too, which idx_tup_fetch of the table misses:
// a link table read only by index-only scans of its primary key would
// otherwise look never read.
func denormRowsRead(p *Pass, t *pgstat.Table) int64 {
	var entries int64
	for i := range p.Snapshot.Indexes {
		ix := &p.Snapshot.Indexes[i]
		if ix.Schema == t.Schema && ix.Table == t.Name {
			entries += ix.IdxTupRead
		}
	}
	return t.SeqTupRead + max(t.IdxTupFetch, entries)
}
