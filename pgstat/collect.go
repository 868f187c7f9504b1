package pgstat

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/explain"
)

// CollectOptions tune Collect. Zero values mean the defaults.
type CollectOptions struct {
	// SampleWindow is how long pg_stat_activity is sampled; zero means a
	// single sample (callers use DefaultSampleWindow, 3s, as their default).
	SampleWindow time.Duration
	// SampleInterval is the time between two pg_stat_activity samples kept
	// whole in Snapshot.Activity (default 500ms).
	SampleInterval time.Duration
	// WaitInterval is the time between two ticks of the wait profile
	// (Snapshot.Waits, default 100ms): every tick reads pg_stat_activity
	// once, is aggregated, and is kept whole when SampleInterval has passed
	// since the last sample kept.
	WaitInterval time.Duration
	// MinCalls leaves out pg_stat_statements entries with fewer calls.
	MinCalls int64
	// MaxStatements keeps only the heaviest entries by total time (default 500).
	MaxStatements int
	// Guard, shared with the later phases of an audit, learns which tables
	// are locked: after the first lock timeout on a table, its catalog reads
	// (and then its statements) are skipped instead of waiting again. Nil:
	// Collect uses its own.
	Guard *explain.Guard

	// afterSample, when set (tests), runs after each activity sample.
	afterSample func()
}

// Defaults of CollectOptions.
const (
	DefaultSampleWindow   = 3 * time.Second
	DefaultSampleInterval = 500 * time.Millisecond
	DefaultWaitInterval   = 100 * time.Millisecond
	DefaultMaxStatements  = 500
)

// Phases of Collect, as used in Problem.Phase and Snapshot.Timings.
const (
	PhaseServer      = "server"
	PhaseSettings    = "settings"
	PhaseRoles       = "role_settings"
	PhaseStatements  = "statements"
	PhaseTables      = "tables"
	PhaseColumns     = "columns"
	PhaseIndexes     = "indexes"
	PhaseForeignKeys = "foreign_keys"
	PhaseSizes       = "sizes"
	PhaseActivity    = "activity"
	PhaseViews       = "views"
	PhaseQualstats   = "qualstats"
)

// SettingNames are the server settings Collect reads from pg_settings.
var SettingNames = []string{
	"max_connections", "superuser_reserved_connections", "reserved_connections",
	"shared_buffers", "work_mem", "maintenance_work_mem", "effective_cache_size",
	"random_page_cost", "seq_page_cost", "effective_io_concurrency", "default_statistics_target",
	"jit", "jit_above_cost", "max_parallel_workers_per_gather", "max_parallel_workers", "max_worker_processes",
	"hash_mem_multiplier", "server_version", "block_size",
	"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "log_min_duration_statement",
	"idle_session_timeout", "track_io_timing", "pg_stat_statements.max", "pg_stat_statements.track",
	"shared_preload_libraries", "server_encoding",
}

type collector struct {
	conn *pgx.Conn
	opts CollectOptions
	snap *Snapshot
	// indexTable maps an index's OID to its table's.
	indexTable map[uint32]uint32
}

