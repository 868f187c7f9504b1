package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/audit"
	"github.com/pgadvisor/pgadvisor/config"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

func connectionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "dsn", Usage: "connection `URL` or keyword/value string; default: DATABASE_URL, then the PG* environment variables and ~/.pgpass"},
		&cli.DurationFlag{Name: "statement-timeout", Value: 10 * time.Second, Usage: "statement_timeout of every statement pgadvisor runs"},
		&cli.DurationFlag{Name: "lock-timeout", Value: time.Second, Usage: "lock_timeout of every statement pgadvisor runs (a table still locked after it is skipped for the rest of the run)"},
		&cli.DurationFlag{Name: "timeout", Value: audit.DefaultOptions().Timeout, Usage: "bound the whole run; what was collected by then is reported (exit 3); 0: no bound"},
		&cli.BoolFlag{Name: "no-analyze", Usage: "never run EXPLAIN ANALYZE, even for statements the safety gate allows"},
		&cli.BoolFlag{Name: "analyze-writes", Usage: "EXPLAIN ANALYZE INSERT/UPDATE/DELETE too, inside a transaction that is rolled back (executes them!)"},
		&cli.StringSliceFlag{Name: "trust-functions", Usage: "user functions (`NAME,...`, schema.name or name) the safety gate may let PostgreSQL run while planning and under EXPLAIN ANALYZE"},
	}
}

func auditCommand() *cli.Command {
	flags := append([]cli.Flag{configFlag()}, connectionFlags()...)
	flags = append(flags, outputFlags()...)
	flags = append(flags,
		&cli.IntFlag{Name: "top", Value: 20, Usage: "explain the `N` statements that cost the most time"},
		&cli.Int64Flag{Name: "min-calls", Value: 1, Usage: "ignore statements called fewer than `N` times"},
		&cli.DurationFlag{Name: "sample-window", Value: 3 * time.Second, Usage: "sample pg_stat_activity over this window (0: one sample)"},
		&cli.StringFlag{Name: "save-snapshot", Usage: "save everything collected to `FILE`, for offline re-runs with --snapshot"},
		&cli.StringFlag{Name: "snapshot", Usage: "advise on a saved snapshot `FILE` instead of a live database"},
		&cli.BoolFlag{Name: "no-what-if", Usage: "skip the hypothetical-index (HypoPG) evaluation"},
	)
	flags = append(flags, whatIfFlags()...)
	flags = append(flags, sourceFlags()...)
	flags = append(flags, ruleSelectionFlags()...)
	return &cli.Command{
		Name:  "audit",
		Usage: "audit a live database (or a saved snapshot) and report ranked findings",
		Description: `Connects with --dsn, DATABASE_URL or the PG* environment, reads pg_stat_statements,
table and index statistics and pg_stat_activity, explains the heaviest statements
and prints the findings, most expensive first.`,
		Flags: flags,
		Action: func(c *cli.Context) error {
			if err := checkOutputFlags(c); err != nil {
				return err
			}
			if c.NArg() > 0 {
				return usageErr("audit takes no arguments (got %q); use --dsn to name the database", c.Args().First())
			}
			cfg, rules, err := configAndRules(c)
			if err != nil {
				return err
			}
			aopts := cfg.Options
			logSummary, err := readLog(c, aopts)
			if err != nil {
				return err
			}
			if path := c.String("snapshot"); path != "" {
				if c.IsSet("dsn") || c.IsSet("pgbouncer") {
					return usageErr("--snapshot is audited offline: it excludes --dsn and --pgbouncer")
				}
				snap, err := loadSnapshot(path)
				if err != nil {
					return err
				}
				if logSummary != nil {
					snap.Log = logSummary
				}
				return emit(c, audit.Advise(snap, aopts, rules, path))
			}
			if c.Int("top") < 0 {
				return usageErr("--top must be 0 or more")
			}
			opts, err := liveOptions(c, cfg)
			if err != nil {
				return err
			}
			opts.Top = c.Int("top")
			opts.MinCalls = cfg.Options.MinCalls
			opts.SampleWindow = c.Duration("sample-window")
			opts.Advisor = aopts
			return auditLive(c, opts, rules, func(snap *pgstat.Snapshot) {
				readPgBouncer(c, snap)
				if logSummary != nil {
					snap.Log = logSummary
				}
			})
		},
	}
}

