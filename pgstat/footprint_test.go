package pgstat

import (
	"context"
	"fmt"
	"math"
	"os"
	"testing"
)

// TestConnectStopsOwnTracking: a superuser session, and on 15+ a role
// granted SET on pg_stat_statements.track, is not tracked; a role without
// that right stays tracked; the snapshot records the server's setting either
// way, and the superuser's session adds no pg_stat_statements entry at all.
func TestConnectStopsOwnTracking(t *testing.T) {
	dsn, admin := setup(t)
	ctx := context.Background()
	var server string
	if err := admin.QueryRow(ctx, "SELECT current_setting('pg_stat_statements.track')").Scan(&server); err != nil {
		t.Fatal(err)
	}
	if server == "none" {
		t.Fatalf("the test server does not track statements (pg_stat_statements.track = none)")
	}
	mustExec(t, admin, "SELECT pg_stat_statements_reset()")

	su := connect(t, dsn, ConnectOptions{})
	var track, utility string
	if err := su.QueryRow(ctx, "SELECT current_setting('pg_stat_statements.track'), current_setting('pg_stat_statements.track_utility')").Scan(&track, &utility); err != nil {
		t.Fatal(err)
	}
	if track != "none" || utility != "off" {
		t.Errorf("superuser session: track = %q, track_utility = %q; want none and off", track, utility)
	}
	snap := collect(t, su, CollectOptions{})
	if got := snap.Settings["pg_stat_statements.track"]; got != server {
		t.Errorf("snapshot records pg_stat_statements.track = %q, want the server's %q", got, server)
	}
	var own int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_statements WHERE query LIKE '%/* pgadvisor */%'
  AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&own); err != nil {
		t.Fatal(err)
	}
	if own != 0 {
		t.Errorf("a superuser's connect and collect left %d pgadvisor entries in pg_stat_statements, want 0", own)
	}

	role := fmt.Sprintf("pgadvisor_tracked_%d", os.Getpid())
	granted := role + "_set"
	mustExec(t, admin, fmt.Sprintf("CREATE ROLE %s LOGIN; GRANT pg_read_all_stats TO %[1]s; CREATE ROLE %s LOGIN", role, granted))
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), fmt.Sprintf("REVOKE SET ON PARAMETER pg_stat_statements.track FROM %s", granted))
		_, _ = admin.Exec(context.Background(), fmt.Sprintf("DROP ROLE IF EXISTS %s; DROP ROLE IF EXISTS %s", role, granted))
	})
	plain := connect(t, withUser(t, dsn, role), ConnectOptions{})
	var plainTrack string
	if err := plain.QueryRow(ctx, "SELECT current_setting('pg_stat_statements.track')").Scan(&plainTrack); err != nil {
		t.Fatal(err)
	}
	if plainTrack != server {
		t.Errorf("role without SET on the parameter: track = %q, want the server's %q", plainTrack, server)
	}
	if admin.PgConn().ParameterStatus("server_version") < "15" {
		return
	}
	mustExec(t, admin, fmt.Sprintf("GRANT SET ON PARAMETER pg_stat_statements.track TO %s", granted))
	withSet := connect(t, withUser(t, dsn, granted), ConnectOptions{})
	var setTrack string
	if err := withSet.QueryRow(ctx, "SELECT current_setting('pg_stat_statements.track')").Scan(&setTrack); err != nil {
		t.Fatal(err)
	}
	if setTrack != "none" {
		t.Errorf("role granted SET on pg_stat_statements.track: track = %q, want none", setTrack)
	}
	snap = collect(t, withSet, CollectOptions{})
	if got := snap.Settings["pg_stat_statements.track"]; got != server {
		t.Errorf("snapshot of the granted role records track = %q, want the server's %q", got, server)
	}
}

// TestCollectTotalsCountLeftOut: with more statements than MaxStatements,
// the snapshot's total and entry count cover all of them (pgadvisor's own
// left out), so that the kept statements' shares are fractions of all the
// time.
func TestCollectTotalsCountLeftOut(t *testing.T) {
	dsn, admin := setup(t)
	ctx := context.Background()
	mustExec(t, admin, "SELECT pg_stat_statements_reset()")
	for i := 1; i <= 30; i++ {
		// 30 distinct statements (a different number of columns each).
		cols := "id"
		for k := 1; k < i; k++ {
			cols += ", id"
		}
		mustExec(t, admin, fmt.Sprintf("SELECT %s FROM shop.orders WHERE customer_id = $1", cols), i)
	}
	conn := connect(t, dsn, ConnectOptions{})
	snap := collect(t, conn, CollectOptions{MaxStatements: 10})
	// The server's view, read after Collect with tracking off, so that
	// nothing is added in between.
	check := connect(t, dsn, ConnectOptions{})
	var entries int
	var total float64
	if err := check.QueryRow(ctx, `SELECT count(*), sum(total_exec_time + total_plan_time) FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query NOT LIKE '%/* pgadvisor */%'`).Scan(&entries, &total); err != nil {
		t.Fatal(err)
	}
	ss := snap.StatStatements
	if ss == nil || ss.TotalTime == nil || ss.Entries == nil {
		t.Fatalf("snapshot records no totals: %+v", ss)
	}
	if len(snap.Statements) != 10 {
		t.Fatalf("%d statements kept, want 10", len(snap.Statements))
	}
	if entries < 31 || *ss.Entries != entries {
		t.Errorf("snapshot counts %d entries, the server %d (want at least the 30 statements and the reset)", *ss.Entries, entries)
	}
	if math.Abs(*ss.TotalTime-total) > 1e-6*math.Max(total, 1) {
		t.Errorf("snapshot total %.6f ms, the server's %.6f ms", *ss.TotalTime, total)
	}
	kept := 0.0
	for _, s := range snap.Statements {
		kept += s.TotalTime()
	}
	if !(kept < *ss.TotalTime) {
		t.Errorf("the kept statements' time %.6f is not below the total %.6f: the left-out statements are not counted", kept, *ss.TotalTime)
	}
}
