package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/audit"
	"github.com/pgadvisor/pgadvisor/config"
	"github.com/pgadvisor/pgadvisor/history"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/report"
)

func reportCommand() *cli.Command {
	flags := append([]cli.Flag{configFlag()}, connectionFlags()...)
	flags = append(flags,
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "output format: " + strings.Join(history.Formats(), ", ")},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the report to `FILE` instead of standard output"},
		&cli.StringFlag{Name: "history", Usage: "store each run under `DIR`/<target>/ and compare with the last run there"},
		&cli.StringFlag{Name: "target", Usage: "the target's `NAME` in the history (default: the database name)"},
		&cli.StringFlag{Name: "keep", Usage: "retention of the history: a number of runs (30) or an age (30d, 12h, 4w); default: keep everything"},
		&cli.StringFlag{Name: "from", Usage: "offline: the earlier saved snapshot `FILE` (audit --save-snapshot)"},
		&cli.StringFlag{Name: "to", Usage: "offline: the later saved snapshot `FILE`"},
		&cli.StringFlag{Name: "targets", Usage: "report on every database of the YAML `FILE` (name, dsn or service, optional config), each with its own history, and print an index"},
		&cli.IntFlag{Name: "parallel", Value: 4, Usage: "with --targets: report on `N` databases at a time"},
		&cli.BoolFlag{Name: "fail-on-regression", Usage: "exit 1 when a statement regressed or an error-level finding is new"},
		&cli.IntFlag{Name: "top", Value: 20, Usage: "explain the `N` statements that cost the most time"},
		&cli.DurationFlag{Name: "sample-window", Value: 3 * time.Second, Usage: "sample pg_stat_activity over this window (0: one sample)"},
		&cli.BoolFlag{Name: "no-what-if", Usage: "skip the hypothetical-index (HypoPG) evaluation"},
	)
	flags = append(flags, whatIfFlags()...)
	flags = append(flags, ruleSelectionFlags()...)
	return &cli.Command{
		Name:  "report",
		Usage: "the scheduled report: audit, store the run, and say what changed since the last one",
		Description: `With --dsn and --history DIR: audits the database, stores the snapshot and the
report under DIR/<target>/ (gzip, timestamped) and compares with the last run
there: per-statement deltas and verdicts (new, regressed, improved, unchanged,
gone), findings over time (new, persisting, fixed) and the measured effect of
indexes an earlier report proposed. With --from and --to: compares two saved
snapshots offline. Never resets pg_stat_statements.`,
		Flags:  flags,
		Action: runReport,
	}
}

func runReport(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErr("report takes no arguments (got %q)", c.Args().First())
	}
	print, ok := history.Printers[c.String("format")]
	if !ok {
		return usageErr("unknown --format %q: use one of %s", c.String("format"), strings.Join(history.Formats(), ", "))
	}
	var keep *history.Keep
	if s := c.String("keep"); s != "" {
		k, err := history.ParseKeep(s)
		if err != nil {
			return usageErr("%v", err)
		}
		keep = &k
	}
	cfg, rules, err := configAndRules(c)
	if err != nil {
		return err
	}
	offline := c.IsSet("from") || c.IsSet("to")
	if offline {
		if !c.IsSet("from") || !c.IsSet("to") {
			return usageErr("--from and --to go together: the earlier and the later snapshot")
		}
		if c.IsSet("dsn") || c.IsSet("history") {
			return usageErr("--from/--to compare saved snapshots offline: they exclude --dsn and --history")
		}
		return reportOffline(c, cfg, rules, print)
	}
	if !c.IsSet("history") {
		return usageErr("report needs --history DIR (where the runs are kept) or --from and --to (two saved snapshots)")
	}
	if c.IsSet("targets") && (c.IsSet("dsn") || c.IsSet("target")) {
		return usageErr("--targets names every database: it excludes --dsn and --target")
	}
	if c.Int("parallel") < 1 {
		return usageErr("--parallel must be 1 or more")
	}
	if t := c.String("target"); t != "" && !history.ValidTarget(t) {
		return usageErr("--target %q: use letters, digits, '.', '_' and '-'", t)
	}
	if c.Int("top") < 0 {
		return usageErr("--top must be 0 or more")
	}
	if c.IsSet("targets") {
		return reportFleet(c, cfg, rules, keep)
	}
	r, _, cerr, err := liveRun(c, cfg, rules, c.String("dsn"), c.String("target"), keep)
	if err != nil {
		return err
	}
	if err := emitHistory(c, print, r); err != nil {
		return err
	}
	if cerr != nil {
		return failure(describe(cerr))
	}
	return regressionExit(c, r)
}

