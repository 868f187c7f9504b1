// Command bench-advice is the advice benchmark behind `make bench-advice`:
// on a throwaway PostgreSQL it loads each planted fixture, lets pgadvisor
// audit the fixture's workload, and measures the workload with no new
// index, with pgadvisor's "What to run" index set and with the set an expert
// wrote by hand (fixtures/<name>/EXPERT.sql), the arms alternating round by
// round. It prints a table per fixture and a PASS/FAIL line per criterion
// (pgadvisor's time ≤ the expert's, its index size ≤ the expert's); it
// exits non-zero on a FAIL only with -strict.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/pgadvisor/pgadvisor/internal/benchadvice"
	"github.com/pgadvisor/pgadvisor/internal/cluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK      = 0
	exitFail    = 1 // a criterion failed, with -strict
	exitFailure = 2 // the benchmark could not run
)

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench-advice", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fixtures := fs.String("fixtures", "shop,blog,rental", "fixtures to run, comma-separated")
	scale := fs.Float64("scale", 1, "the shop's scale (1: about a million rows); blog and rental have one size")
	rounds := fs.Int("rounds", 6, "measured rounds (each runs every arm once; 6 runs every order of the three arms once)")
	warmup := fs.Int("warmup", 1, "warm-up rounds, not counted")
	shopRequests := fs.Int("shop-requests", 0, "requests per measured shop run (0: the default, 400)")
	blogRequests := fs.Int("blog-requests", 0, "requests per measured blog run (0: the default, 400)")
	rentalPasses := fs.Int("rental-passes", 0, "passes of the rental workload per measured run (0: the default, 1)")
	statements := fs.Int("statements", 0, "list each arm's `N` heaviest statements")
	jsonPath := fs.String("json", "", "also write the result as JSON to `FILE`")
	tolerance := fs.Float64("tolerance", 0.01, "how much pgadvisor's median time may exceed the expert's and still pass, as a fraction of the baseline's (0.01: one point of the cut; 0: plain ≤)")
	strict := fs.Bool("strict", false, "exit 1 when pgadvisor loses on a criterion")
	if err := fs.Parse(args); err != nil {
		return exitFailure
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench-advice: unexpected argument %q\n", fs.Arg(0))
		return exitFailure
	}
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "bench-advice: "+format+"\n", a...) }

	pg, err := cluster.Start(ctx, cluster.Options{Settings: map[string]string{
		// Planning is part of the workload's time; nothing runs in the
		// background of one arm's measurement (the benchmark analyses itself).
		"pg_stat_statements.track_planning": "on",
		"autovacuum":                        "off",
	}})
	if err != nil {
		fmt.Fprintf(stderr, "bench-advice: start throwaway PostgreSQL: %v\n", err)
		return exitFailure
	}
	defer func() {
		if err := pg.Stop(); err != nil {
			progress("%v", err)
		}
	}()
	progress("PostgreSQL %d in %s", pg.Major, pg.Dir)
	opts := benchadvice.Options{
		AdminDSN:  pg.DSN("postgres"),
		Fixtures:  strings.Split(*fixtures, ","),
		Scale:     *scale,
		Rounds:    *rounds,
		Warmup:    *warmup,
		Tolerance: *tolerance,
		Requests:  map[string]int{"shop": *shopRequests, "blog": *blogRequests, "rental": *rentalPasses},
		Progress:  progress,
	}
	res, err := benchadvice.Run(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "bench-advice: %v\n", err)
		return exitFailure
	}
	if err := benchadvice.Print(stdout, res, benchadvice.PrintOptions{Statements: *statements}); err != nil {
		fmt.Fprintf(stderr, "bench-advice: %v\n", err)
		return exitFailure
	}
	if *jsonPath != "" {
		data, err := json.MarshalIndent(res, "", "  ")
		if err == nil {
			err = os.WriteFile(*jsonPath, append(data, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "bench-advice: write %s: %v\n", *jsonPath, err)
			return exitFailure
		}
	}
	if *strict && !res.Passed() {
		return exitFail
	}
	return exitOK
}
