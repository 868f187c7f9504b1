package advisor

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pgadvisor/pgadvisor/pgstat"
)

// PoolExhaustion reads the pg_stat_activity samples (and PgBouncer's pools)
// for connection trouble: too many connections, sessions idle in
// transaction, lock waits, connection churn, clients waiting in the pooler.
var PoolExhaustion = &Rule{
	Name:     "pool-exhaustion",
	Family:   "activity",
	Severity: SeverityWarning,
	Doc: `Connections run out, sit idle in transaction, wait on locks or churn
Every PostgreSQL connection is a process with its own memory; near
max_connections new clients are refused ("too many clients already"). A
session idle in transaction holds its locks and its snapshot (blocking
VACUUM) while the application does something else. Sessions waiting on a
lock queue behind one that does not finish. Connections opened per request
pay a fork and authentication each time. Behind PgBouncer, clients waiting
for a server connection (cl_waiting, maxwait) add that wait to every query;
when the server's sessions are idle meanwhile (or idle in transaction), the
latency is that wait, not slow queries. Short lock waits that add up are
lock-contention's.
Fix: a pooler in transaction mode with a server pool of a few connections per
CPU core, idle_in_transaction_session_timeout, short transactions that never
wait on the network, and lock_timeout for statements that can queue.`,
	Evidence: `pg_stat_activity samples over the audit's --sample-window (every 500 ms whole) and the server's
settings: peak connections against the usable slots, the age of each idle-in-transaction session and of each lock
wait, the backends started during the window. These are states, not counts over the period, so a short window
sees them as well as a long one; a lock wait shorter than lock_wait_seconds is counted by lock-contention's wait
profile instead. PgBouncer's SHOW POOLS and SHOW STATS (--pgbouncer) add clients waiting for a server connection,
read against the database's active sessions sampled at the same time: a mostly idle database means the latency is
the wait in the pool, not slow queries.`,
	Criteria: `peak client connections / (max_connections - superuser_reserved_connections - reserved_connections):
>= pool_warn_fraction warning, >= pool_error_fraction error. Idle in transaction for >=
idle_in_tx_warn_seconds warning, error when >= idle_in_tx_error_seconds or >= idle_in_tx_error_count
sessions of one application and user. Waiting on a lock for >= lock_wait_seconds warning, error at >=
idle_in_tx_error_seconds. Churn: >= churn_min_backends backends younger than churn_backend_seconds
across samples and >= churn_min_fraction of the sessions seen. PgBouncer: cl_waiting > 0 or
maxwait > 0 warning, maxwait >= 1 s error; the pool's database sampled at the same time with fewer active
sessions on average than half the server pool is "mostly idle" (the wait is in the pool), else "busy".`,
	Run: runPoolExhaustion,
}

func init() { register(PoolExhaustion) }

// PoolExhaustionThresholds are the thresholds of pool-exhaustion (rules.pool-exhaustion.thresholds in .pgadvisor.yaml).
type PoolExhaustionThresholds struct {
	WarnFraction         float64 `json:"pool_warn_fraction" doc:"peak connections as a fraction of the usable slots (max_connections minus reserved): a warning"`
	ErrorFraction        float64 `json:"pool_error_fraction" doc:"peak connections as a fraction of the usable slots from which it is an error"`
	IdleInTxWarnSeconds  float64 `json:"idle_in_tx_warn_seconds" doc:"a session idle in transaction this long is a warning, seconds"`
	IdleInTxErrorSeconds float64 `json:"idle_in_tx_error_seconds" doc:"a session idle in transaction, or waiting on a lock, this long is an error, seconds"`
	IdleInTxErrorCount   int     `json:"idle_in_tx_error_count" doc:"this many sessions of one application and user idle in transaction past the warn age is an error"`
	LockWaitSeconds      float64 `json:"lock_wait_seconds" doc:"a session waiting on a lock this long is reported, seconds"`
	ChurnBackendSeconds  float64 `json:"churn_backend_seconds" doc:"a backend younger than this is a new connection, seconds"`
	ChurnMinBackends     int     `json:"churn_min_backends" doc:"new connections across samples, at least, for connection churn"`
	ChurnMinFraction     float64 `json:"churn_min_fraction" doc:"new connections must also be at least this fraction of the sessions seen, for connection churn"`
}

