package pgstat

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// insufficientPrivilege is the query text pg_stat_statements shows for other
// users' statements to a role without pg_read_all_stats.
const insufficientPrivilege = "<insufficient privilege>"

// workloadWhere selects the workload's rows of pg_stat_statements: the
// current database, not pgadvisor's own statements.
const workloadWhere = `dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND COALESCE(query, '') NOT LIKE '%` + Marker + `%'`

// statementsWhere selects the rows of pg_stat_statements pgadvisor reads:
// the workload's, with at least $1 calls.
const statementsWhere = workloadWhere + `
  AND calls >= $1`

// extVersion is a parsed extension version such as "1.10".
type extVersion struct{ major, minor int }

func parseExtVersion(v string) (extVersion, bool) {
	maj, min, ok := strings.Cut(strings.TrimSpace(v), ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if !ok || err1 != nil || err2 != nil {
		return extVersion{}, false
	}
	return extVersion{a, b}, true
}

func (v extVersion) atLeast(major, minor int) bool {
	return v.major > major || v.major == major && v.minor >= minor
}

// statementsQuery is the SELECT over pg_stat_statements for an installed
// extension version. Its output columns are the same for every version (see
// scanStatement); columns a version lacks are constants:
//
//	1.3–1.7 (PG ≤ 12): total_time, mean_time, … ; no plans, toplevel, wal_bytes
//	1.8 (PG 13):       *_exec_time, *_plan_time, plans, wal_bytes
//	1.9 (PG 14):       toplevel; pg_stat_statements_info
//	1.10 (PG 15, 16):  jit_* columns
//	1.11 (PG 17+):     shared_blk_read_time/shared_blk_write_time replace
//	                   blk_read_time/blk_write_time; local_blk_*_time, stats_since
//
// An unparseable version is treated as the newest known. Parameters: $1 the
// minimum calls, $2 the maximum number of rows (heaviest by total time first).
func statementsQuery(extVersion string) string {
	v, ok := parseExtVersion(extVersion)
	if !ok {
		v = latestKnown
	}
	var cols []string
	add := func(expr, alias string) {
		if expr == alias {
			cols = append(cols, expr)
		} else {
			cols = append(cols, expr+" AS "+alias)
		}
	}
	add("queryid", "queryid")
	add("userid::int8", "userid")
	add("COALESCE(pg_get_userbyid(userid)::text, '')", "username")
	if v.atLeast(1, 9) {
		add("toplevel", "toplevel")
	} else {
		add("true", "toplevel")
	}
	add("query", "query")
	add("calls", "calls")
	add("rows", "rows")
	if v.atLeast(1, 8) {
		add("total_exec_time", "total_exec_time")
		add("mean_exec_time", "mean_exec_time")
		add("min_exec_time", "min_exec_time")
		add("max_exec_time", "max_exec_time")
		add("stddev_exec_time", "stddev_exec_time")
		add("plans", "plans")
		add("total_plan_time", "total_plan_time")
	} else {
		add("total_time", "total_exec_time")
		add("mean_time", "mean_exec_time")
		add("min_time", "min_exec_time")
		add("max_time", "max_exec_time")
		add("stddev_time", "stddev_exec_time")
		add("0::int8", "plans")
		add("0::float8", "total_plan_time")
	}
	for _, c := range []string{"shared_blks_hit", "shared_blks_read", "shared_blks_dirtied", "shared_blks_written",
		"local_blks_hit", "local_blks_read", "temp_blks_read", "temp_blks_written"} {
		add(c, c)
	}
	if v.atLeast(1, 11) {
		add("shared_blk_read_time", "blk_read_time")
		add("shared_blk_write_time", "blk_write_time")
	} else {
		add("blk_read_time", "blk_read_time")
		add("blk_write_time", "blk_write_time")
	}
	if v.atLeast(1, 8) {
		add("wal_bytes::float8", "wal_bytes")
	} else {
		add("0::float8", "wal_bytes")
	}
	if v.atLeast(1, 10) {
		add("jit_generation_time + jit_inlining_time + jit_optimization_time + jit_emission_time", "jit_total_time")
	} else {
		add("0::float8", "jit_total_time")
	}
	if v.atLeast(1, 11) {
		add("stats_since", "stats_since")
	} else {
		add("NULL::timestamptz", "stats_since")
	}
	total := totalTimeExpr(v)
	return Marker + " SELECT " + strings.Join(cols, ",\n  ") + "\nFROM pg_stat_statements\nWHERE " + statementsWhere +
		"\n  AND COALESCE(query, '') <> '" + insufficientPrivilege + "'" +
		"\nORDER BY " + total + " DESC, queryid\nLIMIT $2"
}

// totalTimeExpr is the total time of an entry (execution and planning) for an
// extension version.
func totalTimeExpr(v extVersion) string {
	if !v.atLeast(1, 8) {
		return "total_time"
	}
	return "total_exec_time + total_plan_time"
}

// latestKnown is the newest pg_stat_statements version whose columns statementsQuery knows.
var latestKnown = extVersion{1, 11}

func scanStatements(rows pgx.Rows) ([]Statement, error) {
	defer rows.Close()
	var out []Statement
	for rows.Next() {
		var s Statement
		var queryID *int64
		var userID int64
		var query *string
		var since *time.Time
		if err := rows.Scan(&queryID, &userID, &s.User, &s.TopLevel, &query, &s.Calls, &s.Rows,
			&s.TotalExecTime, &s.MeanExecTime, &s.MinExecTime, &s.MaxExecTime, &s.StddevExecTime,
			&s.Plans, &s.TotalPlanTime,
			&s.SharedBlksHit, &s.SharedBlksRead, &s.SharedBlksDirtied, &s.SharedBlksWritten,
			&s.LocalBlksHit, &s.LocalBlksRead, &s.TempBlksRead, &s.TempBlksWritten,
			&s.BlkReadTime, &s.BlkWriteTime, &s.WALBytes, &s.JITTotalTime, &since); err != nil {
			return nil, err
		}
		if queryID != nil {
			s.QueryID = *queryID
		}
		if query != nil {
			s.Query = RedactStatement(*query)
		}
		s.UserID = uint32(userID)
		s.StatsSince = utc(since)
		out = append(out, s)
	}
	return out, rows.Err()
}

// collectStatements reads pg_stat_statements of the current database.
func (c *collector) collectStatements(ctx context.Context) error {
	var version *string
	err := c.conn.QueryRow(ctx, Marker+` SELECT (SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements')`).Scan(&version)
	if err != nil {
		return fmt.Errorf("read pg_stat_statements version: %w", err)
	}
	if version == nil {
		fix := "CREATE EXTENSION pg_stat_statements; in database " + QuoteIdent(c.snap.Database)
		if pre, ok := c.snap.Settings["shared_preload_libraries"]; ok && !strings.Contains(pre, "pg_stat_statements") {
			fix += ", after adding pg_stat_statements to shared_preload_libraries in postgresql.conf and restarting the server"
		}
		c.problem("statements", fmt.Sprintf("pg_stat_statements is not installed in database %q: no statement statistics", c.snap.Database), fix)
		return nil
	}
	info := &StatStatementsInfo{Version: *version}
	if m, ok := c.snap.Settings["pg_stat_statements.max"]; ok {
		info.Max, _ = strconv.Atoi(m)
	}
	rows, err := c.conn.Query(ctx, statementsQuery(*version), c.opts.MinCalls, c.opts.MaxStatements)
	if err != nil {
		return fmt.Errorf("read pg_stat_statements: %w", err)
	}
	stmts, err := scanStatements(rows)
	if err != nil {
		return fmt.Errorf("read pg_stat_statements: %w", err)
	}
	c.snap.StatStatements = info
	c.snap.Statements = stmts

	// Totals come from every entry, not only the kept ones: shares of the
	// kept statements are fractions of all the workload's time.
	v, ok := parseExtVersion(*version)
	if !ok {
		v = latestKnown
	}
	var hidden, visible, entries int
	var totalTime float64
	err = c.conn.QueryRow(ctx, Marker+` SELECT count(*) FILTER (WHERE calls >= $1 AND query = '`+insufficientPrivilege+`'),
  count(*) FILTER (WHERE calls >= $1 AND COALESCE(query, '') <> '`+insufficientPrivilege+`'),
  count(*), COALESCE(sum(`+totalTimeExpr(v)+`), 0)::float8
FROM pg_stat_statements WHERE `+workloadWhere, c.opts.MinCalls).Scan(&hidden, &visible, &entries, &totalTime)
	if err != nil {
		return fmt.Errorf("count pg_stat_statements rows: %w", err)
	}
	info.HiddenRows = hidden
	info.Entries, info.TotalTime = &entries, &totalTime
	if visible > len(stmts) {
		info.OmittedRows = visible - len(stmts)
	}
	if hidden > 0 {
		c.problem("statements", fmt.Sprintf("%d pg_stat_statements entries of other users are hidden from %s (<insufficient privilege>) and left out", hidden, c.snap.Server.CurrentUser),
			"GRANT pg_read_all_stats TO "+c.grantee()+" (or GRANT pg_monitor TO "+c.grantee()+")")
	}

	if v, ok := parseExtVersion(*version); !ok || v.atLeast(1, 9) {
		var reset *time.Time
		if err := c.conn.QueryRow(ctx, Marker+` SELECT dealloc, stats_reset FROM pg_stat_statements_info`).Scan(&info.Dealloc, &reset); err != nil {
			return fmt.Errorf("read pg_stat_statements_info: %w", err)
		}
		info.StatsReset = utc(reset)
	}
	return nil
}
