// Package pgtest gives tests a real PostgreSQL: one throwaway cluster
// (package cluster) per test binary, or the server of PGADVISOR_TEST_DSN,
// and a fresh database per test. A missing server skips a test locally and
// fails it under CI=true. Only tests import it: it imports package testing.
package pgtest

import (
	"context"

	"github.com/pgadvisor/pgadvisor/internal/cluster"
)

// Cluster is a running throwaway PostgreSQL (cluster.Cluster).
type Cluster = cluster.Cluster

// Options configure a throwaway cluster (cluster.Options).
type Options = cluster.Options

// Start starts a throwaway cluster (cluster.Start).
func Start(ctx context.Context, opts Options) (*Cluster, error) { return cluster.Start(ctx, opts) }

// CreateDatabase creates database name on the server of adminDSN and returns its DSN.
func CreateDatabase(ctx context.Context, adminDSN, name string) (string, error) {
	return cluster.CreateDatabase(ctx, adminDSN, name)
}