var defaultPoolExhaustion = PoolExhaustionThresholds{
	WarnFraction:         0.8,
	ErrorFraction:        0.95,
	IdleInTxWarnSeconds:  1,
	IdleInTxErrorSeconds: 60,
	IdleInTxErrorCount:   3,
	LockWaitSeconds:      1,
	ChurnBackendSeconds:  1,
	ChurnMinBackends:     5,
	ChurnMinFraction:     0.25,
}

func runPoolExhaustion(p *Pass) error {
	samples := p.Snapshot.Activity
	if len(samples) > 0 {
		poolConnections(p, samples)
		poolIdleInTransaction(p, samples)
		poolLockWaits(p, samples)
		poolChurn(p, samples)
	}
	if p.Snapshot.PgBouncer != nil {
		poolPgBouncer(p, p.Snapshot.PgBouncer)
	}
	return nil
}

func clientSessions(s pgstat.ActivitySample) []pgstat.Session {
	var out []pgstat.Session
	for _, x := range s.Sessions {
		if x.BackendType == "" || x.BackendType == "client backend" {
			out = append(out, x)
		}
	}
	return out
}

func settingInt(snap *pgstat.Snapshot, name string) (int, bool) {
	v, ok := snap.Settings[name]
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	return n, err == nil
}

// poolerFix is the pooler advice; the server's cores are not visible from SQL.
const poolerFix = `-- put a pooler in transaction mode between the application and the server, e.g. PgBouncer:
--   pool_mode = transaction
--   default_pool_size = <cores × 2 to 4>   -- the server's CPU count is not visible from SQL: 8 cores → 16–32
--   max_client_conn = <all application connections>
-- and size each application instance's own pool so that the sum stays below the server pool`

func poolConnections(p *Pass, samples []pgstat.ActivitySample) {
	maxConn, ok := settingInt(p.Snapshot, "max_connections")
	if !ok || maxConn <= 0 {
		return
	}
	su, _ := settingInt(p.Snapshot, "superuser_reserved_connections")
	reserved, _ := settingInt(p.Snapshot, "reserved_connections")
	usable := maxConn - su - reserved
	if usable <= 0 {
		return
	}
	peak, peakAt := 0, 0
	for i, s := range samples {
		if n := len(clientSessions(s)); n > peak {
			peak, peakAt = n, i
		}
	}
	ratio := float64(peak) / float64(usable)
	if ratio < p.Options.PoolExhaustion.WarnFraction {
		return
	}
	sev := SeverityWarning
	if ratio >= p.Options.PoolExhaustion.ErrorFraction {
		sev = SeverityError
	}
	byState := map[string]int{}
	byApp := map[string]int{}
	for _, x := range clientSessions(samples[peakAt]) {
		state := x.State
		if state == "" {
			state = "unknown"
		}
		byState[state]++
		byApp[wlAppUser(x)]++
	}
	ev := map[string]any{
		"peak_connections":               peak,
		"max_connections":                maxConn,
		"superuser_reserved_connections": su,
		"usable_connections":             usable,
		"used_fraction":                  round(ratio, 3),
		"samples":                        len(samples),
		"by_state":                       byState,
		"by_application":                 byApp,
	}
	if reserved > 0 {
		ev["reserved_connections"] = reserved
	}
	sqls := []string{poolerFix}
	if idle := byState["idle"]; idle*2 >= peak && p.Snapshot.Server.VersionNum >= 140000 {
		sqls = append(sqls, "-- most connections are idle: close idle sessions the pools forget\nALTER SYSTEM SET idle_session_timeout = '10min'", "SELECT pg_reload_conf()")
	}
	p.Report(Finding{
		Severity: sev,
		Message: fmt.Sprintf("%d of %d usable connections in use at peak (%.0f%%; max_connections %d, %d reserved)",
			peak, usable, ratio*100, maxConn, maxConn-usable),
		Objects:  []string{},
		Evidence: ev,
		Fix: &Fix{
			Summary: "Pool connections: a pooler in transaction mode with a server pool of cores × 2–4, instead of raising max_connections",
			SQL:     sqls,
		},
	})
}

