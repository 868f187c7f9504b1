package pgstat

import (
	"sort"
	"time"
)

// WaitProfile is pg_stat_activity read every tick of the sampling window
// (about ten times a second) and aggregated in memory, so that short waits —
// a row lock held for a few milliseconds by each of many transactions — are
// counted although no single one lasts. Only aggregates are kept: one entry
// per database, statement, wait event and locked relation, with the most
// frequent blockers of its lock waits.
type WaitProfile struct {
	// IntervalMS is the time between two ticks, milliseconds.
	IntervalMS float64 `json:"interval_ms"`
	// Ticks is how many times pg_stat_activity was read.
	Ticks int `json:"ticks"`
	// WindowMS is the time from the first tick to the last, milliseconds.
	WindowMS float64 `json:"window_ms"`
	// QueryMS is the summed time of the ticks' queries, milliseconds (the sampling's cost).
	QueryMS float64 `json:"query_ms"`
	// ActiveSamples counts, over all ticks, the client sessions seen in state
	// active (pgadvisor's own left out): the denominator of every share.
	ActiveSamples int64 `json:"active_samples"`
	// Entries are the active session-samples by statement and wait event,
	// most samples first.
	Entries []WaitEntry `json:"entries"`
	// DroppedSamples counts active session-samples of keys beyond
	// MaxWaitEntries, which are not in Entries.
	DroppedSamples int64 `json:"dropped_samples,omitempty"`
}

// WaitEntry is the active session-samples of one statement in one wait state.
type WaitEntry struct {
	Database string `json:"database,omitempty"`
	// QueryID is pg_stat_activity.query_id (14+, with compute_query_id), the
	// pg_stat_statements queryid of the statement; 0 when not known.
	QueryID int64 `json:"queryid,string,omitempty"`
	// Query is the statement's text, redacted (RedactStatement) and shortened.
	Query string `json:"query"`
	// WaitEventType and WaitEvent are empty for a session not waiting (on CPU).
	WaitEventType string `json:"wait_event_type,omitempty"`
	WaitEvent     string `json:"wait_event,omitempty"`
	// Relation is the schema-qualified table of a Lock wait where pg_locks
	// names it: the relation lock waited for, or the row (tuple) lock waited
	// for or held while waiting for the row's transaction; empty otherwise.
	Relation string `json:"relation,omitempty"`
	// Samples counts the session-samples (one session at one tick).
	Samples int64 `json:"samples"`
	// Blockers are the most frequent direct blockers (pg_blocking_pids) of
	// the Lock waits, at most MaxWaitBlockers.
	Blockers []WaitBlocker `json:"blockers,omitempty"`
}

// WaitBlocker is a session holding the lock that a WaitEntry's sessions wait
// for, as pg_stat_activity showed it at the same tick: its current (or, when
// idle in transaction, its last) statement — the lock itself may have been
// taken by an earlier statement of its transaction.
type WaitBlocker struct {
	// Query is the blocker's statement, redacted; empty when the blocker is
	// not a client backend (autovacuum, or pgadvisor itself).
	Query string `json:"query,omitempty"`
	State string `json:"state,omitempty"`
	// Wait is "type:event" when the blocker itself waits, e.g. "Lock:transactionid".
	Wait    string `json:"wait,omitempty"`
	Samples int64  `json:"samples"`
}

// Limits of the wait profile, so that a snapshot stays small.
const (
	MaxWaitEntries  = 200
	MaxWaitBlockers = 3
	// maxBlockerKinds bounds the blockers counted per entry before the most
	// frequent are kept.
	maxBlockerKinds = 50
)

type waitKey struct {
	database, query, waitType, wait, relation string
	queryID                                   int64
}

// waitAggregator accumulates ticks into a WaitProfile.
type waitAggregator struct {
	interval time.Duration
	first    time.Time
	last     time.Time
	ticks    int
	queryDur time.Duration
	active   int64
	dropped  int64
	entries  map[waitKey]*WaitEntry
	blockers map[waitKey]map[WaitBlocker]int64 // Samples of the key is zero
}

