package pgtest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// StandbyDB gives a test a fresh database (as DB does) on a primary and a
// hot standby of that primary: it returns the database's DSN on the primary,
// its DSN on the standby, and the standby, which is stopped when the test
// ends. The primary is the shared test cluster, or with PGADVISOR_TEST_DSN a
// throwaway cluster of its own (a standby needs the primary's files). What
// the test writes on the primary reaches the standby after standby.CatchUp.
// Without the binaries or pg_basebackup the test is skipped locally and
// fails under CI=true.
func StandbyDB(t testing.TB) (primaryDSN, standbyDSN string, standby *Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	primary := Shared(t)
	if primary == nil {
		p, err := Start(ctx, Options{})
		if err != nil {
			Unavailable(t, "%v", err)
		}
		t.Cleanup(func() { p.Stop() })
		primary = p
	}
	if _, err := os.Stat(filepath.Join(primary.BinDir, "pg_basebackup")); err != nil {
		Unavailable(t, "no pg_basebackup in %s to make a standby", primary.BinDir)
	}
	primaryDSN = dbOn(t, primary.DSN("postgres"))
	cfg, err := pgx.ParseConfig(primaryDSN)
	if err != nil {
		t.Fatalf("parse test database DSN: %v", err)
	}
	standby, err = primary.StartStandby(ctx)
	if err != nil {
		t.Fatalf("start standby: %v", err)
	}
	t.Cleanup(func() {
		if err := standby.Stop(); err != nil {
			t.Logf("stop standby: %v", err)
		}
	})
	return primaryDSN, standby.DSN(cfg.Database), standby
}