// wlAppUser names a session's application and user for grouping.
func wlAppUser(x pgstat.Session) string {
	app := x.ApplicationName
	if app == "" {
		app = "(no application_name)"
	}
	return app + " / " + x.User
}

type sessionAge struct {
	s        pgstat.Session
	idle     float64 // seconds in the current state
	xact     float64 // seconds since the transaction began
	waitLock float64 // seconds since the waiting query began
}

func ageSeconds(at time.Time, t *time.Time) float64 {
	if t == nil || t.IsZero() {
		return 0
	}
	d := at.Sub(*t).Seconds()
	if d < 0 {
		return 0
	}
	return d
}

func poolIdleInTransaction(p *Pass, samples []pgstat.ActivitySample) {
	worst := map[int]sessionAge{} // by pid, the oldest reading
	for _, sample := range samples {
		for _, x := range clientSessions(sample) {
			if !strings.HasPrefix(x.State, "idle in transaction") {
				continue
			}
			a := sessionAge{s: x, idle: ageSeconds(sample.At, x.StateChange), xact: ageSeconds(sample.At, x.XactStart)}
			if a.idle < p.Options.PoolExhaustion.IdleInTxWarnSeconds {
				continue
			}
			if old, ok := worst[x.PID]; !ok || a.idle > old.idle {
				worst[x.PID] = a
			}
		}
	}
	groups := map[[2]string][]sessionAge{}
	for _, a := range worst {
		k := [2]string{a.s.ApplicationName, a.s.User}
		groups[k] = append(groups[k], a)
	}
	keys := make([][2]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"\x00"+keys[i][1] < keys[j][0]+"\x00"+keys[j][1] })
	timeout := fmt.Sprintf("%ds", int(math.Max(p.Options.PoolExhaustion.IdleInTxErrorSeconds, 1)))
	for _, k := range keys {
		g := groups[k]
		sort.Slice(g, func(i, j int) bool { return g[i].idle > g[j].idle })
		var pids []string
		var oldestXact float64
		databases := map[string]bool{}
		for _, a := range g {
			pids = append(pids, strconv.Itoa(a.s.PID))
			oldestXact = math.Max(oldestXact, a.xact)
			if a.s.Database != "" {
				databases[a.s.Database] = true
			}
		}
		sev := SeverityWarning
		if g[0].idle >= p.Options.PoolExhaustion.IdleInTxErrorSeconds || len(g) >= p.Options.PoolExhaustion.IdleInTxErrorCount {
			sev = SeverityError
		}
		who := wlAppUser(g[0].s)
		ev := map[string]any{
			"sessions":            len(g),
			"pids":                pids,
			"oldest_idle_seconds": round(g[0].idle, 1),
			"oldest_xact_seconds": round(oldestXact, 1),
			"application_name":    k[0],
			"user":                k[1],
			"last_query":          g[0].s.Query,
			"idle_in_tx_timeout":  p.Snapshot.Settings["idle_in_transaction_session_timeout"],
		}
		if len(databases) > 0 {
			ev["databases"] = sortedKeys(databases)
		}
		var sqls []string
		sqls = append(sqls, fmt.Sprintf("ALTER SYSTEM SET idle_in_transaction_session_timeout = '%s'", timeout), "SELECT pg_reload_conf()")
		if k[1] != "" {
			sqls = append(sqls, fmt.Sprintf("-- or, instead, only for this application's role:\n-- ALTER ROLE %s SET idle_in_transaction_session_timeout = '%s';", pgstat.QuoteIdent(k[1]), timeout))
		}
		sqls = append(sqls, fmt.Sprintf("-- immediate remedy (rolls back their open transactions):\n-- SELECT pg_terminate_backend(pid) FROM unnest(ARRAY[%s]) AS pid;", strings.Join(pids, ", ")))
		plural := "session"
		if len(g) > 1 {
			plural = "sessions"
		}
		p.Report(Finding{
			Severity: sev,
			Message: fmt.Sprintf("%d %s of %s idle in transaction, the oldest for %.0f s (transaction open %.0f s): locks and the snapshot are held while the application does something else",
				len(g), plural, who, g[0].idle, oldestXact),
			Objects:  []string{},
			Evidence: ev,
			Fix: &Fix{
				Summary: "Commit or roll back before waiting on anything else (network calls, user input); end abandoned transactions with idle_in_transaction_session_timeout",
				SQL:     sqls,
			},
		})
	}
}

