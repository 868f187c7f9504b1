package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/urfave/cli/v2"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/audit"
	"github.com/pgadvisor/pgadvisor/fixtures/shop"
	"github.com/pgadvisor/pgadvisor/internal/cluster"
)

func demoCommand() *cli.Command {
	flags := append(outputFlags(),
		&cli.Float64Flag{Name: "scale", Value: 1, Usage: "fixture size: 1 is about a million rows"},
		&cli.DurationFlag{Name: "duration", Value: shop.DemoWorkload().Duration, Usage: "how long the shop workload runs at most"},
		&cli.IntFlag{Name: "clients", Value: shop.DemoWorkload().Clients, Usage: "concurrent workload clients"},
		&cli.IntFlag{Name: "top", Value: 20, Usage: "explain the `N` statements that cost the most time"},
		&cli.StringFlag{Name: "save-snapshot", Usage: "save the demo's snapshot to `FILE`"},
		&cli.BoolFlag{Name: "keep", Usage: "keep the throwaway server running after the report, until Ctrl-C, and print its DSN"},
	)
	return &cli.Command{
		Name:  "demo",
		Usage: "start a throwaway PostgreSQL, load the shop fixture, run its workload and audit it",
		Description: `The one-command tour: initdb into a temporary directory (as the postgres OS user
when run as root), load the shop fixture with its planted problems, run the
order-history API workload, audit it and print the report. Everything is removed
afterwards.`,
		Flags: flags,
		Action: func(c *cli.Context) error {
			if err := checkOutputFlags(c); err != nil {
				return err
			}
			return runDemo(c)
		},
	}
}

func loadShop(ctx context.Context, dsn string, scale float64) (shop.Stats, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return shop.Stats{}, err
	}
	defer conn.Close(context.Background())
	return shop.Load(ctx, conn, scale)
}

func runDemo(c *cli.Context) error {
	ctx := c.Context
	progress := func(format string, args ...any) { fmt.Fprintf(c.App.ErrWriter, "demo: "+format+"\n", args...) }
	start := time.Now()
	pg, err := cluster.Start(ctx, cluster.Options{})
	if err != nil {
		return failure(fmt.Errorf("start throwaway PostgreSQL: %w", err))
	}
	defer func() {
		if err := pg.Stop(); err != nil {
			progress("%v", err)
		}
	}()
	progress("PostgreSQL %d started in %s (%.1fs)", pg.Major, pg.Dir, time.Since(start).Seconds())
	dsn, err := pg.CreateDatabase(ctx, "shop")
	if err != nil {
		return failure(err)
	}
	if err := cluster.EnableQualstats(ctx, pg.DSN("postgres"), dsn, "shop"); err != nil {
		progress("no pg_qualstats (%v): the audit sees no parameter values (make deps installs it)", err)
	}
	t := time.Now()
	stats, err := loadShop(ctx, dsn, c.Float64("scale"))
	if err != nil {
		return failure(fmt.Errorf("load shop fixture: %w", err))
	}
	progress("shop fixture loaded: %d rows in %.1fs", stats.TotalRows, time.Since(t).Seconds())
	release, err := shop.HoldIdleInTransaction(ctx, dsn, 3)
	if err != nil {
		return failure(fmt.Errorf("hold idle transactions: %w", err))
	}
	defer release()
	t = time.Now()
	wopts := shop.DemoWorkload()
	wopts.Clients = c.Int("clients")
	wopts.Duration = c.Duration("duration")
	ws, err := shop.RunWorkload(ctx, dsn, wopts)
	if err != nil {
		return failure(fmt.Errorf("run shop workload: %w", err))
	}
	progress("workload: %d requests in %.1fs with %d clients", ws.Requests, time.Since(t).Seconds(), wopts.Clients)

	opts := audit.DefaultOptions()
	opts.DSN = dsn
	opts.Top = c.Int("top")
	opts.SampleWindow = 2 * time.Second
	opts.Advisor = advisor.DefaultOptions()
	t = time.Now()
	err = auditLive(c, opts, advisor.All(), nil)
	progress("audit took %.1fs; whole demo %.1fs", time.Since(t).Seconds(), time.Since(start).Seconds())
	if c.Bool("keep") {
		progress("server kept running: psql %q   (Ctrl-C to stop and remove it)", dsn)
		<-ctx.Done()
		if ctx.Err() == context.Canceled {
			return err
		}
	}
	return err
}
