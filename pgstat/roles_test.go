package pgstat

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
)

// TestCollectRoleSettings checks that ALTER ROLE … SET and ALTER ROLE … IN
// DATABASE … SET reach Snapshot.RoleSettings, the database-specific value
// winning, other databases' values and unlisted settings left out, and that
// the snapshot still round-trips through JSON.
func TestCollectRoleSettings(t *testing.T) {
	dsn, admin := setup(t)
	var db string
	if err := admin.QueryRow(context.Background(), "SELECT current_database()").Scan(&db); err != nil {
		t.Fatal(err)
	}
	app := fmt.Sprintf("pgadvisor_app_%d", os.Getpid())
	other := fmt.Sprintf("pgadvisor_Other_%d", os.Getpid())
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), pgtest.AdminDSN(t))
		if err == nil {
			for _, r := range []string{app, other} {
				_, _ = conn.Exec(context.Background(), "DROP ROLE IF EXISTS "+QuoteIdent(r))
			}
			conn.Close(context.Background())
		}
	})
	for _, sql := range []string{
		"DROP ROLE IF EXISTS " + app, "DROP ROLE IF EXISTS " + QuoteIdent(other),
		"CREATE ROLE " + app, "CREATE ROLE " + QuoteIdent(other),
		// Role-wide, then overridden in this database.
		"ALTER ROLE " + app + " SET work_mem = '1MB'",
		"ALTER ROLE " + app + " IN DATABASE " + QuoteIdent(db) + " SET work_mem = '64kB'",
		"ALTER ROLE " + app + " SET jit = off",
		"ALTER ROLE " + app + " SET statement_timeout = '30s'",
		// Not one of RoleSettingNames.
		"ALTER ROLE " + app + " SET random_page_cost = 1.1",
		// Another database's value does not apply here.
		"ALTER ROLE " + QuoteIdent(other) + " IN DATABASE postgres SET work_mem = '128MB'",
		"ALTER ROLE " + QuoteIdent(other) + " SET hash_mem_multiplier = 4",
	} {
		mustExec(t, admin, sql)
	}
	snap := collect(t, connect(t, dsn, ConnectOptions{}), CollectOptions{})
	if _, ok := snap.Timings[PhaseRoles]; !ok {
		t.Errorf("no timing for phase %s: %v", PhaseRoles, snap.Timings)
	}
	for _, p := range snap.Problems {
		if p.Phase == PhaseRoles {
			t.Errorf("problem: %+v", p)
		}
	}
	if want := map[string]string{"work_mem": "64kB", "jit": "off", "statement_timeout": "30s"}; !reflect.DeepEqual(snap.RoleSettings[app], want) {
		t.Errorf("RoleSettings[%s] = %v, want %v", app, snap.RoleSettings[app], want)
	}
	if want := map[string]string{"hash_mem_multiplier": "4"}; !reflect.DeepEqual(snap.RoleSettings[other], want) {
		t.Errorf("RoleSettings[%s] = %v, want %v", other, snap.RoleSettings[other], want)
	}

	var buf bytes.Buffer
	if err := snap.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"role_settings"`)) {
		t.Error("role_settings missing from the JSON")
	}
	back, err := Read(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(snap, back) {
		t.Fatalf("round trip is not lossless: %v / %v", snap.RoleSettings, back.RoleSettings)
	}
}
