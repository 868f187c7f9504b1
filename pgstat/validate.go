package pgstat

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/pglog"
)

// MaxValue bounds every counter, size and time in a snapshot: 2^53, the
// largest integer a float64 holds exactly (as milliseconds, 285,000 years;
// as blocks, 64 ZiB). Anything larger was not collected from a server; it
// is rejected before a sum or a conversion to int64 can overflow.
const MaxValue = 1 << 53

// InvalidError is a snapshot whose values cannot have come from a server:
// each problem names the field, as a JSON path, and what is wrong with it.
type InvalidError struct {
	Problems []string
}

func (e *InvalidError) Error() string {
	if len(e.Problems) == 0 {
		return "invalid snapshot"
	}
	msg := e.Problems[0]
	if n := len(e.Problems) - 1; n == 1 {
		msg += " (and 1 more problem: " + e.Problems[1] + ")"
	} else if n > 1 {
		msg += fmt.Sprintf(" (and %d more problems, the next: %s)", n, e.Problems[1])
	}
	return msg
}

// maxProblems caps how many problems Validate collects.
const maxProblems = 20

// Validate checks the values of a snapshot read from a file: counters,
// sizes and times are numbers from 0 to MaxValue (the few that may be
// negative have their own range), tables, indexes, columns, foreign keys
// and views have names, enumerations have known values, and indexes and
// foreign keys refer to tables of the snapshot. It returns an
// *InvalidError, or nil. Fields it does not know are not checked, so a
// snapshot with newer optional fields still validates. The recorded
// what-if results and --verify measurements are checked by
// whatif.ValidateRecorded (what they refer to is the index advisor's business).
func (s *Snapshot) Validate() error {
	v := &validator{}
	v.snapshot(s)
	if len(v.problems) > 0 {
		return &InvalidError{Problems: v.problems}
	}
	return nil
}

type validator struct {
	problems []string
}

func (v *validator) addf(format string, args ...any) {
	if len(v.problems) < maxProblems {
		v.problems = append(v.problems, fmt.Sprintf(format, args...))
	}
}

// number formats a value for a message: 1e308, not 1e+308.
func number(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e21 {
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return strings.Replace(strconv.FormatFloat(x, 'g', -1, 64), "e+", "e", 1)
}

// inRange checks lo <= x <= hi.
func (v *validator) inRange(path string, x, lo, hi float64) {
	if x < lo || x > hi || x != x {
		v.addf("%s = %s is out of range (%s to %s)", path, number(x), number(lo), number(hi))
	}
}

func (v *validator) name(path, value string) {
	if strings.TrimSpace(value) == "" {
		v.addf("%s is empty: a name is required", path)
	}
}

func (v *validator) oneOf(path, value string, allowed ...string) {
	for _, a := range allowed {
		if value == a {
			return
		}
	}
	v.addf("%s = %q is not a known value (one of %s)", path, value, quoteAll(allowed))
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// numbers checks every numeric field of the struct x (and of the structs
// and slices of structs below it) to lie within 0..max, except those whose
// JSON name is in signed (checked by the caller). Field names in messages
// are JSON names.
func (v *validator) numbers(path string, x any, max float64, signed ...string) {
	v.walkNumbers(path, reflect.ValueOf(x), max, signed)
}

func (v *validator) walkNumbers(path string, rv reflect.Value, max float64, signed []string) {
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !rv.IsNil() {
			v.walkNumbers(path, rv.Elem(), max, signed)
		}
	case reflect.Struct:
		t := rv.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := jsonName(f)
			if name == "-" {
				continue
			}
			if f.Anonymous && name == "" {
				v.walkNumbers(path, rv.Field(i), max, signed)
				continue
			}
			if name == "" {
				name = f.Name
			}
			skip := false
			for _, s := range signed {
				skip = skip || s == name
			}
			if !skip {
				v.walkNumbers(path+"."+name, rv.Field(i), max, nil)
			}
		}
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return // raw JSON or bytes
		}
		for i := 0; i < rv.Len(); i++ {
			v.walkNumbers(fmt.Sprintf("%s[%d]", path, i), rv.Index(i), max, nil)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.inRange(path, float64(rv.Int()), 0, max)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.inRange(path, float64(rv.Uint()), 0, max)
	case reflect.Float32, reflect.Float64:
		v.inRange(path, rv.Float(), 0, max)
	}
}

func jsonName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	name, _, _ := strings.Cut(tag, ",")
	return name
}

// methodName is what an index access method's name looks like (btree, gin,
// or an extension's: hnsw, ivfflat, rum, bloom).
var methodName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// sessionStates are the values of pg_stat_activity.state.
var sessionStates = []string{"", "active", "idle", "idle in transaction", "idle in transaction (aborted)", "fastpath function call", "disabled"}

