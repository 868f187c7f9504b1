package main

import (
	"github.com/urfave/cli/v2"

	"github.com/pgadvisor/pgadvisor/advisor"
)

// whatIfFlags set the what-if engine's options; loadConfig applies them over
// the configuration (what_if: in .pgadvisor.yaml), which is the one source
// of those options for the live evaluation and the offline re-run.
func whatIfFlags() []cli.Flag {
	d := advisor.DefaultOptions().WhatIf
	return []cli.Flag{
		&cli.BoolFlag{Name: "install-hypopg", Usage: "run CREATE EXTENSION hypopg when the package is installed but the extension is not (never by default)"},
		&cli.IntFlag{Name: "max-new-indexes", Value: d.MaxNewIndexes, Usage: "recommend at most `N` new indexes (0: no cap)"},
		&cli.StringFlag{Name: "storage-budget", Usage: "cap the estimated size of the recommended indexes, e.g. 500MB, 2GB (default: no cap)"},
		&cli.Float64Flag{Name: "min-cost-reduction", Value: d.MinCostReduction, Usage: "an index must cut a statement's planner cost by this `FRACTION`"},
		&cli.BoolFlag{Name: "verify", Usage: "STAGING ONLY: build the chosen indexes for real inside a transaction (blocks writes to those tables), EXPLAIN ANALYZE before and after, roll back"},
	}
}