// Collect reads a snapshot of the connected database: server, settings,
// the settings roles get in this database (ALTER ROLE … SET),
// pg_stat_statements (by the installed extension version), tables with their
// columns and statistics, indexes, foreign keys, sizes and pg_stat_activity
// samples, in that order. A part that fails is recorded in Snapshot.Problems
// (with the fix, see Describe) and collection goes on with the next part.
// Collect returns an error only when nothing at all could be read, or when ctx
// is cancelled: then it returns what was collected so far and ctx.Err().
// Every statement it sends starts with Marker.
func Collect(ctx context.Context, conn *pgx.Conn, opts CollectOptions) (*Snapshot, error) {
	if opts.SampleInterval <= 0 {
		opts.SampleInterval = DefaultSampleInterval
	}
	if opts.WaitInterval <= 0 {
		opts.WaitInterval = DefaultWaitInterval
	}
	if opts.WaitInterval > opts.SampleInterval {
		opts.WaitInterval = opts.SampleInterval
	}
	if opts.MaxStatements <= 0 {
		opts.MaxStatements = DefaultMaxStatements
	}
	c := &collector{conn: conn, opts: opts, snap: New(), indexTable: map[uint32]uint32{}}
	if c.opts.Guard == nil {
		c.opts.Guard = explain.NewGuard(0)
	}
	c.snap.CollectedAt = time.Now().UTC()
	phases := []struct {
		name string
		run  func(context.Context) error
	}{
		{PhaseServer, c.collectServer},
		{PhaseSettings, c.collectSettings},
		{PhaseRoles, c.collectRoleSettings},
		{PhaseStatements, c.collectStatements},
		{PhaseTables, c.collectTables},
		{PhaseColumns, c.collectColumns},
		{PhaseIndexes, c.collectIndexes},
		{PhaseForeignKeys, c.collectForeignKeys},
		{PhaseViews, c.collectViews},
		{PhaseQualstats, c.collectQualstats},
		{PhaseSizes, c.collectSizes},
		{PhaseActivity, c.collectActivity},
	}
	succeeded := 0
	var firstErr error
	for i, p := range phases {
		if err := ctx.Err(); err != nil {
			c.problem(p.name, "interrupted", "")
			return c.snap, err
		}
		start := time.Now()
		err := p.run(ctx)
		c.snap.Timings[p.name] = float64(time.Since(start).Microseconds()) / 1000
		if err == nil {
			succeeded++
			continue
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			c.problem(p.name, "interrupted", "")
			return c.snap, ctxErr
		}
		if firstErr == nil {
			firstErr = err
		}
		msg, fix := describe(err, c.snap.Server.CurrentUser)
		c.problem(p.name, msg, fix)
		if conn.IsClosed() {
			var skipped []string
			for _, q := range phases[i+1:] {
				skipped = append(skipped, q.name)
			}
			if len(skipped) > 0 {
				c.problem(p.name, "the connection was closed; not collected: "+strings.Join(skipped, ", "),
					"check that the server is running, then run pgadvisor again")
			}
			break
		}
	}
	if succeeded == 0 {
		return c.snap, fmt.Errorf("collect: nothing could be read: %w", firstErr)
	}
	return c.snap, nil
}

func (c *collector) problem(phase, message, fix string) {
	c.snap.Problems = append(c.snap.Problems, Problem{Phase: phase, Message: message, Fix: fix})
}

// grantee is the connected user, quoted, for GRANT fixes.
func (c *collector) grantee() string {
	if c.snap.Server.CurrentUser != "" {
		return QuoteIdent(c.snap.Server.CurrentUser)
	}
	return "<user>"
}

// utc returns a copy of t in UTC, so that snapshots survive a JSON round trip unchanged.
func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (c *collector) collectServer(ctx context.Context) error {
	s := &c.snap.Server
	var version string
	var started, reset *time.Time
	var hypo *string
	var xacts *int64
	err := c.conn.QueryRow(ctx, Marker+` SELECT current_setting('server_version'),
  current_setting('server_version_num')::int,
  current_user::text, current_database()::text, pg_postmaster_start_time(),
  (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
  (SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()),
  (SELECT extversion FROM pg_extension WHERE extname = 'hypopg'),
  EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg'),
  pg_is_in_recovery()`).
		Scan(&version, &s.VersionNum, &s.CurrentUser, &c.snap.Database, &started, &reset, &xacts, &hypo, &s.HypoPGAvailable, &s.InRecovery)
	if err != nil {
		return fmt.Errorf("read server: %w", err)
	}
	// "15.18 (Debian 15.18-1.pgdg120+1)" → "15.18"
	if f := strings.Fields(version); len(f) > 0 {
		version = f[0]
	}
	s.Version = version
	s.StartedAt = utc(started)
	s.StatsResetAt = utc(reset)
	s.Transactions = xacts
	if hypo != nil {
		s.HypoPG = *hypo
	}
	return nil
}

// collectSettings reads the settings as the server's sessions get them:
// pgadvisor SETs its own timeouts after connecting (source 'session'), and
// reset_val is then the value every other session starts with.
func (c *collector) collectSettings(ctx context.Context) error {
	rows, err := c.conn.Query(ctx, Marker+` SELECT name, CASE WHEN source = 'session' THEN reset_val ELSE setting END, COALESCE(unit, '') FROM pg_settings WHERE name = ANY($1) ORDER BY name`, SettingNames)
	if err != nil {
		return fmt.Errorf("read pg_settings: %w", err)
	}
	defer rows.Close()
	units := map[string]string{}
	for rows.Next() {
		var name, setting, unit string
		if err := rows.Scan(&name, &setting, &unit); err != nil {
			return fmt.Errorf("read pg_settings: %w", err)
		}
		c.snap.Settings[name] = setting
		if unit != "" {
			units[name] = unit
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read pg_settings: %w", err)
	}
	if len(units) > 0 {
		c.snap.SettingUnits = units
	}
	return nil
}

// collectViews reads the definitions of user views, so that index advice on
// statements over views reaches their base tables.
func (c *collector) collectViews(ctx context.Context) error {
	views, err := CollectViews(ctx, c.conn)
	if err != nil {
		return err
	}
	c.snap.Views = views
	return nil
}
