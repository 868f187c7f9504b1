package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// StartStandby makes a hot standby of c: pg_basebackup -R -X stream from c
// into a new temporary directory, its own port and socket, started and
// streaming. It returns once the standby is in recovery
// (pg_is_in_recovery()), its WAL receiver streams from c, and it has replayed
// everything c had written when StartStandby was called. The primary needs
// wal_level replica or above and a replication entry in pg_hba.conf for the
// postgres user over the socket: initdb's defaults (replica, "local
// replication all trust" with --auth=trust) give both. Stop removes the
// standby; stopping the primary first leaves the standby retrying until then.
func (c *Cluster) StartStandby(ctx context.Context) (*Cluster, error) {
	if c == nil || c.Dir == "" {
		return nil, fmt.Errorf("start standby: no running primary")
	}
	if !fileExists(filepath.Join(c.BinDir, "pg_basebackup")) {
		return nil, fmt.Errorf("start standby: no pg_basebackup in %s; install the PostgreSQL client binaries of the same version (make deps)", c.BinDir)
	}
	s := &Cluster{BinDir: c.BinDir, Major: c.Major, Primary: c}
	if err := s.makeDir(); err != nil {
		return nil, fmt.Errorf("start standby: %w", err)
	}
	// -c fast: the backup starts with an immediate checkpoint, not a spread one
	// (checkpoint_timeout is 30 minutes here). -R writes standby.signal and
	// primary_conninfo (host = the primary's socket directory).
	out, err := s.command(ctx, "pg_basebackup", "-h", c.Dir, "-p", strconv.Itoa(c.Port), "-U", "postgres",
		"-D", s.DataDir, "-R", "-X", "stream", "-c", "fast", "--no-sync").CombinedOutput()
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("pg_basebackup from the primary: %v: %s", err, lastLines(string(out), 5))
	}
	port, err := freePort()
	if err != nil {
		s.Stop()
		return nil, err
	}
	s.Port = port
	// The copied postgresql.conf names the primary's port and socket
	// directory; later lines win.
	settings := map[string]string{
		"port":                    strconv.Itoa(port),
		"unix_socket_directories": "'" + s.Dir + "'",
		"hot_standby":             "on",
		// Queries on the standby are not cancelled by the primary's vacuum.
		"hot_standby_feedback": "on",
	}
	if err := s.appendConf("pgadvisor throwaway standby", settings); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.pgctlStart(ctx); err != nil {
		s.Stop()
		return nil, fmt.Errorf("start standby: %w", err)
	}
	if err := s.waitStreaming(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	if err := s.CatchUp(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// waitStreaming waits until the standby is in recovery and its WAL receiver
// streams from the primary.
func (s *Cluster) waitStreaming(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("connect to standby: %w", err)
	}
	defer conn.Close(ctx)
	var inRecovery bool
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
		return fmt.Errorf("read pg_is_in_recovery() on standby: %w", err)
	}
	if !inRecovery {
		return fmt.Errorf("standby %s is not in recovery (no standby.signal?)", s.DataDir)
	}
	return poll(ctx, 60*time.Second, func() (bool, error) {
		var streaming bool
		err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')").Scan(&streaming)
		if err != nil {
			return false, fmt.Errorf("read pg_stat_wal_receiver on standby: %w", err)
		}
		return streaming, nil
	}, "the standby's WAL receiver to stream from the primary")
}

// CatchUp waits until the standby has replayed all the WAL its primary has
// written so far (pg_current_wal_lsn() on the primary against
// pg_last_wal_replay_lsn() here): what was committed on the primary before
// the call is then visible on the standby.
func (s *Cluster) CatchUp(ctx context.Context) error {
	if s.Primary == nil {
		return fmt.Errorf("catch up: %s is not a standby", s.DataDir)
	}
	pconn, err := pgx.Connect(ctx, s.Primary.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("connect to primary: %w", err)
	}
	var target string
	err = pconn.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&target)
	pconn.Close(ctx)
	if err != nil {
		return fmt.Errorf("read pg_current_wal_lsn() on primary: %w", err)
	}
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("connect to standby: %w", err)
	}
	defer conn.Close(ctx)
	return poll(ctx, 60*time.Second, func() (bool, error) {
		var done bool
		err := conn.QueryRow(ctx, "SELECT COALESCE(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)", target).Scan(&done)
		if err != nil {
			return false, fmt.Errorf("read pg_last_wal_replay_lsn() on standby: %w", err)
		}
		return done, nil
	}, "the standby to replay the primary's WAL up to "+target)
}

// poll calls check every 50ms until it is true, fails, or limit passes.
func poll(ctx context.Context, limit time.Duration, check func() (bool, error), what string) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := check()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", limit, what)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
