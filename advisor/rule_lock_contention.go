package advisor

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// LockContention reads the wait profile (pg_stat_activity sampled about ten
// times a second) for statements that spend a share of their active time
// waiting on locks, most often row locks of hot rows.
var LockContention = &Rule{
	Name:     "lock-contention",
	Family:   "activity",
	Severity: SeverityWarning,
	Doc: `Statements queue on the same rows (hot-row contention)
Each UPDATE or DELETE of a row holds its row lock until the transaction ends;
another transaction that writes the same row waits for it (Lock:transactionid,
and Lock:tuple for the ones queued behind). Each wait is short — a few
milliseconds — so no single one is slow, but when many transactions update a
few rows (a balance, a counter, a status row), a large share of their time is
spent queuing, and adding clients adds waiting, not throughput. The rule counts
pg_stat_activity samples of active sessions over the sampling window, by
statement and by the table whose row lock they wait for, and names the
blockers' statements.
Fix (a design change): keep the transactions that write hot rows short (write
them last, commit right after, nothing slow in between); update rows in one
order (by key) in every transaction, so that they queue rather than deadlock;
have fewer hot rows: spread a counter over several rows (N slots, each
transaction adds to a random slot, readers sum them) or append deltas and
aggregate them later.`,
	Evidence: `pg_stat_activity sampled every 100 ms over the audit's --sample-window: each active session of the
audited database is one sample, counted by statement, wait event and the table whose lock it waits for (from
pg_locks), with the blockers from pg_blocking_pids(). The measure is a share of all active samples of the window,
so it reads the same in a 3-second and a 30-second window; contention_min_samples keeps a single short queue in a
short window from counting.`,
	Criteria: `A statement's Lock wait samples on one table are >= contention_min_share of all active session
samples of the audited database in the window, and >= contention_min_samples samples (at the 100 ms tick, 10
samples are 1 s of session time). Error when they are >= contention_error_share of all active samples.
Samples come from audit --sample-window: the longer the window, the steadier the shares.`,
	Run: runLockContention,
}

func init() { register(LockContention) }

// LockContentionThresholds are the thresholds of lock-contention (rules.lock-contention.thresholds in .pgadvisor.yaml).
type LockContentionThresholds struct {
	MinShare   float64 `json:"contention_min_share" doc:"a statement's lock-wait samples on one table, as a fraction of all active session samples of the window"`
	MinSamples int64   `json:"contention_min_samples" doc:"lock-wait samples a finding needs at least, so that a brief queue in a short window is not one"`
	ErrorShare float64 `json:"contention_error_share" doc:"that fraction of all active samples waiting is an error"`
}

var defaultLockContention = LockContentionThresholds{
	MinShare:   0.05,
	MinSamples: 10,
	ErrorShare: 0.5,
}

// contentionInspectSQL shows, while the workload runs, who waits for whom
// and on which table. It reads only.
const contentionInspectSQL = `SELECT w.pid, w.wait_event_type || ':' || w.wait_event AS wait,
       l.relation::regclass AS locked_table, left(w.query, 80) AS waiting_query,
       b.pid AS blocker_pid, b.state AS blocker_state, left(b.query, 80) AS blocker_query,
       now() - b.xact_start AS blocker_xact_age
FROM pg_stat_activity w
CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS bp(pid)
JOIN pg_stat_activity b ON b.pid = bp.pid
LEFT JOIN pg_locks l ON l.pid = w.pid AND l.locktype IN ('relation', 'tuple') AND (NOT l.granted OR l.locktype = 'tuple')
WHERE w.wait_event_type = 'Lock'
ORDER BY w.pid`

// contentionKey is one statement of the wait profile: its queryid, or its
// redacted text when pg_stat_activity has no query_id.
type contentionKey struct {
	queryID int64
	query   string
}

// contentionGroup is a statement's lock waits on one table.
type contentionGroup struct {
	key      contentionKey
	relation string
	// fromTarget: the table is the statement's target, not named by pg_locks.
	fromTarget bool
	samples    int64
	events     map[string]int64
	blockers   map[pgstat.WaitBlocker]int64
	query      string
}

