package pgstat

import (
	"context"
	"fmt"
	"time"
)

// activityQuery reads the client backends of all databases except
// pgadvisor's own sessions; blocked_by is set for sessions waiting on a lock.
// The query is read whole (the server keeps track_activity_query_size bytes)
// so that it can be parsed and redacted; it is shortened afterwards.
const activityQuery = Marker + ` SELECT pid, COALESCE(datname::text, ''), COALESCE(usename::text, ''),
  COALESCE(application_name, ''), COALESCE(host(client_addr), ''), COALESCE(backend_type, ''),
  backend_start, xact_start, query_start, state_change, COALESCE(state, ''),
  COALESCE(wait_event_type, ''), COALESCE(wait_event, ''),
  CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid) END,
  COALESCE(query, '')
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND COALESCE(application_name, '') <> '` + ApplicationName + `'
ORDER BY pid`

// collectActivity samples pg_stat_activity every SampleInterval for
// SampleWindow (once when SampleWindow is zero). A cancelled ctx ends the
// sampling; the samples taken are kept.
func (c *collector) collectActivity(ctx context.Context) error {
	deadline := time.Now().Add(c.opts.SampleWindow)
	redacted := map[string]string{} // an idle session shows the same text in every sample
	for {
		sample, err := c.sampleActivity(ctx, redacted)
		if err != nil {
			return err
		}
		c.snap.Activity = append(c.snap.Activity, sample)
		if c.opts.afterSample != nil {
			c.opts.afterSample()
		}
		if c.opts.SampleWindow <= 0 || !time.Now().Add(c.opts.SampleInterval).Before(deadline) {
			return nil
		}
		t := time.NewTimer(c.opts.SampleInterval)
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
func (c *collector) sampleActivity(ctx context.Context, redacted map[string]string) (ActivitySample, error) {
	sample := ActivitySample{At: time.Now().UTC(), Sessions: []Session{}}
	rows, err := c.conn.Query(ctx, activityQuery)
	if err != nil {
		return sample, fmt.Errorf("read pg_stat_activity: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s Session
		var pid int32
		var blockers []int32
		var backendStart, xactStart, queryStart, stateChange *time.Time
		if err := rows.Scan(&pid, &s.Database, &s.User, &s.ApplicationName, &s.ClientAddr, &s.BackendType,
			&backendStart, &xactStart, &queryStart, &stateChange, &s.State, &s.WaitEventType, &s.WaitEvent,
			&blockers, &s.Query); err != nil {
			return sample, fmt.Errorf("read pg_stat_activity: %w", err)
		}
		s.PID = int(pid)
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
