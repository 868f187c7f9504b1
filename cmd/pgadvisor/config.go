package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/config"
	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/internal/strictjson"
)

// configFlag names the configuration file; without it the nearest
// .pgadvisor.yaml of the working directory or its parents is read. It is a
// global flag and a flag of every command that reads the configuration.
func configFlag() cli.Flag {
	return &cli.StringFlag{Name: "config", Usage: "read the configuration from `FILE` (default: the nearest " + config.FileName + " in the working directory or its parents)"}
}

// configPath is the --config given after the command or before it ("" when neither).
func configPath(c *cli.Context) string {
	for _, ctx := range c.Lineage() {
		if ctx.IsSet("config") {
			return ctx.String("config")
		}
	}
	return ""
}

// thresholdFlags are the flags that set a single threshold, by the path of
// the threshold.
var thresholdFlags = []struct{ flag, path string }{
	{"min-calls", "thresholds.min_calls"},
	{"log-min-repeats", "rules.n-plus-one.thresholds.n_plus_one_log_min_repeats"},
	{"log-min-ms", "rules.n-plus-one.thresholds.n_plus_one_log_min_ms"},
	{"max-new-indexes", "what_if.max_new_indexes"},
	{"storage-budget", "what_if.storage_budget"},
	{"min-cost-reduction", "what_if.min_cost_reduction"},
}

// loadConfig is the effective configuration of a command: the defaults,
// then the configuration file, then --thresholds FILE, then the flags that
// set single values. Every error is a usage error.
func loadConfig(c *cli.Context) (*config.Config, error) {
	path := configPath(c)
	if path == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, usageErr("find %s: %v", config.FileName, err)
		}
		if path, err = config.Find(wd); err != nil {
			return nil, usageErr("%v", err)
		}
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, configErr(err)
	}
	if file := flagString(c, "thresholds"); file != "" {
		if err := readThresholdsFile(cfg, file); err != nil {
			return nil, err
		}
	}
	var msgs []string
	for _, tf := range thresholdFlags {
		if !hasFlag(c, tf.flag) || !c.IsSet(tf.flag) {
			continue
		}
		t := thresholdAt(tf.path)
		var v float64
		given := fmt.Sprint(c.Value(tf.flag))
		switch tf.flag {
		case "storage-budget":
			given = c.String(tf.flag)
			n, err := num.ParseSize(given)
			if err != nil {
				msgs = append(msgs, fmt.Sprintf("--%s: %v", tf.flag, err))
				continue
			}
			v = float64(n)
		case "min-calls":
			v = float64(c.Int64(tf.flag))
		case "log-min-repeats", "max-new-indexes":
			v = float64(c.Int(tf.flag))
		default:
			v = c.Float64(tf.flag)
		}
		if err := cfg.SetThreshold(t, v, "--"+tf.flag); err != nil {
			msgs = append(msgs, fmt.Sprintf("--%s %s is out of range: %s", tf.flag, given, t.Range))
		}
	}
	if len(msgs) > 0 {
		return nil, usageErr("%s", strings.Join(msgs, "; "))
	}
	if hasFlag(c, "trust-functions") && c.IsSet("trust-functions") {
		cfg.SetTrustFunctions(trustFunctions(c.StringSlice("trust-functions")), "--trust-functions")
	}
	if err := cfg.Validate(); err != nil {
		return nil, configErr(err)
	}
	return cfg, nil
}

// configErr is the usage error of an invalid configuration: one problem on
// the line, several one per line below it.
func configErr(err error) error {
	msgs := strings.Split(err.Error(), "\n")
	if len(msgs) == 1 {
		return usageErr("configuration: %s", msgs[0])
	}
	return usageErr("configuration: %d problems:\n  %s", len(msgs), strings.Join(msgs, "\n  "))
}