func runLockContention(p *Pass) error {
	w := p.Snapshot.Waits
	if w == nil {
		return nil
	}
	var dbActive int64
	active := map[contentionKey]int64{}
	groups := map[[2]string]*contentionGroup{}
	stmtOf := map[contentionKey]*model.Statement{}
	for _, e := range w.Entries {
		if e.Database != "" && p.Snapshot.Database != "" && e.Database != p.Snapshot.Database {
			continue
		}
		dbActive += e.Samples
		k := contentionKey{queryID: e.QueryID}
		if e.QueryID == 0 {
			k.query = e.Query
		}
		active[k] += e.Samples
		if e.WaitEventType != "Lock" {
			continue
		}
		s, ok := stmtOf[k]
		if !ok {
			s = contentionStatement(p, e)
			stmtOf[k] = s
		}
		rel, fromTarget := e.Relation, false
		if rel == "" {
			rel, fromTarget = contentionTarget(p, s, e.Query), true
		}
		gk := [2]string{strconv.FormatInt(k.queryID, 10) + "\x00" + k.query, rel}
		g := groups[gk]
		if g == nil {
			g = &contentionGroup{key: k, relation: rel, fromTarget: fromTarget, events: map[string]int64{}, blockers: map[pgstat.WaitBlocker]int64{}, query: e.Query}
			groups[gk] = g
		}
		g.fromTarget = g.fromTarget && fromTarget
		g.samples += e.Samples
		g.events[e.WaitEventType+":"+e.WaitEvent] += e.Samples
		for _, b := range e.Blockers {
			n := b.Samples
			b.Samples = 0
			g.blockers[b] += n
		}
	}
	if dbActive == 0 {
		return nil
	}
	keys := make([][2]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if a, b := groups[keys[i]].samples, groups[keys[j]].samples; a != b {
			return a > b
		}
		return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1]
	})
	for _, k := range keys {
		g := groups[k]
		share := float64(g.samples) / float64(dbActive)
		if share < p.Options.LockContention.MinShare || g.samples < p.Options.LockContention.MinSamples {
			continue
		}
		p.Report(contentionFinding(p, g, stmtOf[g.key], active[g.key], dbActive, share))
	}
	return nil
}

// contentionStatement finds the pg_stat_statements entry of a wait entry:
// by queryid, else by the fingerprint of its redacted text.
func contentionStatement(p *Pass, e pgstat.WaitEntry) *model.Statement {
	if e.QueryID != 0 {
		for _, s := range p.Statements {
			if s.QueryID == e.QueryID {
				return s
			}
		}
	}
	fp, err := sqlfacts.Fingerprint(e.Query)
	if err != nil {
		return nil
	}
	for _, s := range p.Statements {
		if s.Facts != nil && s.Facts.Fingerprint == fp {
			return s
		}
	}
	return nil
}

// contentionTarget is the table a waiting statement writes, for a lock wait
// pg_locks does not name a table for (a transactionid wait without a tuple
// lock: a unique-key conflict, SELECT … FOR UPDATE); "" when not known.
func contentionTarget(p *Pass, s *model.Statement, query string) string {
	var facts *sqlfacts.Facts
	if s != nil {
		facts = s.Facts
	} else if f, err := sqlfacts.Analyze(query); err == nil {
		facts = f
	}
	if facts == nil {
		return ""
	}
	rel := facts.Target
	if rel == nil && facts.Locking && len(facts.Relations) == 1 {
		rel = &facts.Relations[0]
	}
	if rel == nil {
		return ""
	}
	if t := p.Table(rel.Schema, rel.Name); t != nil {
		return t.QualifiedName()
	}
	return pgstat.QuoteQualified(rel.Schema, rel.Name)
}

