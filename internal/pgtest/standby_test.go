package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestStandbyStreams checks that StandbyDB gives a streaming hot standby:
// in recovery, read-only, and showing rows committed on the primary after
// CatchUp.
func TestStandbyStreams(t *testing.T) {
	start := time.Now()
	primaryDSN, standbyDSN, standby := StandbyDB(t)
	t.Logf("standby started and caught up in %s", time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	p, err := pgx.Connect(ctx, primaryDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if _, err := p.Exec(ctx, "CREATE TABLE replicated AS SELECT generate_series(1, 1000) AS n"); err != nil {
		t.Fatal(err)
	}
	caught := time.Now()
	if err := standby.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("caught up with a 1000-row table in %s", time.Since(caught).Round(time.Millisecond))
	s, err := pgx.Connect(ctx, standbyDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	var inRecovery bool
	var n int
	if err := s.QueryRow(ctx, "SELECT pg_is_in_recovery(), (SELECT count(*) FROM replicated)").Scan(&inRecovery, &n); err != nil {
		t.Fatal(err)
	}
	if !inRecovery || n != 1000 {
		t.Errorf("standby: in recovery %v, %d rows replicated, want true and 1000", inRecovery, n)
	}
	if _, err := s.Exec(ctx, "CREATE TABLE not_here (n int)"); err == nil {
		t.Error("the standby accepted a write")
	}
	if standby.Port == standby.Primary.Port || standby.Dir == standby.Primary.Dir {
		t.Errorf("standby shares the primary's port or directory")
	}
}
