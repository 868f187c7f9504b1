package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/audit"
	"github.com/pgadvisor/pgadvisor/config"
	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/strictjson"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

func explainCommand() *cli.Command {
	flags := append([]cli.Flag{configFlag()}, connectionFlags()...)
	flags = append(flags, outputFlags()...)
	flags = append(flags,
		&cli.StringFlag{Name: "file", Usage: "read the statement from `FILE` (- for standard input)"},
		&cli.StringFlag{Name: "plan", Usage: "offline: advise on a saved plan `FILE` (EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) output) instead of a database; the statement is optional"},
		&cli.BoolFlag{Name: "no-what-if", Usage: "skip the hypothetical-index (HypoPG) evaluation"},
	)
	flags = append(flags, whatIfFlags()...)
	flags = append(flags, ruleSelectionFlags()...)
	return &cli.Command{
		Name:      "explain",
		Usage:     "advise on one statement against a live database: parse, plan, what-if indexes, findings",
		ArgsUsage: `"SQL"`,
		Description: `Plans one statement (EXPLAIN ANALYZE only through the safety gate; a generic plan
for $n parameters), tries hypothetical indexes with HypoPG and reports the findings
in the same formats as audit. Example:
   pgadvisor explain --dsn "$DSN" "SELECT * FROM shop.orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20"`,
		Flags: flags,
		Action: func(c *cli.Context) error {
			if err := checkOutputFlags(c); err != nil {
				return err
			}
			cfg, rules, err := configAndRules(c)
			if err != nil {
				return err
			}
			if path := c.String("plan"); path != "" {
				return explainSavedPlan(c, path, cfg, rules)
			}
			if !c.IsSet("rules") {
				rules = statementRules(rules)
			}
			sql, err := statementArg(c)
			if err != nil {
				return err
			}
			opts, err := liveOptions(c, cfg)
			if err != nil {
				return err
			}
			// One statement is the whole workload: no time or call thresholds.
			opts.Advisor.MinCalls, opts.Advisor.MinShare, opts.Advisor.MinTotalMS = 0, 0, 0
			snap, err := audit.CollectOne(c.Context, sql, opts)
			var ae *audit.Error
			if errors.As(err, &ae) && ae.Phase == "parse" {
				return usageErr("%v", ae)
			}
			if snap == nil {
				return failure(describe(err))
			}
			r := audit.Advise(snap, opts.Advisor, rules, "statement")
			if eerr := emit(c, r); eerr != nil && err == nil {
				return eerr
			}
			if err != nil {
				return failure(describe(err))
			}
			// The statement is the whole point: when it could not be planned
			// (undefined table, permission, refused by the safety gate) the
			// run failed, whatever else was reported.
			if len(snap.Plans) == 1 && snap.Plans[0].Plan == nil {
				if p := snap.Plans[0]; p.Error != "" {
					return failure(fmt.Errorf("explain: %s", p.Error))
				} else if p.Skipped != "" {
					return failure(fmt.Errorf("explain: not planned: %s", p.Skipped))
				}
			}
			return nil
		},
	}
}

// statementArg returns the statement from the argument, --file, or stdin.
func statementArg(c *cli.Context) (string, error) {
	path := c.String("file")
	switch {
	case path != "" && c.NArg() > 0:
		return "", usageErr("give the statement as an argument or with --file, not both")
	case path == "-":
		data, err := readAll(c.App.Reader)
		if err != nil {
			return "", usageErr("read statement from standard input: %v", err)
		}
		return checkStatement(string(data))
	case path != "":
		data, err := os.ReadFile(path)
		if err != nil {
			return "", usageErr("read statement: %v", err)
		}
		return checkStatement(string(data))
	case c.NArg() == 1:
		return checkStatement(c.Args().First())
	case c.NArg() > 1:
		return "", usageErr("explain takes one statement; quote it: pgadvisor explain \"SELECT ...\"")
	}
	return "", usageErr("no statement: pgadvisor explain \"SELECT ...\" or --file query.sql")
}

func checkStatement(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", usageErr("the statement is empty")
	}
	if facts, err := sqlfacts.Analyze(s); err == nil && facts.Statements > 1 {
		return "", usageErr("the text holds %d statements: explain takes one (pgadvisor audit reads a whole workload)", facts.Statements)
	}
	return s, nil
}

// explainSavedPlan advises on a saved EXPLAIN (FORMAT JSON) plan, offline:
// the plan rules run on it (and the SQL rules on the statement, when given);
// rules that need the catalog stay silent, as there is none.
func explainSavedPlan(c *cli.Context, path string, cfg *config.Config, rules []*advisor.Rule) error {
	if c.IsSet("dsn") {
		return usageErr("--plan is advised offline: it excludes --dsn")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return usageErr("read plan: %v", err)
	}
	// Without a byte order mark or psql's frame (QUERY PLAN, "+"), parse
	// first: it explains what is not EXPLAIN JSON (text output, say); then
	// the keys EXPLAIN never repeats, and the numbers.
	data = explain.Unframe(data)
	plan, err := explain.Parse(data)
	if err == nil {
		err = strictjson.Check(data)
	}
	if err == nil {
		err = pgstat.ValidatePlan(plan)
	}
	if err != nil {
		return usageErr("plan %s: %v", path, err)
	}
	sql := ""
	if c.NArg() > 0 || c.IsSet("file") {
		if sql, err = statementArg(c); err != nil {
			return err
		}
	}
	ms := plan.ExecutionTime
	if ms <= 0 {
		ms = 1
	}
	mode := explain.ModePlain
	if plan.Analyzed() {
		mode = explain.ModeAnalyze
	}
	snap := pgstat.New()
	snap.Statements = []pgstat.Statement{{Query: sql, Calls: 1, TotalExecTime: ms, MeanExecTime: ms, TopLevel: true}}
	snap.Plans = []explain.Result{{QueryID: "0", Query: sql, Mode: mode, Plan: plan}}
	opts := cfg.Options
	opts.MinCalls, opts.MinShare, opts.MinTotalMS = 0, 0, 0
	return emit(c, audit.Advise(snap, opts, rules, path))
}

// statementRules leaves out the database-wide rules (index hygiene, the
// sessions' activity): explain is about its one statement. --rules names
// them explicitly when they are wanted.
func statementRules(rules []*advisor.Rule) []*advisor.Rule {
	var out []*advisor.Rule
	for _, r := range rules {
		if r.Family != "catalog" && r.Family != "activity" {
			out = append(out, r)
		}
	}
	return out
}