func newWaitAggregator(interval time.Duration) *waitAggregator {
	return &waitAggregator{interval: interval, entries: map[waitKey]*WaitEntry{}, blockers: map[waitKey]map[WaitBlocker]int64{}}
}

// add counts one tick: the active client sessions of sample by statement and
// wait state, and the blockers of their Lock waits. took is the tick's query time.
func (a *waitAggregator) add(sample ActivitySample, took time.Duration) {
	if a.ticks == 0 {
		a.first = sample.At
	}
	a.last = sample.At
	a.ticks++
	a.queryDur += took
	byPID := make(map[int]*Session, len(sample.Sessions))
	for i := range sample.Sessions {
		byPID[sample.Sessions[i].PID] = &sample.Sessions[i]
	}
	for _, s := range sample.Sessions {
		if s.State != "active" {
			continue
		}
		a.active++
		k := waitKey{database: s.Database, queryID: s.QueryID, waitType: s.WaitEventType, wait: s.WaitEvent, relation: s.LockRelation}
		if s.QueryID == 0 {
			k.query = s.Query // redacted: literals are $n, so one statement has one text
		}
		e, ok := a.entries[k]
		if !ok {
			if len(a.entries) >= MaxWaitEntries {
				a.dropped++
				continue
			}
			e = &WaitEntry{Database: s.Database, QueryID: s.QueryID, Query: s.Query, WaitEventType: s.WaitEventType, WaitEvent: s.WaitEvent, Relation: s.LockRelation}
			a.entries[k] = e
		}
		e.Samples++
		if s.WaitEventType != "Lock" {
			continue
		}
		m := a.blockers[k]
		if m == nil {
			m = map[WaitBlocker]int64{}
			a.blockers[k] = m
		}
		for _, pid := range s.BlockedBy {
			var b WaitBlocker
			if x, ok := byPID[pid]; ok {
				b.Query, b.State = x.Query, x.State
				if x.WaitEventType != "" && x.State == "active" {
					b.Wait = x.WaitEventType + ":" + x.WaitEvent
				}
			}
			if _, ok := m[b]; ok || len(m) < maxBlockerKinds {
				m[b]++
			}
		}
	}
}

// profile returns the aggregate so far.
func (a *waitAggregator) profile() *WaitProfile {
	p := &WaitProfile{
		IntervalMS:     float64(a.interval.Microseconds()) / 1000,
		Ticks:          a.ticks,
		WindowMS:       float64(a.last.Sub(a.first).Microseconds()) / 1000,
		QueryMS:        float64(a.queryDur.Microseconds()) / 1000,
		ActiveSamples:  a.active,
		Entries:        make([]WaitEntry, 0, len(a.entries)),
		DroppedSamples: a.dropped,
	}
	for k, e := range a.entries {
		x := *e
		for b, n := range a.blockers[k] {
			b.Samples = n
			x.Blockers = append(x.Blockers, b)
		}
		sort.Slice(x.Blockers, func(i, j int) bool {
			bi, bj := x.Blockers[i], x.Blockers[j]
			if bi.Samples != bj.Samples {
				return bi.Samples > bj.Samples
			}
			return bi.Query+bi.State+bi.Wait < bj.Query+bj.State+bj.Wait
		})
		if len(x.Blockers) > MaxWaitBlockers {
			x.Blockers = x.Blockers[:MaxWaitBlockers]
		}
		p.Entries = append(p.Entries, x)
	}
	sort.Slice(p.Entries, func(i, j int) bool {
		ei, ej := p.Entries[i], p.Entries[j]
		if ei.Samples != ej.Samples {
			return ei.Samples > ej.Samples
		}
		if ei.Query != ej.Query {
			return ei.Query < ej.Query
		}
		return ei.WaitEventType+ei.WaitEvent+ei.Relation < ej.WaitEventType+ej.WaitEvent+ej.Relation
	})
	return p
}