func poolLockWaits(p *Pass, samples []pgstat.ActivitySample) {
	worst := map[int]sessionAge{}
	states := map[int]string{} // pid → state, of every session seen, for the blockers
	for _, sample := range samples {
		for _, x := range clientSessions(sample) {
			states[x.PID] = x.State
			if x.WaitEventType != "Lock" {
				continue
			}
			a := sessionAge{s: x, waitLock: ageSeconds(sample.At, x.QueryStart)}
			if a.waitLock < p.Options.PoolExhaustion.LockWaitSeconds {
				continue
			}
			if old, ok := worst[x.PID]; !ok || a.waitLock > old.waitLock {
				worst[x.PID] = a
			}
		}
	}
	if len(worst) == 0 {
		return
	}
	var waits []sessionAge
	for _, a := range worst {
		waits = append(waits, a)
	}
	sort.Slice(waits, func(i, j int) bool { return waits[i].waitLock > waits[j].waitLock })
	blockers := map[int]bool{}
	var waiting []string
	queries := map[string]bool{}
	for _, a := range waits {
		waiting = append(waiting, strconv.Itoa(a.s.PID))
		for _, b := range a.s.BlockedBy {
			blockers[b] = true
		}
		if a.s.Query != "" {
			queries[a.s.Query] = true
		}
	}
	var blockerPIDs []int
	for b := range blockers {
		if worst[b].s.PID == 0 { // a blocker that is itself waiting is not the root
			blockerPIDs = append(blockerPIDs, b)
		}
	}
	if len(blockerPIDs) == 0 {
		for b := range blockers {
			blockerPIDs = append(blockerPIDs, b)
		}
	}
	sort.Ints(blockerPIDs)
	var blockerStrs, blockerStates []string
	for _, b := range blockerPIDs {
		blockerStrs = append(blockerStrs, strconv.Itoa(b))
		st := states[b]
		if st == "" {
			st = "unknown"
		}
		blockerStates = append(blockerStates, fmt.Sprintf("%d: %s", b, st))
	}
	sev := SeverityWarning
	if waits[0].waitLock >= p.Options.PoolExhaustion.IdleInTxErrorSeconds {
		sev = SeverityError
	}
	ev := map[string]any{
		"waiting_sessions":     len(waits),
		"waiting_pids":         waiting,
		"longest_wait_seconds": round(waits[0].waitLock, 1),
		"blocking_pids":        blockerStrs,
		"blocker_states":       blockerStates,
		"waiting_queries":      sortedKeys(queries),
		"wait_event":           waits[0].s.WaitEvent,
	}
	var sqls []string
	idleBlocker := false
	for _, b := range blockerPIDs {
		if strings.HasPrefix(states[b], "idle in transaction") {
			idleBlocker = true
		}
	}
	if idleBlocker {
		sqls = append(sqls, fmt.Sprintf("-- a blocker is idle in transaction: end abandoned transactions\nALTER SYSTEM SET idle_in_transaction_session_timeout = '%ds'", int(p.Options.PoolExhaustion.IdleInTxErrorSeconds)), "SELECT pg_reload_conf()")
	}
	if u := waits[0].s.User; u != "" {
		sqls = append(sqls, fmt.Sprintf("-- fail fast instead of queueing behind a lock (retry in the application):\nALTER ROLE %s SET lock_timeout = '5s';", pgstat.QuoteIdent(u)))
	}
	if len(blockerStrs) > 0 {
		sqls = append(sqls, fmt.Sprintf("-- immediate remedy (rolls back the blockers' transactions):\n-- SELECT pg_terminate_backend(pid) FROM unnest(ARRAY[%s]) AS pid;", strings.Join(blockerStrs, ", ")))
	}
	p.Report(Finding{
		Severity: sev,
		Message: fmt.Sprintf("%d %s on a lock, the longest for %.0f s, blocked by pid %s",
			len(waits), map[bool]string{true: "session waits", false: "sessions wait"}[len(waits) == 1], waits[0].waitLock, strings.Join(blockerStrs, ", ")),
		Objects:  []string{},
		Evidence: ev,
		Fix: &Fix{
			Summary: "Shorten the blocking transactions (take row locks last, commit promptly), and set lock_timeout so that waiters fail fast",
			SQL:     sqls,
		},
	})
}

