package pgstat

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

const viewsQuery = Marker + ` SELECT n.nspname::text, c.relname::text, pg_get_viewdef(c.oid, true)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'v' AND ` + userSchemas + `
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname`

// CollectViews reads the user views of the current database with their
// definitions, for Snapshot.Views (views of extensions, such as
// pg_stat_statements, are left out). The definition of a view that opens a
// connection (dblink) is redacted; other definitions keep their literals,
// which what-if needs (a partial index predicate).
func CollectViews(ctx context.Context, conn *pgx.Conn) ([]View, error) {
	rows, err := conn.Query(ctx, viewsQuery)
	if err != nil {
		return nil, fmt.Errorf("read views: %w", err)
	}
	defer rows.Close()
	var views []View
	for rows.Next() {
		var v View
		if err := rows.Scan(&v.Schema, &v.Name, &v.Definition); err != nil {
			return nil, fmt.Errorf("read views: %w", err)
		}
		if sqlfacts.CallsConnectionFunction(v.Definition) {
			// A view over dblink holds its connection string, password included.
			v.Definition = RedactStatement(v.Definition)
		}
		views = append(views, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read views: %w", err)
	}
	return views, nil
}