func (v *validator) snapshot(s *Snapshot) {
	v.inRange("server.version_num", float64(s.Server.VersionNum), 0, 9999999)
	if s.Server.Transactions != nil {
		v.inRange("server.transactions", float64(*s.Server.Transactions), 0, MaxValue)
	}
	for phase, ms := range s.Timings {
		v.inRange("timings_ms."+phase, ms, 0, MaxValue)
	}
	if s.StatStatements != nil {
		v.numbers("pg_stat_statements", *s.StatStatements, MaxValue)
	}
	for role, settings := range s.RoleSettings {
		if strings.TrimSpace(role) == "" {
			v.addf("role_settings has an empty role name")
		}
		for name := range settings {
			if strings.TrimSpace(name) == "" {
				v.addf("role_settings.%s has an empty setting name", role)
			}
		}
	}
	type entryKey struct {
		queryID  int64
		userID   uint32
		topLevel bool
	}
	entries := map[entryKey]bool{}
	for i, st := range s.Statements {
		v.numbers(fmt.Sprintf("statements[%d]", i), st, MaxValue, "queryid")
		// pg_stat_statements has one entry per (user, queryid, toplevel) in a
		// database: a repeated one would be counted twice.
		key := entryKey{st.QueryID, st.UserID, st.TopLevel}
		if entries[key] && st.QueryID != 0 {
			v.addf("statements[%d]: queryid %d of user %d appears twice", i, st.QueryID, st.UserID)
		}
		entries[key] = true
	}

	tables := map[[2]string]bool{}
	for i, t := range s.Tables {
		p := fmt.Sprintf("tables[%d]", i)
		v.name(p+".schema", t.Schema)
		v.name(p+".name", t.Name)
		v.oneOf(p+".kind", t.Kind, "r", "p", "m", "f")
		v.numbers(p, t, MaxValue, "rows", "pages", "columns")
		v.inRange(p+".rows", t.Rows, -1, MaxValue)            // -1: never analysed (14+)
		v.inRange(p+".pages", float64(t.Pages), -1, MaxValue) // -1: a partitioned table (relpages of its own is -1)
		key := [2]string{t.Schema, t.Name}
		if tables[key] && t.Name != "" {
			v.addf("%s: table %s appears twice", p, t.QualifiedName())
		}
		tables[key] = true
		for j, c := range t.Columns {
			cp := fmt.Sprintf("%s.columns[%d]", p, j)
			v.name(cp+".name", c.Name)
			v.inRange(cp+".avg_width", float64(c.AvgWidth), 0, MaxValue)
			if c.NullFrac != nil {
				v.inRange(cp+".null_frac", *c.NullFrac, 0, 1)
			}
			if c.NDistinct != nil {
				v.inRange(cp+".n_distinct", *c.NDistinct, -1, MaxValue) // negative: a fraction of the rows
			}
			if c.Correlation != nil {
				v.inRange(cp+".correlation", *c.Correlation, -1, 1)
			}
			for k, f := range c.MostCommonFreqs {
				v.inRange(fmt.Sprintf("%s.most_common_freqs[%d]", cp, k), f, 0, 1)
			}
		}
	}
	hasTable := func(schema, name string) bool { return len(s.Tables) == 0 || tables[[2]string{schema, name}] }

	indexes := map[[2]string]bool{}
	for i, ix := range s.Indexes {
		p := fmt.Sprintf("indexes[%d]", i)
		v.name(p+".schema", ix.Schema)
		v.name(p+".table", ix.Table)
		v.name(p+".name", ix.Name)
		if !methodName.MatchString(ix.Method) {
			v.addf("%s.method = %q is not an access method name (btree, hash, gin, gist, brin, spgist, or an extension's)", p, ix.Method)
		}
		v.numbers(p, ix, MaxValue)
		if len(ix.Columns) == 0 {
			v.addf("%s.columns is empty: an index has at least one key", p)
		}
		for j, c := range ix.Columns {
			v.name(fmt.Sprintf("%s.columns[%d]", p, j), c)
		}
		for _, per := range []struct {
			name string
			n    int
		}{{"expressions", len(ix.Expressions)}, {"descending", len(ix.Descending)}, {"opclasses", len(ix.Opclasses)}} {
			if per.n != 0 && per.n != len(ix.Columns) {
				v.addf("%s.%s has %d entries for %d key columns", p, per.name, per.n, len(ix.Columns))
			}
		}
		if ix.Name != "" && ix.Table != "" && !hasTable(ix.Schema, ix.Table) {
			v.addf("%s: index %s is on table %s, which is not in the snapshot's tables", p, ix.Name, QuoteQualified(ix.Schema, ix.Table))
		}
		key := [2]string{ix.Schema, ix.Name}
		if indexes[key] && ix.Name != "" {
			v.addf("%s: index %s appears twice", p, QuoteQualified(ix.Schema, ix.Name))
		}
		indexes[key] = true
	}

	for i, fk := range s.ForeignKeys {
		p := fmt.Sprintf("foreign_keys[%d]", i)
		v.name(p+".schema", fk.Schema)
		v.name(p+".table", fk.Table)
		v.name(p+".name", fk.Name)
		v.name(p+".ref_schema", fk.RefSchema)
		v.name(p+".ref_table", fk.RefTable)
		if len(fk.Columns) == 0 || len(fk.Columns) != len(fk.RefColumns) {
			v.addf("%s: %d columns reference %d columns", p, len(fk.Columns), len(fk.RefColumns))
		}
		for j, c := range fk.Columns {
			v.name(fmt.Sprintf("%s.columns[%d]", p, j), c)
		}
		for j, c := range fk.RefColumns {
			v.name(fmt.Sprintf("%s.ref_columns[%d]", p, j), c)
		}
		if fk.Table != "" && !hasTable(fk.Schema, fk.Table) {
			v.addf("%s: foreign key %s is on table %s, which is not in the snapshot's tables", p, fk.Name, QuoteQualified(fk.Schema, fk.Table))
		}
	}
	for i, vw := range s.Views {
		p := fmt.Sprintf("views[%d]", i)
		v.name(p+".schema", vw.Schema)
		v.name(p+".name", vw.Name)
	}
	for i, a := range s.Activity {
		for j, se := range a.Sessions {
			p := fmt.Sprintf("activity[%d].sessions[%d]", i, j)
			v.numbers(p, se, MaxValue, "queryid")
			v.oneOf(p+".state", se.State, sessionStates...)
		}
	}
	if w := s.Waits; w != nil {
		v.numbers("waits", WaitProfile{IntervalMS: w.IntervalMS, Ticks: w.Ticks, WindowMS: w.WindowMS, QueryMS: w.QueryMS, ActiveSamples: w.ActiveSamples, DroppedSamples: w.DroppedSamples}, MaxValue)
		var sum int64
		for i, e := range w.Entries {
			v.numbers(fmt.Sprintf("waits.entries[%d]", i), e, MaxValue, "queryid")
			sum += e.Samples
		}
		if sum+w.DroppedSamples > w.ActiveSamples {
			v.addf("waits: the entries count %d active samples, more than active_samples %d", sum+w.DroppedSamples, w.ActiveSamples)
		}
	}
	if s.PgBouncer != nil {
		v.numbers("pgbouncer", *s.PgBouncer, MaxValue)
	}
	if s.Log != nil {
		v.logSummary(s.Log)
	}
	for i, r := range s.Plans {
		v.planResult(fmt.Sprintf("plans[%d]", i), r)
	}
}