func poolChurn(p *Pass, samples []pgstat.ActivitySample) {
	seen := map[int]bool{}
	young := map[int]bool{}
	byApp := map[string]int{}
	for _, sample := range samples {
		for _, x := range clientSessions(sample) {
			seen[x.PID] = true
			if x.BackendStart == nil {
				continue
			}
			if ageSeconds(sample.At, x.BackendStart) < p.Options.PoolExhaustion.ChurnBackendSeconds && !young[x.PID] {
				young[x.PID] = true
				byApp[wlAppUser(x)]++
			}
		}
	}
	if len(young) < p.Options.PoolExhaustion.ChurnMinBackends || len(seen) == 0 {
		return
	}
	frac := float64(len(young)) / float64(len(seen))
	if frac < p.Options.PoolExhaustion.ChurnMinFraction {
		return
	}
	ev := map[string]any{
		"young_backends":       len(young),
		"sessions_seen":        len(seen),
		"young_fraction":       round(frac, 3),
		"backend_age_seconds":  p.Options.PoolExhaustion.ChurnBackendSeconds,
		"samples":              len(samples),
		"young_by_application": byApp,
	}
	if n := len(samples); n >= 2 {
		window := samples[n-1].At.Sub(samples[0].At).Seconds()
		if window > 0 {
			ev["window_seconds"] = round(window, 1)
			ev["new_connections_per_second"] = round(float64(len(young))/window, 2)
		}
	}
	p.Report(Finding{
		Severity: SeverityWarning,
		Message: fmt.Sprintf("connection churn: %d of %d sessions seen were less than %.0f s old — connections are opened per request",
			len(young), len(seen), p.Options.PoolExhaustion.ChurnBackendSeconds),
		Objects:  []string{},
		Evidence: ev,
		Fix: &Fix{
			Summary: "Reuse connections: an application-side pool (kept-open connections, long max lifetime) or a pooler in front of the server",
			SQL:     []string{poolerFix},
		},
	})
}

