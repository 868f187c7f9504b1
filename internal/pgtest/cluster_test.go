package pgtest

import (
	"context"
	"os"
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
	if preload != "pg_stat_statements" {
		t.Errorf("shared_preload_libraries = %q", preload)
	}
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_statements").Scan(&n); err != nil {
		t.Fatalf("pg_stat_statements not usable: %v", err)
	}
}

func TestWithDatabase(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"host=/tmp port=5 dbname=postgres", "host=/tmp port=5 dbname=x"},
		{"postgres://u@h:5/postgres?sslmode=disable", "postgres://u@h:5/x?sslmode=disable"},
		{"postgres://u@h:5", "postgres://u@h:5/x"},
	} {
		if got := withDatabase(c.in, "x"); got != c.want {
			t.Errorf("withDatabase(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestReapOrphans(t *testing.T) {
	ctx := context.Background()
	c, err := Start(ctx, Options{})
	if err != nil {
		Unavailable(t, "%v", err)
	}
	defer c.Stop()
	// Pretend the owner died: a pid that cannot exist.
	if err := os.WriteFile(c.Dir+"/"+ownerFile, []byte("999999999"), 0o644); err != nil {
		t.Fatal(err)
	}
	c2, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Stop()
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Errorf("orphan cluster %s was not removed", c.Dir)
	}
	if _, err := os.Stat(c2.Dir); err != nil {
		t.Errorf("the new cluster's directory is gone: %v", err)
	}
	if shared != nil {
		if _, err := os.Stat(shared.Dir); err != nil {
			t.Errorf("the live shared cluster was reaped: %v", err)
		}
	}
}
