package pgtest

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestDBHasStatStatements(t *testing.T) {
	dsn := DB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var preload string
	if err := conn.QueryRow(ctx, "SHOW shared_preload_libraries").Scan(&preload); err != nil {
		t.Fatal(err)
	}
	// pg_qualstats is loaded too where it is installed (make deps), and
	// then off until a session turns it on.
	if preload != "pg_stat_statements" && preload != "pg_stat_statements,pg_qualstats" {
		t.Errorf("shared_preload_libraries = %q", preload)
	}
	if InCI() && preload != "pg_stat_statements,pg_qualstats" {
		t.Errorf("under CI=true pg_qualstats must be installed and loaded (scripts/deps.sh): shared_preload_libraries = %q", preload)
	}
	if strings.Contains(preload, "pg_qualstats") {
		var enabled string
		if err := conn.QueryRow(ctx, "SHOW pg_qualstats.enabled").Scan(&enabled); err != nil || enabled != "off" {
			t.Errorf("pg_qualstats.enabled = %q (%v), want off by default", enabled, err)
		}
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_statements").Scan(&n); err != nil {
		t.Fatalf("pg_stat_statements not usable: %v", err)
	}
}