func poolPgBouncer(p *Pass, b *pgstat.PgBouncerStats) {
	for _, pool := range b.Pools {
		if pool.Database == "pgbouncer" || (pool.ClWaiting == 0 && pool.MaxWaitSeconds <= 0) {
			continue
		}
		sev := SeverityWarning
		if pool.MaxWaitSeconds >= 1 {
			sev = SeverityError
		}
		ev := map[string]any{
			"database":        pool.Database,
			"user":            pool.User,
			"cl_active":       pool.ClActive,
			"cl_waiting":      pool.ClWaiting,
			"sv_active":       pool.SvActive,
			"sv_idle":         pool.SvIdle,
			"maxwait_seconds": round(pool.MaxWaitSeconds, 3),
			"pool_mode":       pool.PoolMode,
		}
		for k, v := range b.Config {
			ev["config_"+k] = v
		}
		for _, st := range b.Stats {
			if st.Database == pool.Database && st.TotalXactCount > 0 {
				ev["avg_wait_us"] = st.AvgWaitTime
				ev["total_wait_time_us"] = st.TotalWaitTime
				ev["avg_xact_time_us"] = st.AvgXactTime
			}
		}
		cause := ""
		if act, ok := serverActivity(p.Snapshot, pool.Database); ok {
			ev["server_active_sessions"] = round(act.active, 2)
			ev["server_idle_in_transaction_sessions"] = round(act.idleInTx, 2)
			ev["server_samples"] = act.samples
			size := float64(pool.SvActive + pool.SvIdle + pool.SvUsed)
			switch {
			case act.active < math.Max(size, 1)/2 && act.idleInTx >= 0.5:
				cause = fmt.Sprintf(" while the server is mostly idle (%.1f sessions active, %.1f idle in transaction on average): the latency is the wait for a connection that open transactions hold without working, not slow queries", act.active, act.idleInTx)
			case act.active < math.Max(size, 1)/2:
				cause = fmt.Sprintf(" while the server is mostly idle (%.1f sessions active on average): the latency is the wait for a connection, not slow queries — the pool is too small", act.active)
			default:
				cause = fmt.Sprintf("; the server connections are busy (%.1f sessions active on average): slow statements hold them, or the pool is too small for the load", act.active)
			}
		}
		var lines []string
		lines = append(lines, "-- pgbouncer.ini, then RELOAD; on the admin console")
		if pool.PoolMode == "session" {
			lines = append(lines, "-- a server connection is held for the whole client session: release it after each transaction",
				"--   pool_mode = transaction")
		}
		size := pool.SvActive + pool.SvIdle + pool.SvUsed
		lines = append(lines,
			fmt.Sprintf("-- %d server connections serve %d active and %d waiting clients: if the server has spare CPU, raise the pool", size, pool.ClActive, pool.ClWaiting),
			fmt.Sprintf("--   [databases] %s = ... pool_size = <cores × 2 to 4>   (the server's CPU count is not visible from SQL)", pool.Database),
			"-- otherwise shorten the transactions that hold the server connections")
		p.Report(Finding{
			Severity: sev,
			Message: fmt.Sprintf("PgBouncer pool %s/%s: %d clients waiting for a server connection, the oldest for %.2f s%s",
				pool.Database, pool.User, pool.ClWaiting, pool.MaxWaitSeconds, cause),
			Objects:  []string{},
			Evidence: ev,
			Fix: &Fix{
				Summary:  "Clients queue in PgBouncer: use transaction pooling, size the pool from the server's cores, and keep transactions short (pgbouncer.ini, then RELOAD on the admin console)",
				SQL:      []string{strings.Join(lines, "\n") + "\nRELOAD;"},
				Advisory: true,
			},
		})
	}
}

// serverLoad is how busy a database's server sessions were over the samples.
type serverLoad struct {
	active, idleInTx float64 // client sessions on average per sample
	samples          int
}

// serverActivity averages the client sessions of database db over the
// activity samples; false when there are none, or when the snapshot is of
// another database (a PgBouncer alias that is not the database's name).
func serverActivity(snap *pgstat.Snapshot, db string) (serverLoad, bool) {
	if len(snap.Activity) == 0 || db != snap.Database {
		return serverLoad{}, false
	}
	var l serverLoad
	for _, sample := range snap.Activity {
		for _, x := range clientSessions(sample) {
			if x.Database != db {
				continue
			}
			switch {
			case x.State == "active":
				l.active++
			case strings.HasPrefix(x.State, "idle in transaction"):
				l.idleInTx++
			}
		}
	}
	l.samples = len(snap.Activity)
	l.active /= float64(l.samples)
	l.idleInTx /= float64(l.samples)
	return l, true
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
