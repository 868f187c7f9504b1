package pgstat

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// RoleSettingNames are the per-role settings Collect reads from
// pg_db_role_setting: the ones the rules size or judge a statement by.
var RoleSettingNames = []string{
	"work_mem", "hash_mem_multiplier", "jit", "statement_timeout", "idle_in_transaction_session_timeout",
}

// CollectRoleSettings reads the settings of RoleSettingNames that ALTER ROLE
// … SET (role-wide) and ALTER ROLE … IN DATABASE … SET (this database) give
// each role, as written in pg_db_role_setting.setconfig (e.g. "64kB"): role
// name → setting name → value. A database-specific value wins over a
// role-wide one, as it does when a session starts. Settings of ALTER DATABASE
// … SET (all roles) are not included: the server settings already show them.
// The map is nil when no role has such a setting.
func CollectRoleSettings(ctx context.Context, conn *pgx.Conn) (map[string]map[string]string, error) {
	rows, err := conn.Query(ctx, Marker+` SELECT r.rolname::text, s.setdatabase <> 0, c.cfg
FROM pg_db_role_setting s
JOIN pg_roles r ON r.oid = s.setrole
CROSS JOIN LATERAL unnest(s.setconfig) AS c(cfg)
WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
ORDER BY r.rolname, s.setdatabase <> 0`)
	if err != nil {
		return nil, fmt.Errorf("read pg_db_role_setting: %w", err)
	}
	defer rows.Close()
	var out map[string]map[string]string
	for rows.Next() {
		var role, cfg string
		var inDatabase bool
		if err := rows.Scan(&role, &inDatabase, &cfg); err != nil {
			return nil, fmt.Errorf("read pg_db_role_setting: %w", err)
		}
		name, value, ok := strings.Cut(cfg, "=")
		if !ok || !slices.Contains(RoleSettingNames, name) {
			continue
		}
		if out == nil {
			out = map[string]map[string]string{}
		}
		if out[role] == nil {
			out[role] = map[string]string{}
		}
		// Rows come role-wide first, so a database-specific value overwrites.
		out[role][name] = value
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read pg_db_role_setting: %w", err)
	}
	return out, nil
}

// collectRoleSettings fills Snapshot.RoleSettings.
func (c *collector) collectRoleSettings(ctx context.Context) error {
	settings, err := CollectRoleSettings(ctx, c.conn)
	if err != nil {
		return err
	}
	c.snap.RoleSettings = settings
	return nil
}