// liveOptions maps the flags shared by the commands that talk to a database
// (connection, safety) and the configuration (thresholds, what-if options,
// trusted functions) to audit options.
func liveOptions(c *cli.Context, cfg *config.Config) (audit.Options, error) {
	opts := audit.DefaultOptions()
	opts.DSN = c.String("dsn")
	opts.StatementTimeout = c.Duration("statement-timeout")
	opts.LockTimeout = c.Duration("lock-timeout")
	if opts.Timeout = c.Duration("timeout"); opts.Timeout < 0 {
		return opts, usageErr("--timeout must be 0 (no bound) or more")
	}
	opts.NoAnalyze = c.Bool("no-analyze")
	opts.AnalyzeWrites = c.Bool("analyze-writes")
	opts.TrustFunctions = cfg.TrustFunctions
	opts.Advisor = cfg.Options
	opts.InstallHypoPG = c.Bool("install-hypopg")
	opts.NoWhatIf = c.Bool("no-what-if")
	opts.Verify = c.Bool("verify")
	return opts, nil
}

// trustFunctions splits the --trust-functions values (repeated or comma-separated).
func trustFunctions(values []string) []string {
	var out []string
	for _, v := range values {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				out = append(out, name)
			}
		}
	}
	return out
}

// auditLive collects, saves the snapshot when asked, and reports; a failure
// still reports what was collected before it, then exits 3 with the fix.
func auditLive(c *cli.Context, opts audit.Options, rules []*advisor.Rule, extra func(*pgstat.Snapshot)) error {
	if isTerminal(c.App.ErrWriter) {
		p := newProgress(c.App.ErrWriter, progressDelay)
		opts.Progress = p.update
		snap, err := audit.Collect(c.Context, opts)
		p.clear()
		return reportLive(c, opts, rules, extra, snap, err)
	}
	snap, err := audit.Collect(c.Context, opts)
	return reportLive(c, opts, rules, extra, snap, err)
}

// reportLive is auditLive after the collection.
func reportLive(c *cli.Context, opts audit.Options, rules []*advisor.Rule, extra func(*pgstat.Snapshot), snap *pgstat.Snapshot, err error) error {
	if snap == nil {
		return failure(describe(err))
	}
	if extra != nil {
		extra(snap)
	}
	var ae *audit.Error
	if errors.As(err, &ae) && !hasProblem(snap, ae.Message) {
		snap.Problems = append(snap.Problems, pgstat.Problem{Phase: ae.Phase, Message: ae.Message, Fix: ae.Fix})
	}
	if path := c.String("save-snapshot"); path != "" {
		if serr := saveSnapshot(path, snap); serr != nil && err == nil {
			err = serr
		}
	}
	if err == nil {
		err = incomplete(snap)
	}
	r := audit.Advise(snap, opts.Advisor, rules, "live")
	if eerr := emit(c, r); eerr != nil {
		var ee *exitError
		if !errors.As(eerr, &ee) || ee.code != exitFindings || err == nil {
			return eerr
		}
	}
	if err != nil {
		return failure(describe(err))
	}
	return nil
}

// incomplete is the error of a collection that recorded problems: the report
// is printed, but the exit code (3) and one line on stderr say it is partial.
// Warnings (some statements not planned while others were) are reported but
// leave the audit complete.
func incomplete(snap *pgstat.Snapshot) error {
	var serious []pgstat.Problem
	for _, p := range snap.Problems {
		if p.Severity != pgstat.SeverityWarning {
			serious = append(serious, p)
		}
	}
	if len(serious) == 0 {
		return nil
	}
	p := serious[0]
	msg := p.Phase + ": " + p.Message
	if n := len(snap.Problems) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more problems, listed in the report)", n)
	}
	return &audit.Error{Phase: "collection incomplete", Message: msg, Fix: p.Fix}
}

func hasProblem(snap *pgstat.Snapshot, message string) bool {
	for _, p := range snap.Problems {
		if p.Message == message {
			return true
		}
	}
	return false
}

// describe turns an error into its one-line message with the fix.
func describe(err error) error {
	var ae *audit.Error
	if errors.As(err, &ae) {
		return ae
	}
	msg, fix := pgstat.Describe(err)
	if fix != "" {
		return fmt.Errorf("%s (fix: %s)", msg, fix)
	}
	return errors.New(msg)
}