func contentionFinding(p *Pass, g *contentionGroup, s *model.Statement, stmtActive, dbActive int64, share float64) Finding {
	w := p.Snapshot.Waits
	stmtShare := float64(g.samples) / float64(stmtActive)
	var events []string
	rowLocks := true
	for ev, n := range g.events {
		events = append(events, fmt.Sprintf("%s %d", ev, n))
		rowLocks = rowLocks && (ev == "Lock:transactionid" || ev == "Lock:tuple")
	}
	sort.Strings(events)
	type blocker struct {
		Query, State, Wait string
		Samples            int64
	}
	var blockers []blocker
	for b, n := range g.blockers {
		q := b.Query
		if q == "" {
			q = "(not a client backend: autovacuum, or pgadvisor)"
		}
		blockers = append(blockers, blocker{Query: q, State: b.State, Wait: b.Wait, Samples: n})
	}
	sort.Slice(blockers, func(i, j int) bool {
		if blockers[i].Samples != blockers[j].Samples {
			return blockers[i].Samples > blockers[j].Samples
		}
		return blockers[i].Query+blockers[i].State < blockers[j].Query+blockers[j].State
	})
	if len(blockers) > pgstat.MaxWaitBlockers {
		blockers = blockers[:pgstat.MaxWaitBlockers]
	}
	// The blockers, most frequent first: "11 samples, idle in transaction: INSERT …".
	var blockerLines []string
	for _, b := range blockers {
		st := b.State
		if st == "" {
			st = "unknown"
		}
		if b.Wait != "" {
			st += ", waiting on " + b.Wait
		}
		blockerLines = append(blockerLines, fmt.Sprintf("%d samples, %s: %s", b.Samples, st, b.Query))
	}
	ev := map[string]any{
		"wait_samples":         g.samples,
		"statement_samples":    stmtActive,
		"active_samples":       dbActive,
		"statement_wait_share": round(stmtShare, 3),
		"active_wait_share":    round(share, 3),
		"wait_events":          events,
		"blockers":             blockerLines,
		"ticks":                w.Ticks,
		"tick_ms":              w.IntervalMS,
		"window_seconds":       round(w.WindowMS/1000, 1),
		"wait_seconds":         round(float64(g.samples)*w.IntervalMS/1000, 1),
	}
	if g.relation != "" {
		ev["table"] = g.relation
		if g.fromTarget {
			ev["table_from"] = "the statement's target (pg_locks named no table)"
		} else {
			ev["table_from"] = "pg_locks"
		}
	}
	sev := SeverityWarning
	if share >= p.Options.LockContention.ErrorShare {
		sev = SeverityError
	}
	what := "locks"
	if rowLocks {
		what = "row locks"
	}
	on := ""
	if g.relation != "" {
		on = " of " + g.relation
	}
	who := ""
	if len(blockers) > 0 {
		who = "; most often blocked by " + describeBlocker(blockers[0].Query, blockers[0].State, blockers[0].Wait)
	}
	text := g.query
	if s != nil {
		text = s.Query
	}
	f := Finding{
		Severity: sev,
		Message: fmt.Sprintf("%s waits on %s%s in %.0f%% of its active time, %.0f%% of all active session time in the %.0f s sampled (%s)%s",
			truncateQuery(text, 80), what, on, stmtShare*100, share*100, w.WindowMS/1000, strings.Join(events, ", "), who),
		Objects:  []string{},
		Evidence: ev,
		Fix: &Fix{
			Summary:  contentionFixSummary(rowLocks),
			SQL:      contentionFixSQL(rowLocks),
			Advisory: true,
		},
	}
	if g.relation != "" {
		f.Objects = []string{g.relation}
	}
	if s == nil {
		f.Query = g.query
		if g.key.queryID != 0 {
			f.QueryID = strconv.FormatInt(g.key.queryID, 10)
		}
		if fp, err := sqlfacts.Fingerprint(g.query); err == nil {
			f.Fingerprint = fp
		}
		return f
	}
	// The time the statement spent waiting, estimated from its sampled share.
	f.Impact = Impact{TotalMS: round(s.TotalTime()*stmtShare, 1), Calls: s.Calls}
	if p.TotalMS > 0 {
		f.Impact.Share = round(s.TotalTime()*stmtShare/p.TotalMS, 4)
	}
	return p.StatementFinding(s, f)
}

// describeBlocker says what a blocker was doing: the lock it holds was
// taken by an earlier statement of its transaction, or by this one.
func describeBlocker(query, state, wait string) string {
	q := truncateQuery(query, 70)
	switch {
	case strings.HasPrefix(state, "idle in transaction"):
		return fmt.Sprintf("a transaction idle after %q", q)
	case wait != "":
		return fmt.Sprintf("a transaction running %q, itself waiting on %s", q, wait)
	case state == "":
		return q
	}
	return fmt.Sprintf("a transaction running %q", q)
}

func contentionFixSummary(rowLocks bool) string {
	if !rowLocks {
		return "Find the session that holds the lock (the query shows who waits for whom, while it happens) and shorten its transaction; run DDL and LOCK TABLE with a lock_timeout, outside busy hours"
	}
	return "Hot rows: keep the transactions that write them short (write them last, commit right after), update rows in one order (by key) everywhere, or have fewer hot rows (spread a counter over several rows, summed on read); the query shows who waits for whom, while it happens"
}

// contentionFixSQL is the fix's blocks: the design changes as comments
// (row locks only), then the read-only query that shows the waits live,
// without a comment, so that a printer that joins a block's lines keeps it.
func contentionFixSQL(rowLocks bool) []string {
	var out []string
	if rowLocks {
		out = append(out, `-- design changes, for the application's transactions:
-- 1. shorter transactions: write the hot rows last and commit right after; no network calls in between
--    (a blocker idle in transaction is waiting for its client: send the transaction in one round trip)
-- 2. one update order: take the rows in key order in every transaction (ORDER BY key ... FOR UPDATE)
-- 3. fewer hot rows: spread a counter over N slot rows (each transaction adds to a random slot,
--    readers sum the slots), or insert deltas and aggregate them periodically`)
	}
	return append(out, contentionInspectSQL)
}

// truncateQuery shortens a query for a message, marking the cut with "…".
func truncateQuery(q string, n int) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) <= n {
		return q
	}
	for n > 0 && q[n]&0xC0 == 0x80 {
		n--
	}
	return q[:n] + "…"
}
