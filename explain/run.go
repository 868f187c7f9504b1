package explain

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// Options say how far Run may go in explaining a statement.
type Options struct {
	// Analyze allows EXPLAIN ANALYZE, only for statements that pass the Gate,
	// inside BEGIN READ ONLY … ROLLBACK.
	Analyze bool `json:"analyze,omitempty"`
	// AnalyzeWrites is the explicit flag that also analyses what the gate
	// refuses (INSERT/UPDATE/DELETE/MERGE, FOR UPDATE, data-modifying WITH,
	// SELECT INTO, volatile functions) inside a read-write transaction that is
	// always rolled back. Effects outside the transaction (nextval, dblink)
	// are not undone. It implies Analyze.
	AnalyzeWrites bool `json:"analyze_writes,omitempty"`
	// StatementTimeout bounds each statement Run sends (SET LOCAL); 0 keeps the session's.
	StatementTimeout time.Duration `json:"statement_timeout,omitempty"` // nanoseconds in JSON
	// LockTimeout bounds each lock wait (SET LOCAL); 0 keeps the session's.
	LockTimeout time.Duration `json:"lock_timeout,omitempty"` // nanoseconds in JSON
	// ServerVersionNum is server_version_num, e.g. 150018; 0: Run asks the server.
	ServerVersionNum int `json:"server_version_num,omitempty"`
	// TrustFunctions are user functions ("schema.name" or "name") the gate
	// trusts (--trust-functions): statements reaching them may be planned
	// and analysed.
	TrustFunctions []string `json:"trust_functions,omitempty"`
	// Values, when set, are representative values of the $n parameters,
	// as text, one per parameter: the statement is planned as a custom plan
	// for them (plain EXPLAIN, never ANALYZE, whatever Analyze says; the
	// values reach the planner through placeholder settings, never the
	// text). Not recorded.
	Values []string `json:"-"`
}

// stepError records what Run was doing when an error happened.
type stepError struct {
	what string
	err  error
}

