package model

import (
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// OwnMarker starts every statement pgadvisor sends; statements containing it
// are never findings.
const OwnMarker = pgstat.Marker

// fkCheck matches the statements PostgreSQL's referential-integrity triggers
// run internally: SELECT 1 FROM ONLY "s"."t" x WHERE "id" OPERATOR(pg_catalog.=) $1 FOR KEY SHARE OF x.
var fkCheck = regexp.MustCompile(`(?is)^\s*SELECT\s+1\s+FROM\s+ONLY\s+.*\bFOR\s+(KEY\s+)?SHARE\s+OF\b`)

// IsOwn reports whether a statement text is one pgadvisor sent (it holds OwnMarker).
func IsOwn(query string) bool { return strings.Contains(query, OwnMarker) }

// IsFKCheck reports whether a statement text is one of the checks
// PostgreSQL's foreign-key triggers run internally.
func IsFKCheck(query string) bool { return fkCheck.MatchString(query) }

// Statements builds the rule inputs from a snapshot: parses every statement,
// attaches recorded plans, drops what is never a finding (pgadvisor's own
// statements, internal foreign-key checks, catalog-only statements, utility
// statements) and orders them heaviest first. A statement whose text does
// not parse is kept, with its ParseError. total is the time of all
// statements except pgadvisor's own, milliseconds: the total
// pg_stat_statements had when the snapshot was taken (TotalTime, which
// counts the statements left out too), else the sum of the kept statements.
func Statements(snap *pgstat.Snapshot) (stmts []*Statement, total float64) {
	plans := planIndex(snap)
	for _, s := range snap.Statements {
		if IsOwn(s.Query) {
			continue
		}
		total += s.TotalTime()
	}
	if ss := snap.StatStatements; ss != nil && ss.TotalTime != nil && *ss.TotalTime > total {
		total = *ss.TotalTime
	}
	parsed := parseAll(snap.Statements)
	for i, s := range snap.Statements {
		if IsOwn(s.Query) || IsFKCheck(s.Query) {
			continue
		}
		st := &Statement{Statement: s}
		if total > 0 {
			st.Share = s.TotalTime() / total
		}
		if strings.TrimSpace(s.Query) == "" {
			// A saved plan without its text (pgadvisor explain --plan): the
			// plan rules still apply, the SQL rules have nothing to read.
			if st.Plan = plans[st.ID().String()]; st.Plan != nil {
				stmts = append(stmts, st)
			}
			continue
		}
		p := parsed[i]
		st.Query = p.query
		if p.err != nil {
			st.ParseError = p.err.Error()
		} else {
			st.Facts = p.facts
			if IsUtility(p.facts) || CatalogOnly(p.facts) {
				continue
			}
		}
		st.Plan = plans[st.ID().String()]
		stmts = append(stmts, st)
	}
	sort.SliceStable(stmts, func(i, j int) bool { return stmts[i].TotalTime() > stmts[j].TotalTime() })
	return stmts, total
}

// parsedText is one statement's text as the rules read it and its facts.
type parsedText struct {
	query string
	facts *sqlfacts.Facts
	err   error
}

// parseAll parses the statements' distinct texts (pgadvisor's own, the
// internal FK checks and empty texts left out) on GOMAXPROCS workers: pg_query is safe
// for concurrent use, and parsing is most of an offline run's time (10,000
// statements of a repository in review). A normalised typed literal
// (interval $1) parses here but not on the server: it is planned, and
// shown, as a cast ($1::interval).
func parseAll(list []pgstat.Statement) []parsedText {
	out := make([]parsedText, len(list))
	// One parse per distinct text: a repository often holds a statement
	// twice (sqlc's query file and the Go code generated from it), and the
	// facts are read-only once made.
	first := make(map[string]int, len(list))
	var todo []int
	for i, s := range list {
		if IsOwn(s.Query) || IsFKCheck(s.Query) || strings.TrimSpace(s.Query) == "" {
			continue
		}
		if _, ok := first[s.Query]; !ok {
			first[s.Query] = i
			todo = append(todo, i)
		}
	}
	work := func(k int) {
		i := todo[k]
		q := sqlfacts.CastTypedParams(list[i].Query)
		facts, err := sqlfacts.Analyze(q)
		out[i] = parsedText{query: q, facts: facts, err: err}
	}
	workers := min(runtime.GOMAXPROCS(0), len(todo)/64+1)
	if workers <= 1 {
		for k := range todo {
			work(k)
		}
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := int(next.Add(1)) - 1; k < len(todo); k = int(next.Add(1)) - 1 {
					work(k)
				}
			}()
		}
		wg.Wait()
	}
	for i, s := range list {
		if j, ok := first[s.Query]; ok && j != i {
			out[i] = out[j]
		}
	}
	return out
}

// planIndex maps queryid to the snapshot's recorded plan.
func planIndex(snap *pgstat.Snapshot) map[string]*explain.Result {
	plans := map[string]*explain.Result{}
	for i := range snap.Plans {
		if p := &snap.Plans[i]; p.QueryID != "" {
			plans[p.QueryID] = p
		}
	}
	return plans
}

// AttachPlans points each statement at its recorded plan, as Statements does,
// for statements built before the plans were recorded (so a live audit
// parses its statements once for the explain and what-if phases).
func AttachPlans(snap *pgstat.Snapshot, stmts []*Statement) {
	plans := planIndex(snap)
	for _, st := range stmts {
		st.Plan = plans[st.ID().String()]
	}
}

// IsSystemSchema reports whether a schema holds system catalogs or
// PostgreSQL's own relations: pg_catalog, information_schema, pg_toast, and
// the per-session pg_temp_N and pg_toast_temp_N (and pg_temp, the alias of
// the session's own). It is the one definition the rules and the index
// advisor use.
func IsSystemSchema(schema string) bool {
	return schema == "pg_catalog" || schema == "information_schema" || schema == "pg_toast" || strings.HasPrefix(schema, "pg_temp") || strings.HasPrefix(schema, "pg_toast_temp")
}

// IsUtility reports whether a parsed statement is a utility statement (DDL,
// VACUUM, SET, …) or of a kind pgadvisor does not advise on.
func IsUtility(f *sqlfacts.Facts) bool {
	return f.Kind == sqlfacts.KindUtility || f.Kind == sqlfacts.KindOther
}

// CatalogOnly reports whether a parsed statement reads only system catalogs
// (or, for a SELECT, no table at all). An unqualified name counts as a
// catalog when it starts with pg_ or is information_schema.
func CatalogOnly(f *sqlfacts.Facts) bool {
	if len(f.Relations) == 0 {
		return f.Kind == sqlfacts.KindSelect
	}
	for _, r := range f.Relations {
		if !(IsSystemSchema(r.Schema) || (r.Schema == "" && (strings.HasPrefix(r.Name, "pg_") || r.Name == "information_schema"))) {
			return false
		}
	}
	return true
}
