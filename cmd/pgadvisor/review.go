package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/audit"
	"github.com/pgadvisor/pgadvisor/review"
)

func reviewCommand() *cli.Command {
	flags := []cli.Flag{
		configFlag(),
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "text", Usage: "output format: " + strings.Join(review.Formats(), ", ")},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the report to `FILE` instead of standard output"},
		&cli.StringFlag{Name: "fail-on", Value: "error", Usage: "exit 1 when a finding has this severity or worse: never, notice, warning, error"},
		&cli.StringFlag{Name: "baseline", Usage: "report only the findings not in the baseline `FILE`"},
		&cli.StringFlag{Name: "write-baseline", Usage: "record today's findings in the baseline `FILE` (exit 0)"},
		&cli.StringFlag{Name: "dsn", Usage: "a staging database (`URL` or keyword/value string): plan every statement there, run the plan rules and the what-if index engine"},
		&cli.BoolFlag{Name: "analyze", Usage: "with --dsn: EXPLAIN ANALYZE the plain SELECTs the safety gate allows (default: generic plans only)"},
		&cli.BoolFlag{Name: "no-what-if", Usage: "with --dsn: skip the hypothetical-index (HypoPG) evaluation"},
		&cli.DurationFlag{Name: "statement-timeout", Value: 10 * time.Second, Usage: "with --dsn: statement_timeout of every statement pgadvisor runs"},
		&cli.DurationFlag{Name: "lock-timeout", Value: time.Second, Usage: "with --dsn: lock_timeout of every statement pgadvisor runs"},
		&cli.DurationFlag{Name: "timeout", Value: audit.DefaultOptions().Timeout, Usage: "with --dsn: bound the staging phase; the offline findings are still reported (exit 3); 0: no bound"},
		&cli.StringSliceFlag{Name: "trust-functions", Usage: "with --dsn: user functions (`NAME,...`) the safety gate may let PostgreSQL run while planning"},
	}
	flags = append(flags, ruleSelectionFlags()...)
	return &cli.Command{
		Name:      "review",
		Usage:     "review the SQL of a repository before it ships: SQL files, migrations, SQL in Go, Python, Ruby, JavaScript/TypeScript, Java and Kotlin sources",
		ArgsUsage: "[PATH...]",
		Description: `Finds every statement in the files and directories given (default: the working
directory): .sql files (scripts, sqlc queries, migration folders), the query
literals of database/sql, pgx and sqlx calls in Go sources, and the string
literals that parse as SQL in Python, Ruby, JavaScript/TypeScript, Java and
Kotlin sources (placeholders such as %s, ?, :name and ${…} read as $n). Each
finding carries its path, line and column. Offline: no database is needed;
with --dsn every statement is also planned on a staging database.`,
		Flags: flags,
		Action: func(c *cli.Context) error {
			format := c.String("format")
			print, ok := review.Printers[format]
			if !ok {
				return usageErr("unknown --format %q: use one of %s", format, strings.Join(review.Formats(), ", "))
			}
			failOn := c.String("fail-on")
			switch failOn {
			case "never", "notice", "warning", "error":
			default:
				return usageErr("unknown --fail-on %q: use never, notice, warning or error", failOn)
			}
			cfg, rules, err := configAndRules(c)
			if err != nil {
				return err
			}
			enabled := map[string]bool{}
			for _, r := range rules {
				enabled[r.Name] = true
			}
			var base *review.Baseline
			if path := c.String("baseline"); path != "" {
				if base, err = review.ReadBaseline(path); err != nil {
					return usageErr("%v", err)
				}
			}
			wd, err := os.Getwd()
			if err != nil {
				return failure(fmt.Errorf("working directory: %w", err))
			}
			paths := c.Args().Slice()
			if len(paths) == 0 {
				paths = []string{"."}
			}
			files, notes, err := review.Collect(wd, paths)
			if err != nil {
				return usageErr("%v", err)
			}
			ropts := review.Options{Advisor: cfg.Options, Enabled: func(id string) bool { return enabled[id] }}
			var stagingErr error
			if c.IsSet("dsn") {
				opts, err := liveOptions(c, cfg)
				if err != nil {
					return err
				}
				opts.NoAnalyze = !c.Bool("analyze")
				// Every statement of the repository counts: no time or call
				// thresholds (each is one call of no measured time).
				opts.Advisor.MinCalls, opts.Advisor.MinShare, opts.Advisor.MinTotalMS = 0, 0, 0
				if c.IsSet("trust-functions") {
					opts.TrustFunctions = trustFunctions(c.StringSlice("trust-functions"))
				}
				snap, err := audit.CollectStatements(c.Context, review.Workload(files), opts)
				if err != nil {
					stagingErr = err
				}
				if snap != nil && err == nil {
					ropts.Staging = snap
				}
			}
			res := review.Check(files, ropts)
			res.Notes = append(notes, res.Notes...)
			if path := c.String("write-baseline"); path != "" {
				if err := review.WriteBaseline(path, review.NewBaseline(res)); err != nil {
					return failure(err)
				}
				fmt.Fprintf(c.App.ErrWriter, "pgadvisor: %d findings recorded in %s\n", len(res.Findings), path)
			}
			if base != nil {
				base.Apply(res)
			}
			review.Tool.Version = audit.Version
			if path := c.String("output"); path != "" {
				if err := writeFileAtomic(path, func(w io.Writer) error { return print(w, res) }); err != nil {
					return failure(fmt.Errorf("write report: %w", err))
				}
			} else if err := print(c.App.Writer, res); err != nil {
				return failure(err)
			}
			if stagingErr != nil {
				// The offline findings are reported; the staging part is not.
				return failure(describe(stagingErr))
			}
			if c.String("write-baseline") != "" {
				return nil
			}
			if sev := advisor.Severity(failOn); sev.Rank() > 0 {
				for _, f := range res.Findings {
					if f.Severity.Rank() >= sev.Rank() {
						return &exitError{code: exitFindings}
					}
				}
			}
			return nil
		},
	}
}
