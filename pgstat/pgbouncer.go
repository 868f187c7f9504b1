package pgstat

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// PgBouncerStats is what PgBouncer's admin console says about its pools:
// SHOW POOLS, SHOW STATS and the pool settings of SHOW CONFIG.
type PgBouncerStats struct {
	CollectedAt time.Time       `json:"collected_at"`
	Version     string          `json:"version,omitempty"` // SHOW VERSION, e.g. "PgBouncer 1.18.0"
	Pools       []PgBouncerPool `json:"pools"`
	Stats       []PgBouncerStat `json:"stats"`
	// Config holds the pool-sizing settings of SHOW CONFIG (pool_mode,
	// default_pool_size, max_client_conn, max_db_connections, reserve_pool_size, ...).
	Config map[string]string `json:"config,omitempty"`
}

// PgBouncerPool is one row of SHOW POOLS: one (database, user) pool.
type PgBouncerPool struct {
	Database  string `json:"database"`
	User      string `json:"user"`
	ClActive  int64  `json:"cl_active"`  // clients linked to a server or idle
	ClWaiting int64  `json:"cl_waiting"` // clients waiting for a server connection
	SvActive  int64  `json:"sv_active"`
	SvIdle    int64  `json:"sv_idle"`
	SvUsed    int64  `json:"sv_used"`
	SvTested  int64  `json:"sv_tested"`
	SvLogin   int64  `json:"sv_login"`
	// MaxWaitSeconds is how long the oldest waiting client has waited, seconds
	// (maxwait + maxwait_us).
	MaxWaitSeconds float64 `json:"maxwait_seconds"`
	PoolMode       string  `json:"pool_mode,omitempty"`
}

// PgBouncerStat is one row of SHOW STATS: per-database totals since PgBouncer started.
type PgBouncerStat struct {
	Database        string `json:"database"`
	TotalXactCount  int64  `json:"total_xact_count"`
	TotalQueryCount int64  `json:"total_query_count"`
	TotalXactTime   int64  `json:"total_xact_time_us"`  // microseconds
	TotalQueryTime  int64  `json:"total_query_time_us"` // microseconds
	TotalWaitTime   int64  `json:"total_wait_time_us"`  // microseconds clients waited for a server
	AvgXactTime     int64  `json:"avg_xact_time_us"`    // microseconds, over the last stats period
	AvgQueryTime    int64  `json:"avg_query_time_us"`   // microseconds, over the last stats period
	AvgWaitTime     int64  `json:"avg_wait_time_us"`    // microseconds, over the last stats period
}

// pgbouncerConfigKeys are the SHOW CONFIG settings kept in PgBouncerStats.Config.
var pgbouncerConfigKeys = map[string]bool{
	"pool_mode": true, "default_pool_size": true, "min_pool_size": true, "reserve_pool_size": true,
	"reserve_pool_timeout": true, "max_client_conn": true, "max_db_connections": true, "max_user_connections": true,
	"server_idle_timeout": true, "query_wait_timeout": true, "idle_transaction_timeout": true,
}

// ReadPgBouncer connects to PgBouncer's admin console (dsn names the
// "pgbouncer" database and a user in admin_users or stats_users) and reads
// SHOW POOLS, SHOW STATS and SHOW CONFIG. The console speaks only the simple
// query protocol, so the connection uses it.
func ReadPgBouncer(ctx context.Context, dsn string) (*PgBouncerStats, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, redactError(fmt.Errorf("parse PgBouncer connection string: %w", err), secretsOf(dsn)...)
	}
	if cfg.Database == "" {
		cfg.Database = "pgbouncer"
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	cfg.StatementCacheCapacity = 0
	cfg.DescriptionCacheCapacity = 0
	cfg.RuntimeParams["application_name"] = ApplicationName
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, redactError(fmt.Errorf("connect to PgBouncer admin console: %w", err), append(secretsOf(dsn), cfg.Password)...)
	}
	defer conn.Close(context.Background())
	out := &PgBouncerStats{CollectedAt: time.Now().UTC(), Pools: []PgBouncerPool{}, Stats: []PgBouncerStat{}, Config: map[string]string{}}

	if rows, err := showRows(ctx, conn, "SHOW VERSION"); err == nil && len(rows) > 0 {
		out.Version = rows[0]["version"]
	}
	pools, err := showRows(ctx, conn, "SHOW POOLS")
	if err != nil {
		return nil, err
	}
	for _, r := range pools {
		p := PgBouncerPool{
			Database: r["database"], User: r["user"],
			ClActive: atoi(r["cl_active"]), ClWaiting: atoi(r["cl_waiting"]),
			SvActive: atoi(r["sv_active"]), SvIdle: atoi(r["sv_idle"]), SvUsed: atoi(r["sv_used"]),
			SvTested: atoi(r["sv_tested"]), SvLogin: atoi(r["sv_login"]),
			MaxWaitSeconds: float64(atoi(r["maxwait"])) + float64(atoi(r["maxwait_us"]))/1e6,
			PoolMode:       r["pool_mode"],
		}
		out.Pools = append(out.Pools, p)
	}
	stats, err := showRows(ctx, conn, "SHOW STATS")
	if err != nil {
		return nil, err
	}
	for _, r := range stats {
		out.Stats = append(out.Stats, PgBouncerStat{
			Database:        r["database"],
			TotalXactCount:  atoi(firstOf(r, "total_xact_count", "total_requests")),
			TotalQueryCount: atoi(r["total_query_count"]),
			TotalXactTime:   atoi(r["total_xact_time"]),
			TotalQueryTime:  atoi(firstOf(r, "total_query_time", "total_query_time_us")),
			TotalWaitTime:   atoi(r["total_wait_time"]),
			AvgXactTime:     atoi(r["avg_xact_time"]),
			AvgQueryTime:    atoi(firstOf(r, "avg_query_time", "avg_query")),
			AvgWaitTime:     atoi(r["avg_wait_time"]),
		})
	}
	if conf, err := showRows(ctx, conn, "SHOW CONFIG"); err == nil {
		for _, r := range conf {
			if pgbouncerConfigKeys[r["key"]] {
				out.Config[r["key"]] = r["value"]
			}
		}
	}
	return out, nil
}

// showRows runs an admin-console SHOW command and returns its rows as text by column name.
func showRows(ctx context.Context, conn *pgx.Conn, cmd string) ([]map[string]string, error) {
	rows, err := conn.Query(ctx, cmd)
	if err != nil {
		return nil, fmt.Errorf("PgBouncer %s: %w", cmd, err)
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	var out []map[string]string
	for rows.Next() {
		raw := rows.RawValues()
		m := make(map[string]string, len(fields))
		for i, f := range fields {
			if i < len(raw) && raw[i] != nil {
				m[strings.ToLower(f.Name)] = string(raw[i])
			}
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("PgBouncer %s: %w", cmd, err)
	}
	return out, nil
}

func firstOf(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return ""
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n
}
