package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/internal/strictjson"
	"github.com/pgadvisor/pgadvisor/pglog"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// sourceFlags name inputs beside the database: the statement log, PgBouncer,
// and a thresholds file.
func sourceFlags() []cli.Flag {
	d := advisor.DefaultOptions()
	return []cli.Flag{
		&cli.StringFlag{Name: "log", Usage: "a PostgreSQL statement log `FILE` (log_min_duration_statement = 0) to find N+1 sequences per session"},
		&cli.StringFlag{Name: "log-format", Value: "auto", Usage: "format of --log: csvlog, jsonlog, stderr (needs %c or %p in log_line_prefix) or auto"},
		&cli.IntFlag{Name: "log-min-repeats", Value: d.NPlusOneLogMinRepeats, Usage: "N+1 from the log: at least `N` consecutive repeats of one statement after a parent"},
		&cli.Float64Flag{Name: "log-min-ms", Value: d.NPlusOneLogMinMS, Usage: "N+1 from the log: a run must total at least this many `MS`"},
		&cli.StringFlag{Name: "pgbouncer", Usage: "`DSN` of PgBouncer's admin console (dbname=pgbouncer) to read SHOW POOLS / SHOW STATS"},
		&cli.StringFlag{Name: "thresholds", Usage: "JSON `FILE` overriding rule thresholds, keys as printed by pgadvisor rules -v (e.g. {\"large_table_rows\": 50000})"},
	}
}

// advisorOptions are the rule thresholds: the defaults, then --thresholds,
// then the flags that set single thresholds.
func advisorOptions(c *cli.Context) (advisor.Options, error) {
	opts := advisor.DefaultOptions()
	if path := c.String("thresholds"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return opts, usageErr("read --thresholds: %v", err)
		}
		if err := strictjson.Unmarshal(data, &opts, true); err != nil {
			return opts, usageErr("--thresholds %s: %v (keys are listed by pgadvisor rules -v)", path, err)
		}
		if err := opts.Validate(); err != nil {
			return opts, usageErr("--thresholds %s: %v", path, strings.ReplaceAll(err.Error(), "\n", "; "))
		}
	}
	if err := applyIndexCaps(c, &opts); err != nil {
		return opts, err
	}
	if c.IsSet("min-calls") {
		opts.MinCalls = c.Int64("min-calls")
	}
	if c.IsSet("log-min-repeats") {
		opts.NPlusOneLogMinRepeats = c.Int("log-min-repeats")
	}
	if c.IsSet("log-min-ms") {
		opts.NPlusOneLogMinMS = c.Float64("log-min-ms")
	}
	if err := thresholdFlagsError(c, opts.Validate()); err != nil {
		return opts, err
	}
	return opts, nil
}

// thresholdFlags are the flags that set a single threshold, by its key.
var thresholdFlags = map[string]string{
	"min_calls":                  "min-calls",
	"n_plus_one_log_min_repeats": "log-min-repeats",
	"n_plus_one_log_min_ms":      "log-min-ms",
	"max_new_indexes":            "max-new-indexes",
	"storage_budget_bytes":       "storage-budget",
	"min_cost_reduction":         "min-cost-reduction",
}

// thresholdFlagsError turns the error of Options.Validate after the flags
// were applied into a usage error naming the flag of each threshold out of
// range, and its allowed range.
func thresholdFlagsError(c *cli.Context, err error) error {
	if err == nil {
		return nil
	}
	var msgs []string
	for _, e := range unjoin(err) {
		var te *advisor.ThresholdError
		if errors.As(e, &te) {
			if flag, ok := thresholdFlags[te.Key]; ok && c.IsSet(flag) {
				value := c.Value(flag)
				if flag == "storage-budget" {
					value = c.String(flag)
				}
				msgs = append(msgs, fmt.Sprintf("--%s %v is out of range: %s", flag, value, te.Range))
				continue
			}
		}
		msgs = append(msgs, e.Error())
	}
	return usageErr("%s", strings.Join(msgs, "; "))
}

// unjoin lists the errors of an errors.Join.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
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
	sum, err := pglog.ParseWith(f, format, pglog.Options{MinRepeats: opts.NPlusOneLogMinRepeats, MinTotalMS: opts.NPlusOneLogMinMS})
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
