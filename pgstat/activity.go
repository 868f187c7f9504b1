package pgstat

import (
	"context"
	"fmt"
	"time"
)

// activityQuery reads the client backends of all databases except
// pgadvisor's own sessions; blocked_by is set for sessions waiting on a lock,
// and lock_relation, where pg_locks names it, for the table of that wait: a
// relation lock not granted, or a row (tuple) lock waited for or held while
// the session waits for the row's transaction (Lock:transactionid). Only
// tables of the current database can be named. pg_locks is read once, and
// only when a session of the current database waits on a lock (a one-time
// filter); pg_blocking_pids() is called for the waiting sessions only.
// The query is read whole (the server keeps track_activity_query_size bytes)
// so that it can be parsed and redacted; it is shortened afterwards.
// %s is query_id (14+) or 0.
const activityQuery = Marker + ` WITH a AS MATERIALIZED (
  SELECT pid, datname, usename, application_name, client_addr, backend_type, backend_start, xact_start,
    query_start, state_change, state, wait_event_type, wait_event, %s AS query_id, query
  FROM pg_stat_activity
  WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND COALESCE(application_name, '') <> '` + ApplicationName + `'),
l AS (
  SELECT DISTINCT ON (l.pid) l.pid, format('%%I.%%I', n.nspname, c.relname) AS relation
  FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE EXISTS (SELECT 1 FROM a WHERE a.wait_event_type = 'Lock' AND a.datname = current_database())
    AND l.locktype IN ('relation', 'tuple') AND (NOT l.granted OR l.locktype = 'tuple')
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  ORDER BY l.pid, l.granted, l.locktype = 'relation')
SELECT a.pid, COALESCE(a.datname::text, ''), COALESCE(a.usename::text, ''),
  COALESCE(a.application_name, ''), COALESCE(host(a.client_addr), ''), COALESCE(a.backend_type, ''),
  a.backend_start, a.xact_start, a.query_start, a.state_change, COALESCE(a.state, ''),
  COALESCE(a.wait_event_type, ''), COALESCE(a.wait_event, ''),
  CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) END,
  CASE WHEN a.wait_event_type = 'Lock' AND a.datname = current_database() THEN l.relation END,
  COALESCE(a.query_id, 0), COALESCE(a.query, '')
FROM a LEFT JOIN l ON l.pid = a.pid
ORDER BY a.pid`

// activitySQL is activityQuery for a server version.
func activitySQL(versionNum int) string {
	queryID := "0::bigint"
	if versionNum >= 140000 {
		queryID = "query_id"
	}
	return fmt.Sprintf(activityQuery, queryID)
}

// maxRedacted bounds the cache of redacted texts: texts with literals
// differ in every execution.
const maxRedacted = 10000

// collectActivity reads pg_stat_activity every WaitInterval for
// SampleWindow (once when SampleWindow is zero): every reading goes into the
// wait profile (Snapshot.Waits), and one every SampleInterval is kept whole
// in Snapshot.Activity. A cancelled ctx ends the sampling; what was sampled
// is kept.
func (c *collector) collectActivity(ctx context.Context) error {
	deadline := time.Now().Add(c.opts.SampleWindow)
	query := activitySQL(c.snap.Server.VersionNum)
	redacted := map[string]string{} // an idle session shows the same text in every sample
	agg := newWaitAggregator(c.opts.WaitInterval)
	defer func() {
		if agg.ticks > 0 {
			c.snap.Waits = agg.profile()
		}
	}()
	var kept time.Time
	for {
		if len(redacted) > maxRedacted {
			clear(redacted)
		}
		start := time.Now()
		sample, err := c.sampleActivity(ctx, query, redacted)
		if err != nil {
			return err
		}
		agg.add(sample, time.Since(start))
		// A tick is late by its query's time: keep the sample half a tick early.
		if kept.IsZero() || sample.At.Sub(kept) >= c.opts.SampleInterval-c.opts.WaitInterval/2 {
			kept = sample.At
			c.snap.Activity = append(c.snap.Activity, sample)
			if c.opts.afterSample != nil {
				c.opts.afterSample()
			}
		}
		if c.opts.SampleWindow <= 0 || !time.Now().Add(c.opts.WaitInterval).Before(deadline) {
			return nil
		}
		t := time.NewTimer(c.opts.WaitInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// activityQueryLen is the longest session query kept in a sample, bytes.
const activityQueryLen = 200

// sampleActivity reads pg_stat_activity once; redacted caches the redacted
// text of each query seen.
func (c *collector) sampleActivity(ctx context.Context, query string, redacted map[string]string) (ActivitySample, error) {
	sample := ActivitySample{At: time.Now().UTC(), Sessions: []Session{}}
	rows, err := c.conn.Query(ctx, query)
	if err != nil {
		return sample, fmt.Errorf("read pg_stat_activity: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s Session
		var pid int32
		var blockers []int32
		var lockRelation *string
		var backendStart, xactStart, queryStart, stateChange *time.Time
		if err := rows.Scan(&pid, &s.Database, &s.User, &s.ApplicationName, &s.ClientAddr, &s.BackendType,
			&backendStart, &xactStart, &queryStart, &stateChange, &s.State, &s.WaitEventType, &s.WaitEvent,
			&blockers, &lockRelation, &s.QueryID, &s.Query); err != nil {
			return sample, fmt.Errorf("read pg_stat_activity: %w", err)
		}
		s.PID = int(pid)
		if lockRelation != nil {
			s.LockRelation = *lockRelation
		}
		text, ok := redacted[s.Query]
		if !ok {
			text = truncateText(RedactStatement(s.Query), activityQueryLen)
			redacted[s.Query] = text
		}
		s.Query = text
		s.BackendStart, s.XactStart, s.QueryStart, s.StateChange = utc(backendStart), utc(xactStart), utc(queryStart), utc(stateChange)
		for _, b := range blockers {
			s.BlockedBy = append(s.BlockedBy, int(b))
		}
		sample.Sessions = append(sample.Sessions, s)
	}
	if err := rows.Err(); err != nil {
		return sample, fmt.Errorf("read pg_stat_activity: %w", err)
	}
	return sample, nil
}
