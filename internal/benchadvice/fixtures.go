package benchadvice

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/fixtures/blog"
	"github.com/pgadvisor/pgadvisor/fixtures/rental"
	"github.com/pgadvisor/pgadvisor/fixtures/shop"
)

// Fixture is one planted fixture as the benchmark drives it: how to load it,
// the workload pgadvisor's audit sees, the workload that is measured, and
// the expert's index set.
type Fixture struct {
	Name string
	// Scaled is set when Load takes the scale (only the shop has sizes).
	Scaled bool
	// Load fills the connected, empty database.
	Load func(ctx context.Context, conn *pgx.Conn, scale float64) error
	// AuditWorkload is the workload pgadvisor audits, the same as the
	// fixture's acceptance test runs; auditRequests > 0 makes it smaller.
	AuditWorkload func(ctx context.Context, dsn string, auditRequests int) error
	// BenchWorkload is one measured run: requests requests of the fixture's
	// mix on one connection, deterministic.
	BenchWorkload func(ctx context.Context, dsn string, requests int) error
	// DefaultRequests is the size of one measured run (for rental: passes
	// of its fixed 1,154-statement workload).
	DefaultRequests int
	// ExpertSQL is the expert's index set (fixtures/<name>/EXPERT.sql).
	ExpertSQL string
	// Schema is the fixture's DDL without data (tests build ExpertSQL on it).
	Schema string
}

// Fixtures are the three fixtures, in the order the benchmark runs them.
func Fixtures() []Fixture {
	return []Fixture{
		{
			Name: "shop", Scaled: true,
			Load: func(ctx context.Context, conn *pgx.Conn, scale float64) error {
				_, err := shop.Load(ctx, conn, scale)
				return err
			},
			AuditWorkload: func(ctx context.Context, dsn string, n int) error {
				// TestAuditShop's workload: 4 clients, 800 requests each.
				w := shop.DemoWorkload()
				w.Duration = 5 * time.Minute
				w.Iterations = 800
				if n > 0 {
					w.Iterations = n
				}
				_, err := shop.RunWorkload(ctx, dsn, w)
				return err
			},
			BenchWorkload: func(ctx context.Context, dsn string, requests int) error {
				// One client: the requests run one after the other, so that
				// the machine's other work is the only noise. Seed 2: not
				// the parameters the audit saw.
				_, err := shop.RunWorkload(ctx, dsn, shop.WorkloadOptions{Clients: 1, Iterations: requests, Duration: time.Hour, Seed: 2})
				return err
			},
			DefaultRequests: 400,
			ExpertSQL:       shop.ExpertSQL(),
			Schema:          shop.Schema(),
		},
		{
			Name: "blog",
			Load: func(ctx context.Context, conn *pgx.Conn, _ float64) error {
				_, err := blog.Load(ctx, conn)
				return err
			},
			AuditWorkload: func(ctx context.Context, dsn string, n int) error {
				// TestAuditBlog's workload: 4 clients, 550 requests each.
				if n <= 0 {
					n = 550
				}
				_, err := blog.RunWorkload(ctx, dsn, 4, 5*time.Minute, n)
				return err
			},
			BenchWorkload: func(ctx context.Context, dsn string, requests int) error {
				_, err := blog.RunWorkload(ctx, dsn, 1, time.Hour, requests)
				return err
			},
			DefaultRequests: 400,
			ExpertSQL:       blog.ExpertSQL(),
			Schema:          blog.Schema(),
		},
		{
			Name: "rental",
			Load: func(ctx context.Context, conn *pgx.Conn, _ float64) error {
				_, err := rental.Load(ctx, conn)
				return err
			},
			AuditWorkload: func(ctx context.Context, dsn string, _ int) error {
				// TestAuditRental's workload: one pass, 1,154 executions.
				_, err := rental.RunWorkload(ctx, dsn)
				return err
			},
			BenchWorkload: func(ctx context.Context, dsn string, passes int) error {
				for i := 0; i < passes; i++ {
					if _, err := rental.RunWorkload(ctx, dsn); err != nil {
						return err
					}
				}
				return nil
			},
			DefaultRequests: 1,
			ExpertSQL:       rental.ExpertSQL(),
			Schema:          rental.Schema(),
		},
	}
}

// fixtureByName returns the fixture of that name.
func fixtureByName(name string) (Fixture, error) {
	for _, f := range Fixtures() {
		if f.Name == name {
			return f, nil
		}
	}
	return Fixture{}, fmt.Errorf("unknown fixture %q (shop, blog, rental)", name)
}
