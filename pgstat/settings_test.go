package pgstat

import (
	"context"
	"testing"
	"time"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
)

// TestSettingsAreTheServers checks that the snapshot records the timeouts
// other sessions get, not the ones pgadvisor sets for itself.
func TestSettingsAreTheServers(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx := context.Background()
	conn, err := Connect(ctx, dsn, ConnectOptions{StatementTimeout: 7 * time.Second, LockTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var own string
	if err := conn.QueryRow(ctx, "SHOW statement_timeout").Scan(&own); err != nil {
		t.Fatal(err)
	}
	if own != "7s" {
		t.Fatalf("pgadvisor's own statement_timeout = %q, want 7s", own)
	}
	snap, err := Collect(ctx, conn, CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"statement_timeout": "0", "lock_timeout": "0", "idle_in_transaction_session_timeout": "0"} {
		if got := snap.Settings[name]; got != want {
			t.Errorf("%s = %q, want the server's %q", name, got, want)
		}
	}
}
