package main

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
)

// loggingCluster starts a cluster of the test's own that logs every
// statement in the stderr format --log reads (session id and user in the
// prefix), with a database named db; it returns the cluster, the database's
// DSN and a connection to it, all closed when the test ends.
func loggingCluster(t *testing.T, ctx context.Context, db string) (*pgtest.Cluster, string, *pgx.Conn) {
	t.Helper()
	cluster, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{
		"log_min_duration_statement": "0",
		"log_line_prefix":            "'%m [%p] %c %q%u@%d '",
	}})
	if err != nil {
		pgtest.Unavailable(t, "%v", err)
	}
	t.Cleanup(func() { cluster.Stop() })
	dsn, err := cluster.CreateDatabase(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return cluster, dsn, conn
}