// readThresholdsFile applies a --thresholds JSON file: a flat object of
// threshold keys (pgadvisor rules -v lists them); a key several rules share
// sets it for each of them.
func readThresholdsFile(cfg *config.Config, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return usageErr("read --thresholds: %v", err)
	}
	var values map[string]json.RawMessage
	if err := strictjson.Unmarshal(data, &values, false); err != nil {
		return usageErr("--thresholds %s: %v (keys are listed by pgadvisor rules -v)", path, err)
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var msgs []string
	for _, key := range keys {
		ts := advisor.FlatThresholds(key)
		if len(ts) == 0 {
			msgs = append(msgs, fmt.Sprintf("unknown threshold %q%s (keys are listed by pgadvisor rules -v)", key, suggestion(key, advisor.FlatKeys())))
			continue
		}
		var v float64
		if err := json.Unmarshal(values[key], &v); err != nil {
			msgs = append(msgs, fmt.Sprintf("%s: want a number, got %s", key, values[key]))
			continue
		}
		for _, t := range ts {
			if err := cfg.SetThreshold(t, v, "--thresholds "+path); err != nil {
				msgs = append(msgs, err.Error())
				break
			}
		}
	}
	if len(msgs) > 0 {
		return usageErr("--thresholds %s: %s", path, strings.Join(msgs, "; "))
	}
	return nil
}

// suggestion is "; did you mean X?" for the nearest of known, or "".
func suggestion(s string, known []string) string {
	if c := closest(s, known); c != "" {
		return "; did you mean " + c + "?"
	}
	return ""
}

// thresholdAt returns the threshold at a path; a path that is none is a
// programming error (TestThresholdFlags).
func thresholdAt(path string) advisor.Threshold {
	for _, t := range advisor.Thresholds() {
		if t.Path() == path {
			return t
		}
	}
	panic("no threshold at " + path)
}

// hasFlag reports whether the command (or the app) defines the flag.
func hasFlag(c *cli.Context, name string) bool {
	for _, ctx := range c.Lineage() {
		if ctx.Command != nil {
			for _, f := range ctx.Command.Flags {
				for _, n := range f.Names() {
					if n == name {
						return true
					}
				}
			}
		}
	}
	return false
}

// flagString is c.String for a flag the command may not define.
func flagString(c *cli.Context, name string) string {
	if !hasFlag(c, name) {
		return ""
	}
	return c.String(name)
}

func configCommand() *cli.Command {
	flags := []cli.Flag{configFlag()}
	flags = append(flags, sourceFlags()...)
	flags = append(flags, whatIfFlags()...)
	flags = append(flags,
		&cli.Int64Flag{Name: "min-calls", Value: 1, Usage: "ignore statements called fewer than `N` times"},
		&cli.StringSliceFlag{Name: "trust-functions", Usage: "user functions (`NAME,...`) the safety gate trusts"},
	)
	return &cli.Command{
		Name:  "config",
		Usage: "print the effective configuration and where each value comes from (default, " + config.FileName + ", a flag)",
		Description: `Reads the configuration as audit and explain do (the defaults, then ` + config.FileName + ` or --config FILE,
then --thresholds FILE, then the flags given here) and prints it as a configuration file,
each value followed by its source. Exits 2 when the configuration is invalid.`,
		Flags: flags,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usageErr("config takes no arguments (got %q)", c.Args().First())
			}
			cfg, err := loadConfig(c)
			if err != nil {
				return err
			}
			if err := cfg.Write(c.App.Writer); err != nil {
				return failure(fmt.Errorf("print configuration: %w", err))
			}
			return nil
		},
	}
}

// enabledRules drops the rules the configuration disables, except those
// --rules names (a flag overrides the file).
func enabledRules(c *cli.Context, cfg *config.Config, rules []*advisor.Rule) []*advisor.Rule {
	named := map[string]bool{}
	for _, v := range c.StringSlice("rules") {
		for _, id := range strings.Split(v, ",") {
			named[strings.TrimSpace(id)] = true
		}
	}
	var out []*advisor.Rule
	for _, r := range rules {
		if !cfg.Disabled[r.Name] || named[r.Name] {
			out = append(out, r)
		}
	}
	return out
}

// configAndRules loads the configuration and the rules a command runs:
// --rules (or all), less those the configuration disables and --rules does
// not name.
func configAndRules(c *cli.Context) (*config.Config, []*advisor.Rule, error) {
	cfg, err := loadConfig(c)
	if err != nil {
		return nil, nil, err
	}
	rules, err := selectedRules(c)
	if err != nil {
		return nil, nil, err
	}
	return cfg, enabledRules(c, cfg, rules), nil
}