// liveRun audits one database, compares with its history and stores the
// run; stored says where. cerr is a failed or incomplete collection (the
// report is still built and stored); err a failure that left no report.
func liveRun(c *cli.Context, cfg *config.Config, rules []*advisor.Rule, dsn, target string, keep *history.Keep) (r *history.Report, stored string, cerr, err error) {
	opts, err := liveOptions(c, cfg)
	if err != nil {
		return nil, "", nil, err
	}
	opts.DSN = dsn
	opts.Top = c.Int("top")
	opts.MinCalls = cfg.Options.MinCalls
	opts.SampleWindow = c.Duration("sample-window")
	snap, cerr := audit.Collect(c.Context, opts)
	if snap == nil {
		return nil, "", nil, failure(describe(cerr))
	}
	var ae *audit.Error
	if errors.As(cerr, &ae) && !hasProblem(snap, ae.Message) {
		snap.Problems = append(snap.Problems, pgstat.Problem{Phase: ae.Phase, Message: ae.Message, Fix: ae.Fix})
	}
	if cerr == nil {
		cerr = incomplete(snap)
	}
	if target == "" {
		target = history.TargetOf(snap.Database)
	}
	store, err := openHistory(c, target, snap)
	if err != nil {
		return nil, "", nil, failure(err)
	}
	defer store.Close(c.Context)
	prev, err := store.Latest(c.Context)
	if err != nil {
		return nil, "", nil, failure(err)
	}
	a := audit.Advise(snap, opts.Advisor, rules, "live")
	r = history.Compare(target, snap, a, prev, cfg.Options.Report)
	earlier, err := store.Reports(c.Context)
	if err != nil {
		return nil, "", nil, failure(err)
	}
	r.SetTrend(earlier)
	if stored, err = store.Save(c.Context, snap, r); err != nil {
		return nil, "", nil, failure(err)
	}
	if keep != nil {
		if _, err := store.Prune(c.Context, *keep, time.Now()); err != nil {
			return nil, "", nil, failure(err)
		}
	}
	return r, stored, cerr, nil
}

// openHistory opens --history: a directory, or with a postgres:// URL a
// database of the team's (refused when it is the audited one, snap's).
func openHistory(c *cli.Context, target string, snap *pgstat.Snapshot) (history.Backend, error) {
	h := c.String("history")
	if !pgHistory(h) {
		return history.Open(h, target)
	}
	id := history.Identity{Database: snap.Database}
	if snap.Server.StartedAt != nil {
		id.Started = *snap.Server.StartedAt
	}
	return history.OpenPG(c.Context, h, target, id)
}

// pgHistory reports whether --history names a PostgreSQL database.
func pgHistory(h string) bool {
	return strings.HasPrefix(h, "postgres://") || strings.HasPrefix(h, "postgresql://")
}

func reportOffline(c *cli.Context, cfg *config.Config, rules []*advisor.Rule, print history.Printer) error {
	// The later snapshot is read while the earlier one is read and audited;
	// its audit comes after, when its statements' texts (mostly the same)
	// are in sqlfacts' parse cache.
	var (
		to    *pgstat.Snapshot
		toErr error
		read  = make(chan struct{})
	)
	go func() {
		defer close(read)
		to, toErr = loadSnapshot(c.String("to"))
	}()
	from, err := loadSnapshot(c.String("from"))
	var fromAudit *report.Report
	if err == nil {
		fromAudit = audit.Advise(from, cfg.Options, rules, c.String("from"))
	}
	<-read
	if err != nil {
		return err
	}
	if toErr != nil {
		return toErr
	}
	if to.CollectedAt.Before(from.CollectedAt) {
		return usageErr("--to %s was collected (%s) before --from %s (%s): swap them", c.String("to"), to.CollectedAt.Format(time.RFC3339), c.String("from"), from.CollectedAt.Format(time.RFC3339))
	}
	target := c.String("target")
	if target == "" {
		target = history.TargetOf(to.Database)
	}
	// The earlier snapshot's own report is the baseline: its findings and
	// its cumulative numbers are the "before".
	base := history.Compare(target, from, fromAudit, nil, cfg.Options.Report)
	r := history.Compare(target, to, audit.Advise(to, cfg.Options, rules, c.String("to")), &history.Previous{Snapshot: from, Report: base}, cfg.Options.Report)
	r.SetTrend([]*history.Report{base})
	if err := emitHistory(c, print, r); err != nil {
		return err
	}
	return regressionExit(c, r)
}

func regressionExit(c *cli.Context, r *history.Report) error {
	if c.Bool("fail-on-regression") && r.Regressions() {
		return &exitError{code: exitFindings}
	}
	return nil
}

func emitHistory(c *cli.Context, print history.Printer, r *history.Report) error {
	if path := c.String("output"); path != "" {
		if err := writeFileAtomic(path, func(w io.Writer) error { return print(w, r) }); err != nil {
			return failure(fmt.Errorf("write report: %w", err))
		}
		return nil
	}
	if err := print(c.App.Writer, r); err != nil {
		return failure(err)
	}
	return nil
}