func (v *validator) logSummary(l *pglog.Summary) {
	v.oneOf("log.format", string(l.Format), string(pglog.FormatAuto), string(pglog.FormatCSV), string(pglog.FormatJSON), string(pglog.FormatStderr))
	v.numbers("log", *l, MaxValue)
}

func (v *validator) planResult(p string, r explain.Result) {
	v.oneOf(p+".mode", string(r.Mode), "", string(explain.ModeAnalyze), string(explain.ModeGeneric), string(explain.ModePlain))
	v.inRange(p+".duration_ms", r.DurationMS, 0, MaxValue)
	if r.QueryID != "" {
		if _, err := strconv.ParseInt(r.QueryID, 10, 64); err != nil {
			v.addf("%s.queryid = %q is not a queryid (a decimal int64)", p, r.QueryID)
		}
	}
	if r.Plan == nil {
		return
	}
	if r.Plan.Plan == nil {
		v.addf("%s.plan has no \"Plan\"", p)
		return
	}
	v.planNumbers(p+".plan", r.Plan)
}

// planNumbers checks a plan's numbers: EXPLAIN prints no negative cost,
// row count, time or size. The plan tree below is walked (its depth is
// bounded by the JSON decoder's).
func (v *validator) planNumbers(p string, plan *explain.Plan) {
	v.numbers(p, *plan, MaxPlanValue)
	v.inRange(p+".Planning Time", plan.PlanningTime, 0, MaxValue)
	v.inRange(p+".Execution Time", plan.ExecutionTime, 0, MaxValue)
	explain.Walk(plan.Plan, func(n *explain.Node, depth int) bool {
		if strings.TrimSpace(n.NodeType) == "" {
			v.addf("%s: a plan node has no \"Node Type\"", p)
		}
		return true
	})
}

// MaxPlanValue bounds the numbers of a plan and of planner costs. The
// planner clamps row estimates at 1e100 and costs may exceed that; anything
// near the float64 limit is not a plan's.
const MaxPlanValue = 1e200

// NumberProblems checks every numeric field of x (a struct, or a pointer to
// one, with the structs and slices below it) to lie within 0..max, except
// the fields whose JSON name is in signed, and says what is wrong with the
// others, naming each by its JSON path below path. It is the check Validate
// applies to counters, for the recorded types of other packages that the
// snapshot holds (whatif's).
func NumberProblems(path string, x any, max float64, signed ...string) []string {
	v := &validator{}
	v.numbers(path, x, max, signed...)
	return v.problems
}

// ValidatePlan checks a saved EXPLAIN plan's numbers and node types the way
// Validate checks a snapshot's plans; it returns an *InvalidError or nil.
func ValidatePlan(plan *explain.Plan) error {
	v := &validator{}
	if plan == nil || plan.Plan == nil {
		return &InvalidError{Problems: []string{"no \"Plan\" in the EXPLAIN output"}}
	}
	v.planNumbers("plan", plan)
	if len(v.problems) > 0 {
		return &InvalidError{Problems: v.problems}
	}
	return nil
}
