package cluster

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// DropDatabase drops a test database, terminating its sessions first; errors
// are ignored because the cluster is thrown away anyway.
func DropDatabase(ctx context.Context, adminDSN, name string) {
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}
