package main

import (
	"os"

	"github.com/urfave/cli/v2"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/config"
	"github.com/pgadvisor/pgadvisor/pglog"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// sourceFlags name inputs beside the database: the statement log, PgBouncer,
// and a thresholds file (loadConfig reads it).
func sourceFlags() []cli.Flag {
	d := advisor.DefaultOptions()
	return []cli.Flag{
		&cli.StringFlag{Name: "log", Usage: "a PostgreSQL statement log `FILE` (log_min_duration_statement = 0) to find N+1 sequences per session"},
		&cli.StringFlag{Name: "log-format", Value: "auto", Usage: "format of --log: csvlog, jsonlog, stderr (needs %c or %p in log_line_prefix) or auto"},
		&cli.IntFlag{Name: "log-min-repeats", Value: d.NPlusOne.LogMinRepeats, Usage: "N+1 from the log: at least `N` consecutive repeats of one statement after a parent"},
		&cli.Float64Flag{Name: "log-min-ms", Value: d.NPlusOne.LogMinMS, Usage: "N+1 from the log: a run must total at least this many `MS`"},
		&cli.StringFlag{Name: "pgbouncer", Usage: "`DSN` of PgBouncer's admin console (dbname=pgbouncer) to read SHOW POOLS / SHOW STATS"},
		&cli.StringFlag{Name: "thresholds", Usage: "JSON `FILE` overriding thresholds (over " + config.FileName + "), keys as printed by pgadvisor rules -v (e.g. {\"large_table_rows\": 50000})"},
	}
}

// readLog parses --log up front, so a log that cannot be read is a usage
// error before anything touches the database.
func readLog(c *cli.Context, opts advisor.Options) (*pglog.Summary, error) {
	path := c.String("log")
	if path == "" {
		return nil, nil
	}
	format, err := pglog.ParseFormat(c.String("log-format"))
	if err != nil {
		return nil, usageErr("--log-format: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usageErr("--log: %v", err)
	}
	defer f.Close()
	sum, err := pglog.ParseWith(f, format, pglog.Options{MinRepeats: opts.NPlusOne.LogMinRepeats, MinTotalMS: opts.NPlusOne.LogMinMS})
	if err != nil {
		return nil, usageErr("--log %s: %v", path, err)
	}
	return sum, nil
}

// readPgBouncer reads PgBouncer's pools into the snapshot; a failure is a
// collection problem, not the end of the audit.
func readPgBouncer(c *cli.Context, snap *pgstat.Snapshot) {
	dsn := c.String("pgbouncer")
	if dsn == "" {
		return
	}
	stats, err := pgstat.ReadPgBouncer(c.Context, dsn)
	if err != nil {
		msg, fix := pgstat.Describe(err)
		snap.Problems = append(snap.Problems, pgstat.Problem{Phase: "pgbouncer", Message: msg, Fix: fix})
		return
	}
	snap.PgBouncer = stats
}