func (e *stepError) Error() string { return e.what + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func step(what string, err error) error {
	if err == nil {
		return nil
	}
	var se *stepError
	if errors.As(err, &se) {
		return err
	}
	return &stepError{what: what, err: err}
}

// Run explains one statement through the safety gate and never panics:
//
//   - without $n parameters: EXPLAIN (ANALYZE, BUFFERS, VERBOSE, SETTINGS,
//     FORMAT JSON) when opts allow it and the Gate agrees, else EXPLAIN
//     (VERBOSE, SETTINGS, FORMAT JSON), of EXECUTE pgadvisor after PREPARE
//     pgadvisor AS the statement (of the statement itself when PREPARE does
//     not take it); both inside BEGIN READ ONLY … ROLLBACK with
//     statement_timeout and lock_timeout set locally;
//   - with $n parameters: a generic plan (PREPARE under plan_cache_mode =
//     force_generic_plan and EXPLAIN EXECUTE with NULLs); with ANALYZE
//     allowed, a value is sampled for every $n from the column it is
//     compared with (pg_stats, then a sampled row; LIMIT $n gets 100, OFFSET
//     $n 0) and the prepared statement is analysed with those values (passed
//     as settings, not in the text), falling back to the generic plan when a
//     value is missing;
//   - writes (and whatever else the gate refuses) are analysed only with
//     opts.AnalyzeWrites, inside a read-write transaction that is rolled back.
//
// Result.Reason says why ANALYZE was not used, or how the parameters were
// chosen. Failures (timeouts, lock timeouts, permissions, a lost connection,
// cancellation) end in Result.Error, one line naming the fix. Run refuses a
// connection that is inside a transaction and always leaves the connection
// outside any transaction, with no prepared statement of its own left behind.
// The statement text is only ever sent through the extended protocol, which
// refuses a text holding several statements. Every other text Run sends is
// the same whatever the statement (see SetConfigSQL), so that explaining
// adds few pg_stat_statements entries.
func Run(ctx context.Context, conn *pgx.Conn, query string, facts *sqlfacts.Facts, opts Options) Result {
	res, _ := runRaw(ctx, conn, query, facts, opts)
	return res
}

// runRaw is Run, also returning the server's EXPLAIN output as it came.
func runRaw(ctx context.Context, conn *pgx.Conn, query string, facts *sqlfacts.Facts, opts Options) (res Result, raw []byte) {
	start := time.Now()
	res = Result{Query: query}
	r := &runner{ctx: ctx, conn: conn, opts: opts, facts: facts, text: trimStatement(query)}
	defer func() {
		if p := recover(); p != nil {
			res.Plan, res.Mode = nil, ""
			res.Error = fmt.Sprintf("internal error while explaining (please report it): %v", p)
		}
		r.cleanup()
		if r.analyzed {
			if n := r.releaseAdvisoryLocks(); n > 0 {
				res.Reason = joinReason(res.Reason, fmt.Sprintf("the statement left %d advisory lock(s) held: released with pg_advisory_unlock_all()", n))
				res.ReleasedAdvisoryLocks = n
			}
		}
		res.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	}()
	if err := r.run(&res); err != nil {
		res.Plan, res.Mode = nil, ""
		what := "running EXPLAIN"
		var se *stepError
		if errors.As(err, &se) {
			what = se.what
		}
		res.Error = describeError(ctx, conn, what, err, opts)
		res.SQLState = sqlstate(err)
	}
	if res.Plan != nil {
		raw = r.raw
	}
	return res, raw
}

type runner struct {
	ctx      context.Context
	conn     *pgx.Conn
	opts     Options
	facts    *sqlfacts.Facts
	text     string // the statement, trimmed of white space and semicolons
	version  int    // server_version_num
	prepared string // prepared statement to DEALLOCATE, "" when none
	// callersTx is set when the connection came inside the caller's
	// transaction: Run then sends nothing, not even ROLLBACK.
	callersTx bool
	raw       []byte // the last EXPLAIN output
	analyzed  bool   // an EXPLAIN ANALYZE was sent: the statement ran
}

func (r *runner) run(res *Result) error {
	switch {
	case r.conn == nil:
		return step("connecting", errors.New("no connection"))
	case r.conn.IsClosed():
		return step("connecting", errors.New("connection is closed"))
	case r.text == "":
		res.Error = "empty statement: nothing to explain"
		return nil
	case r.facts != nil && r.facts.Statements > 1:
		res.Error = fmt.Sprintf("text holds %d statements: EXPLAIN takes one at a time", r.facts.Statements)
		return nil
	case r.conn.PgConn().TxStatus() != 'I':
		r.callersTx = true
		res.Error = "connection is inside a transaction: EXPLAIN needs an idle connection (finish the transaction first)"
		return nil
	}
	r.version = r.opts.ServerVersionNum
	if r.version == 0 {
		if err := r.conn.QueryRow(r.ctx, Marker+"SELECT pg_catalog.current_setting('server_version_num')::int", pgx.QueryExecModeExec).Scan(&r.version); err != nil {
			return step("reading the server version", err)
		}
	}
	params := sqlfacts.MaxParam(r.text)
	if r.facts != nil && r.facts.Params > params {
		params = r.facts.Params
	}
	verdict, err := r.check()
	if err != nil {
		return err
	}
	if !verdict.Plan {
		res.Error = verdict.Reason
		return nil
	}
	if params > 0 && len(r.opts.Values) > 0 {
		return r.custom(res)
	}
	analyze, readOnly, reason := r.decide(verdict)
	if params > 0 {
		if analyze {
			return r.analyzeWithParams(res, readOnly)
		}
		res.Reason = strings.Replace(reason, "plain EXPLAIN", "generic plan", 1)
		return r.generic(res)
	}
	if analyze {
		err := r.inTx(readOnly, func() error {
			plan, err := r.explainStatement(true, "running EXPLAIN ANALYZE")
			res.Plan = plan
			return err
		})
		switch {
		case err == nil:
			res.Mode = ModeAnalyze
			if !readOnly {
				res.Reason = "analysed with --analyze-writes inside a transaction that was rolled back"
			}
			return nil
		case !r.timedOut(err):
			return err
		}
		// The statement ran into statement_timeout (not a Ctrl-C): its
		// plan is still worth having, without executing it.
		res.Plan = nil
		reason = "EXPLAIN ANALYZE ran into the statement timeout" + durationNote(r.opts.StatementTimeout) + ": planned without executing"
	}
	res.Reason = reason
	err = r.inTx(true, func() error {
		plan, err := r.explainStatement(false, "running EXPLAIN")
		res.Plan = plan
		return err
	})
	if err != nil {
		return err
	}
	res.Mode = ModePlain
	return nil
}

// timedOut reports whether err is the statement timeout (SQLSTATE 57014
// while the context is alive and the connection open), not a Ctrl-C.
func (r *runner) timedOut(err error) bool {
	return sqlstate(err) == sqlstateQueryCanceled && r.ctx.Err() == nil && !r.conn.IsClosed()
}

// releaseAdvisoryLocks is the second line of defence after an EXPLAIN
// ANALYZE: session-level advisory locks survive ROLLBACK, so any the
// statement took are released; it returns how many there were.
func (r *runner) releaseAdvisoryLocks() int {
	if r.conn == nil || r.conn.IsClosed() || r.conn.PgConn().TxStatus() != 'I' {
		return 0
	}
	ctx, cancel := r.detached()
	defer cancel()
	var n int
	err := r.conn.QueryRow(ctx, Marker+"SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND pid = pg_catalog.pg_backend_pid()",
		pgx.QueryExecModeExec).Scan(&n)
	if err != nil || n == 0 {
		return 0
	}
	if _, err := r.conn.Exec(ctx, Marker+"SELECT pg_catalog.pg_advisory_unlock_all()", pgx.QueryExecModeExec); err != nil {
		return 0
	}
	return n
}

// check runs the safety gate (Check) on the statement, which decides
// whether it may be planned at all and whether it may be analysed.
func (r *runner) check() (Verdict, error) {
	if r.facts == nil {
		ok, why := CheckStatement(nil)
		return Verdict{Plan: true, Analyze: ok, Reason: why}, nil
	}
	v, err := Check(r.ctx, r.conn, r.text, r.facts, r.opts.TrustFunctions)
	if err != nil {
		return Verdict{}, step("checking what the statement may run", err)
	}
	return v, nil
}

// decide applies the gate's verdict: analyze says whether EXPLAIN ANALYZE is
// used, readOnly whether the transaction is READ ONLY, reason why ANALYZE is
// not used.
func (r *runner) decide(v Verdict) (analyze, readOnly bool, reason string) {
	if !r.opts.Analyze && !r.opts.AnalyzeWrites {
		return false, true, "ANALYZE not enabled: plain EXPLAIN only"
	}
	if v.Analyze {
		return true, true, ""
	}
	if r.opts.AnalyzeWrites && r.facts != nil && r.facts.Statements == 1 {
		switch r.facts.Kind {
		case sqlfacts.KindSelect, sqlfacts.KindInsert, sqlfacts.KindUpdate, sqlfacts.KindDelete, sqlfacts.KindMerge:
			return true, false, ""
		}
	}
	return false, true, v.Reason
}

// options is the option list of EXPLAIN for this server.
func (r *runner) options(analyze bool) string {
	var o []string
	if analyze {
		o = append(o, "ANALYZE", "BUFFERS")
	}
	o = append(o, "VERBOSE")
	if r.version >= 120000 {
		o = append(o, "SETTINGS")
	}
	o = append(o, "FORMAT JSON")
	return strings.Join(o, ", ")
}

// inTx runs fn inside BEGIN [READ ONLY] with the timeouts set locally, and
// always rolls back.
func (r *runner) inTx(readOnly bool, fn func() error) error {
	begin := "BEGIN READ ONLY"
	if !readOnly {
		begin = "BEGIN READ WRITE"
	}
	if _, err := r.conn.Exec(r.ctx, Marker+begin); err != nil {
		return step("starting the transaction", err)
	}
	defer r.rollback()
	// SET LOCAL through set_config: one fixed text for every value.
	var names, values []string
	if d := r.opts.StatementTimeout; d > 0 {
		names, values = append(names, "statement_timeout"), append(values, strconv.FormatInt(max(d.Milliseconds(), 1), 10))
	}
	if d := r.opts.LockTimeout; d > 0 {
		names, values = append(names, "lock_timeout"), append(values, strconv.FormatInt(max(d.Milliseconds(), 1), 10))
	}
	if err := r.setLocal(names, values, "setting timeouts"); err != nil {
		return err
	}
	return fn()
}

// detached returns a short context that survives the cancellation of r.ctx,
// for the clean-up statements.
func (r *runner) detached() (context.Context, context.CancelFunc) {
	base := context.Background()
	if r.ctx != nil {
		base = context.WithoutCancel(r.ctx)
	}
	return context.WithTimeout(base, 5*time.Second)
}

func (r *runner) rollback() {
	if r.conn == nil || r.conn.IsClosed() || r.conn.PgConn().TxStatus() == 'I' {
		return
	}
	ctx, cancel := r.detached()
	defer cancel()
	_, _ = r.conn.Exec(ctx, Marker+"ROLLBACK")
}

// deallocate drops the prepared statement (prepared statements are not
// transactional: ROLLBACK keeps them).
func (r *runner) deallocate() {
	if r.prepared == "" || r.conn == nil || r.conn.IsClosed() {
		return
	}
	ctx, cancel := r.detached()
	defer cancel()
	if r.conn.PgConn().TxStatus() == 'E' {
		_, _ = r.conn.Exec(ctx, Marker+"ROLLBACK")
	}
	if _, err := r.conn.Exec(ctx, Marker+"DEALLOCATE "+r.prepared); err == nil || sqlstate(err) != "" {
		r.prepared = ""
	}
}

func (r *runner) cleanup() {
	if r.callersTx {
		return
	}
	r.rollback()
	r.deallocate()
}

// explainStatement explains the statement itself (no $n parameters): a
// statement PREPARE takes is prepared as pgadvisor and EXPLAIN EXECUTE
// pgadvisor is sent, so that the EXPLAIN text is the same for every
// statement (pg_stat_statements keys EXPLAIN by its text and does not track
// PREPARE); anything else is explained as it is. Without parameters the
// prepared statement's plan is the one EXPLAIN of the text would make.
func (r *runner) explainStatement(analyze bool, what string) (*Plan, error) {
	target := r.text
	if r.preparable() {
		if _, err := r.prepare(); err != nil {
			return nil, err
		}
		target = "EXECUTE " + preparedName
	}
	return r.explain("EXPLAIN ("+r.options(analyze)+") "+target, what)
}

// explain sends one EXPLAIN through the extended protocol and parses its output.
func (r *runner) explain(sql, what string) (*Plan, error) {
	if strings.HasPrefix(sql, "EXPLAIN (ANALYZE") {
		r.analyzed = true
	}
	rr := r.conn.PgConn().ExecParams(r.ctx, Marker+sql, nil, nil, nil, nil).Read()
	if rr.Err != nil {
		return nil, step(what, rr.Err)
	}
	if len(rr.Rows) == 0 || len(rr.Rows[0]) == 0 {
		return nil, step(what, errors.New("EXPLAIN returned no rows"))
	}
	r.raw = rr.Rows[0][0]
	plan, err := Parse(r.raw)
	if err != nil {
		return nil, step(what, err)
	}
	return plan, nil
}

// generic obtains the generic plan of a statement with $n parameters.
func (r *runner) generic(res *Result) error {
	// PREPARE under force_generic_plan on every version, 16+ included:
	// EXPLAIN (GENERIC_PLAN) would carry the statement in its text, one
	// pg_stat_statements entry per statement, where EXPLAIN EXECUTE
	// pgadvisor(NULL, …) is one text per number of parameters.
	err := r.inTx(true, func() error {
		types, err := r.prepare()
		if err != nil {
			return err
		}
		return r.explainGenericExecute(res, types)
	})
	r.deallocate()
	return err
}

// custom obtains the custom plan of a statement with $n parameters for
// opts.Values: PREPARE, the values as placeholder settings, and EXPLAIN
// (without ANALYZE) EXECUTE under force_custom_plan, inside BEGIN READ ONLY
// … ROLLBACK. The plan's values are masked: they are rows of the user's tables.
func (r *runner) custom(res *Result) error {
	err := r.inTx(true, func() error {
		types, err := r.prepare()
		if err != nil {
			return err
		}
		if len(types) != len(r.opts.Values) {
			return step("planning with representative values", fmt.Errorf("%d values for %d parameters", len(r.opts.Values), len(types)))
		}
		// A value becomes a parameter through its type's input function
		// (and a domain's constraints): built-in types only.
		var builtin bool
		if err := r.conn.QueryRow(r.ctx, Marker+"SELECT pg_catalog.bool_and(t::pg_catalog.regtype::oid < 16384 AND (SELECT y.typtype <> 'd' FROM pg_catalog.pg_type y WHERE y.oid = t::pg_catalog.regtype)) FROM pg_catalog.unnest($1::text[]) t",
			pgx.QueryExecModeExec, types).Scan(&builtin); err != nil {
			return step("checking the parameters' types", err)
		}
		if !builtin {
			return step("planning with representative values", errors.New("a parameter of a user-defined type or domain"))
		}
		names := make([]string, len(types))
		for i := range names {
			names[i] = paramSetting(i + 1)
		}
		if err := r.setLocal(names, r.opts.Values, "passing the representative values"); err != nil {
			return err
		}
		if r.version >= 120000 {
			if err := r.setLocal([]string{"plan_cache_mode"}, []string{"force_custom_plan"}, "setting plan_cache_mode"); err != nil {
				return err
			}
		}
		// Before 12 the first EXECUTE of a prepared statement is a custom plan.
		plan, err := r.explain("EXPLAIN ("+r.options(false)+") EXECUTE "+preparedName+paramArgs(types), "running EXPLAIN EXECUTE with representative values")
		if err != nil {
			return err
		}
		plan.MaskValues()
		res.Plan, res.Mode = plan, ModeCustom
		res.Reason = "custom plan for representative parameter values, not executed"
		return nil
	})
	r.deallocate()
	return err
}

// explainGenericExecute explains the prepared statement with NULL arguments
// under force_generic_plan: the plan is chosen before the values are looked at.
func (r *runner) explainGenericExecute(res *Result, types []string) error {
	if r.version >= 120000 {
		if err := r.setLocal([]string{"plan_cache_mode"}, []string{"force_generic_plan"}, "setting plan_cache_mode"); err != nil {
			return err
		}
	}
	nulls := make([]string, len(types))
	for i := range nulls {
		nulls[i] = "NULL"
	}
	plan, err := r.explain("EXPLAIN ("+r.options(false)+") EXECUTE "+preparedName+args(nulls), "running EXPLAIN EXECUTE for a generic plan")
	if err != nil {
		return err
	}
	res.Plan, res.Mode = plan, ModeGeneric
	if r.version < 120000 {
		res.Reason = joinReason(res.Reason, "server before 12 has no plan_cache_mode: plan made with NULL parameters")
	}
	return nil
}

func args(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return "(" + strings.Join(values, ", ") + ")"
}

var paramInMessage = regexp.MustCompile(`\$([0-9]+)`)

// prepare creates the prepared statement pgadvisor (preparedName: one name
// for every statement, so that the EXPLAIN EXECUTE texts do not vary) for
// the statement inside the current transaction and returns its parameter
// types as the server resolved them. A parameter whose type the context does
// not fix is declared text and PREPARE is tried again; a pgadvisor statement
// left behind by an earlier failure is deallocated first.
func (r *runner) prepare() (types []string, err error) {
	name := preparedName
	asText := map[int]bool{}
	dropped := false
	for attempt := 0; ; attempt++ {
		sql := Marker + "PREPARE " + name + typeList(asText) + " AS " + r.text
		err := r.savepoint(func() error {
			return r.conn.PgConn().ExecParams(r.ctx, sql, nil, nil, nil, nil).Read().Err
		})
		if err == nil {
			r.prepared = name
			break
		}
		if sqlstate(err) == sqlstateDuplicatePrepared && !dropped {
			dropped = true
			if _, derr := r.conn.Exec(r.ctx, Marker+"DEALLOCATE "+name); derr != nil {
				return nil, step("deallocating a prepared statement left behind", derr)
			}
			continue
		}
		if sqlstate(err) == sqlstateIndeterminateType && attempt < 100 {
			if m := paramInMessage.FindStringSubmatch(err.Error()); m != nil {
				n, _ := strconv.Atoi(m[1])
				if n > 0 && !asText[n] {
					asText[n] = true
					continue
				}
			}
		}
		return nil, step("preparing the statement", err)
	}
	err = r.conn.QueryRow(r.ctx, Marker+"SELECT parameter_types::text[] FROM pg_catalog.pg_prepared_statements WHERE name = $1",
		pgx.QueryExecModeExec, r.prepared).Scan(&types)
	if err != nil {
		return nil, step("reading the prepared statement's parameter types", err)
	}
	return types, nil
}

// typeList is the "(unknown, text, …)" list declaring the parameters in asText as text.
func typeList(asText map[int]bool) string {
	hi := 0
	for n := range asText {
		hi = max(hi, n)
	}
	if hi == 0 {
		return ""
	}
	t := make([]string, hi)
	for i := range t {
		t[i] = "unknown"
		if asText[i+1] {
			t[i] = "text"
		}
	}
	return "(" + strings.Join(t, ", ") + ")"
}

// savepoint runs fn inside a savepoint, rolled back to when fn fails, so that
// the transaction stays usable.
func (r *runner) savepoint(fn func() error) error {
	if _, err := r.conn.Exec(r.ctx, Marker+"SAVEPOINT pgadvisor"); err != nil {
		return step("creating a savepoint", err)
	}
	if err := fn(); err != nil {
		if r.ctx.Err() == nil && !r.conn.IsClosed() {
			if _, rerr := r.conn.Exec(r.ctx, Marker+"ROLLBACK TO SAVEPOINT pgadvisor"); rerr != nil {
				return step("rolling back to a savepoint", rerr)
			}
		}
		return err
	}
	if _, err := r.conn.Exec(r.ctx, Marker+"RELEASE SAVEPOINT pgadvisor"); err != nil {
		return step("releasing a savepoint", err)
	}
	return nil
}

// analyzeWithParams analyses a statement with $n parameters using sampled
// values, and falls back to its generic plan when a value is missing or the
// analysed run fails for a reason of the statement's own.
func (r *runner) analyzeWithParams(res *Result, readOnly bool) error {
	err := r.inTx(readOnly, func() error {
		types, err := r.prepare()
		if err != nil {
			return err
		}
		values, sources, missing, err := r.sampleParams(len(types))
		if err != nil {
			return err
		}
		if missing != "" {
			res.Reason = "no sample value for " + missing + ": generic plan, not analysed"
			return r.explainGenericExecute(res, types)
		}
		// The values go in as placeholder settings read by the EXECUTE
		// arguments, not as literals: the EXPLAIN text is then the same for
		// every statement with these parameter types, and sampled values
		// (possibly personal data) never reach pg_stat_statements.
		names := make([]string, len(values))
		for i := range values {
			names[i] = paramSetting(i + 1)
		}
		if err := r.setLocal(names, values, "passing the sampled parameters"); err != nil {
			return err
		}
		var plan *Plan
		err = r.savepoint(func() error {
			var err error
			plan, err = r.explain("EXPLAIN ("+r.options(true)+") EXECUTE "+preparedName+paramArgs(types), "running EXPLAIN ANALYZE with sampled parameters")
			return err
		})
		if err != nil {
			switch {
			case r.timedOut(err):
				res.Reason = "EXPLAIN ANALYZE with sampled parameters ran into the statement timeout" + durationNote(r.opts.StatementTimeout) + " (SQLSTATE 57014): generic plan, not analysed"
			case isServerError(err):
				// Only the SQLSTATE: the server's message may quote the sampled
				// value (invalid input syntax for type …: "<value>").
				res.Reason = "EXPLAIN ANALYZE with sampled parameters failed (SQLSTATE " + sqlstate(err) + "): generic plan, not analysed"
			default:
				return err
			}
			return r.explainGenericExecute(res, types)
		}
		plan.MaskValues() // the sampled values are rows of the user's tables
		res.Plan, res.Mode = plan, ModeAnalyze
		res.Reason = "analysed with sampled parameters: " + strings.Join(sources, ", ")
		if !readOnly {
			res.Reason += "; with --analyze-writes inside a transaction that was rolled back"
		}
		return nil
	})
	r.deallocate()
	return err
}

func joinReason(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// trimStatement removes surrounding white space and trailing semicolons.
func trimStatement(sql string) string {
	s := strings.TrimSpace(sql)
	for strings.HasSuffix(s, ";") {
		s = strings.TrimSpace(strings.TrimSuffix(s, ";"))
	}
	return s
}
