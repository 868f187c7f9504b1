package advisor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

var workloadCaseDirs = regexp.MustCompile(`^(n-plus-one|unbatched-writes|unbounded-result|pool-exhaustion|denormalization)-`)

// TestWorkloadFixSQLIsValid runs every fix of the workload golden cases on a
// database with the recorded schema: statements with $n are prepared (parsed,
// analysed and typed by the server), the others (materialised views, their
// unique indexes, REFRESH … CONCURRENTLY) executed. Settings and role changes
// and COPY are left out.
func TestWorkloadFixSQLIsValid(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	mustExec(ctx, t, conn, workloadSchema)
	dirs, _ := filepath.Glob("testdata/*/snapshot.json")
	checked := 0
	for _, path := range dirs {
		name := filepath.Base(filepath.Dir(path))
		if !workloadCaseDirs.MatchString(name) {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := pgstat.Read(data)
		if err != nil {
			t.Fatal(err)
		}
		res := Run(snap, []*Rule{NPlusOne, UnbatchedWrites, UnboundedResult, PoolExhaustion, Denormalization}, DefaultOptions())
		checked += checkFixSQL(ctx, t, conn, name, res.Findings)
	}
	if checked < 10 {
		t.Errorf("checked only %d fix statements", checked)
	}
}

// checkFixSQL runs the fix statements of findings on conn: with $n they are
// prepared, without they are executed; settings, role changes and COPY are
// left out. It returns the number of statements checked.
func checkFixSQL(ctx context.Context, t *testing.T, conn *pgx.Conn, name string, findings []Finding) int {
	t.Helper()
	checked := 0
	for _, f := range findings {
		if f.Fix == nil {
			continue
		}
		for _, block := range f.Fix.SQL {
			for _, stmt := range sqlStatements(block) {
				upper := strings.ToUpper(stmt)
				switch {
				case strings.HasPrefix(upper, "ALTER SYSTEM"), strings.HasPrefix(upper, "ALTER ROLE"),
					strings.HasPrefix(upper, "SELECT PG_RELOAD_CONF"), strings.HasPrefix(upper, "COPY"), upper == "RELOAD":
					continue
				}
				var err error
				if paramRef.MatchString(stmt) {
					_, err = conn.Exec(ctx, "PREPARE fix_check AS "+stmt)
					if err == nil {
						_, err = conn.Exec(ctx, "DEALLOCATE fix_check")
					}
				} else {
					_, err = conn.Exec(ctx, stmt)
				}
				if err != nil {
					t.Errorf("%s: %s fix does not run: %v\n%s", name, f.Rule, err, stmt)
				}
				checked++
			}
		}
	}
	return checked
}

// sqlStatements splits a fix block into statements, without comment lines.
func sqlStatements(block string) []string {
	var lines []string
	for _, l := range strings.Split(block, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	var out []string
	for _, s := range strings.Split(strings.Join(lines, "\n"), ";\n") {
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), ";"))
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// TestPoolExhaustionLive holds sessions idle in transaction and a lock
// waiter on the throwaway cluster, samples pg_stat_activity, and checks the
// findings name exactly those sessions; after they end, nothing is found.
func TestPoolExhaustionLive(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	setup := mustConnect(ctx, t, dsn, "setup")
	defer setup.Close(ctx)
	mustExec(ctx, t, setup, "CREATE TABLE accounts (id int PRIMARY KEY, balance int); INSERT INTO accounts SELECT g, 0 FROM generate_series(1, 10) g")
	app := "pool-test-" + strconv.Itoa(os.Getpid())
	var held []*pgx.Conn
	var pids []string
	for i := 0; i < 3; i++ {
		c := mustConnect(ctx, t, dsn, app)
		defer c.Close(ctx)
		mustExec(ctx, t, c, "BEGIN")
		mustExec(ctx, t, c, "UPDATE accounts SET balance = balance + 1 WHERE id = $1", i+1)
		held = append(held, c)
		pids = append(pids, strconv.Itoa(int(c.PgConn().PID())))
	}
	waiter := mustConnect(ctx, t, dsn, app+"-waiter")
	defer waiter.Close(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := waiter.Exec(ctx, "UPDATE accounts SET balance = 0 WHERE id = 1")
		done <- err
	}()
	time.Sleep(1200 * time.Millisecond)

	opts := DefaultOptions()
	opts.PoolExhaustion.IdleInTxWarnSeconds = 1 // the sessions have been idle about 1.2 s
	opts.PoolExhaustion.LockWaitSeconds = 0.5
	snap := sampleActivity(ctx, t, dsn)
	res := Run(snap, []*Rule{PoolExhaustion}, opts)
	var idle, lock *Finding
	for i, f := range res.Findings {
		switch {
		case strings.Contains(f.Message, app+" / ") && strings.Contains(f.Message, "idle in transaction"):
			idle = &res.Findings[i]
		case strings.Contains(f.Message, "on a lock"):
			lock = &res.Findings[i]
		}
	}
	if idle == nil {
		t.Fatalf("no idle-in-transaction finding for %s: %+v", app, res.Findings)
	}
	if idle.Severity != SeverityError || fmt.Sprint(idle.Evidence["pids"]) != fmt.Sprint(pids) {
		t.Errorf("severity %s, pids %v; want error (3 sessions) and %v", idle.Severity, idle.Evidence["pids"], pids)
	}
	if sql := strings.Join(idle.Fix.SQL, "\n"); !strings.Contains(sql, "idle_in_transaction_session_timeout = '60s'") || !strings.Contains(sql, "pg_terminate_backend") {
		t.Errorf("fix: %s", sql)
	}
	if lock == nil {
		t.Fatalf("no lock-wait finding: %+v", res.Findings)
	}
	if fmt.Sprint(lock.Evidence["blocking_pids"]) != fmt.Sprint(pids[:1]) {
		t.Errorf("blocking pids %v, want %v", lock.Evidence["blocking_pids"], pids[:1])
	}

	// Control: the same sessions after COMMIT.
	for _, c := range held {
		mustExec(ctx, t, c, "COMMIT")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	snap = sampleActivity(ctx, t, dsn)
	for _, f := range Run(snap, []*Rule{PoolExhaustion}, opts).Findings {
		if strings.Contains(f.Message, app) || strings.Contains(f.Message, "on a lock") {
			t.Errorf("finding after commit: %s", f.Message)
		}
	}
}

// sampleActivity collects one pg_stat_activity sample (and the settings) as
// pgadvisor does.
func sampleActivity(ctx context.Context, t *testing.T, dsn string) *pgstat.Snapshot {
	t.Helper()
	admin, err := pgstat.Connect(ctx, dsn, pgstat.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	snap, err := pgstat.Collect(ctx, admin, pgstat.CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Activity) == 0 {
		t.Fatal("no activity sample")
	}
	return snap
}

// TestPgBouncerWaiting starts a real PgBouncer (pool size 1, transaction
// mode) in front of the throwaway cluster, makes one client wait behind
// another's open transaction, reads SHOW POOLS / SHOW STATS with
// pgstat.ReadPgBouncer and checks the finding.
func TestPgBouncerWaiting(t *testing.T) {
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if _, e := os.Stat("/usr/sbin/pgbouncer"); e != nil {
			pgtest.Unavailable(t, "pgbouncer is not installed (apt-get install pgbouncer)")
		}
		bin = "/usr/sbin/pgbouncer"
	}
	cluster := pgtest.Shared(t)
	if cluster == nil {
		// Only with PGADVISOR_TEST_DSN (never set by CI); under CI the
		// shared cluster exists or AdminDSN has already failed the test.
		t.Skip("PGADVISOR_TEST_DSN is set: no local cluster socket for PgBouncer")
	}
	dsn := pgtest.DB(t)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	dir, err := os.MkdirTemp("", "pgadvisor-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	port := cluster.Port + 1
	ini := fmt.Sprintf(`[databases]
%s = host=%s port=%d dbname=%s
[pgbouncer]
listen_addr =
listen_port = %d
unix_socket_dir = %s
auth_type = trust
auth_file = %s/users.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = 1
max_client_conn = 20
logfile = %s/pgbouncer.log
pidfile = %s/pgbouncer.pid
`, cfg.Database, cluster.Dir, cluster.Port, cfg.Database, port, dir, dir, dir, dir)
	if err := os.WriteFile(filepath.Join(dir, "users.txt"), []byte(`"postgres" ""`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pgbouncer.ini"), []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	var cmd *exec.Cmd
	if os.Geteuid() == 0 { // PgBouncer refuses to run as root
		cmd = exec.Command("runuser", "-u", "postgres", "--", bin, filepath.Join(dir, "pgbouncer.ini"))
	} else {
		cmd = exec.Command(bin, filepath.Join(dir, "pgbouncer.ini"))
	}
	out, err := os.Create(filepath.Join(dir, "stdout.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pgbouncer: %v", err)
	}
	defer func() {
		// Stop the PgBouncer this test started, by the pid it wrote (runuser forks it).
		if pid, err := os.ReadFile(filepath.Join(dir, "pgbouncer.pid")); err == nil {
			if n, err := strconv.Atoi(strings.TrimSpace(string(pid))); err == nil {
				if p, err := os.FindProcess(n); err == nil {
					_ = p.Signal(syscall.SIGTERM)
				}
			}
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		waited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
		}
	}()
	socket := filepath.Join(dir, fmt.Sprintf(".s.PGSQL.%d", port))
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(socket); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	clientDSN := fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable default_query_exec_mode=simple_protocol", dir, port, cfg.Database)
	adminDSN := fmt.Sprintf("host=%s port=%d user=postgres dbname=pgbouncer sslmode=disable", dir, port)

	holder, err := pgx.Connect(ctx, clientDSN)
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
		stdout, _ := os.ReadFile(filepath.Join(dir, "stdout.txt"))
		t.Fatalf("connect through pgbouncer: %v\n%s\n%s", err, stdout, log)
	}
	defer holder.Close(ctx)
	mustExec(ctx, t, holder, "BEGIN")
	mustExec(ctx, t, holder, "SELECT 1")
	waiter, err := pgx.Connect(ctx, clientDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer waiter.Close(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := waiter.Exec(ctx, "SELECT 2")
		done <- err
	}()
	var stats *pgstat.PgBouncerStats
	for i := 0; i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		stats, err = pgstat.ReadPgBouncer(ctx, adminDSN)
		if err != nil {
			t.Fatal(err)
		}
		if waitingClients(stats, cfg.Database) > 0 {
			break
		}
	}
	if waitingClients(stats, cfg.Database) != 1 {
		t.Fatalf("cl_waiting = %d, want 1: %+v", waitingClients(stats, cfg.Database), stats.Pools)
	}
	if stats.Config["pool_mode"] != "transaction" || stats.Config["default_pool_size"] != "1" || len(stats.Stats) == 0 || !strings.Contains(stats.Version, "PgBouncer") {
		t.Errorf("config %v, %d stats rows, version %q", stats.Config, len(stats.Stats), stats.Version)
	}
	// The server side meanwhile: the holder's server connection is idle in
	// transaction, nothing runs — the wait is in the pool, not in queries.
	snap := sampleActivity(ctx, t, dsn)
	snap.PgBouncer = stats
	res := Run(snap, []*Rule{PoolExhaustion}, DefaultOptions())
	var pooled []Finding
	for _, f := range res.Findings {
		if strings.HasPrefix(f.Message, "PgBouncer pool") {
			pooled = append(pooled, f)
		}
	}
	if len(pooled) != 1 || !strings.Contains(pooled[0].Message, "1 clients waiting for a server connection") ||
		!strings.Contains(pooled[0].Message, "not slow queries") || pooled[0].Evidence["server_active_sessions"] != 0.0 || pooled[0].Evidence["server_idle_in_transaction_sessions"] != 1.0 {
		t.Fatalf("findings: %+v", res.Findings)
	}
	t.Logf("idle server: %s", pooled[0].Message)
	mustExec(ctx, t, holder, "COMMIT")
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("the waiting client never ran")
	}
	// The contrast: the one server connection runs a slow statement while
	// a client waits; the finding says the connections are busy instead.
	slow := make(chan error, 1)
	go func() {
		_, err := holder.Exec(ctx, "SELECT pg_sleep(3)")
		slow <- err
	}()
	for i := 0; i < 20; i++ { // the sleep holds the connection before the waiter asks
		time.Sleep(50 * time.Millisecond)
		if st, err := pgstat.ReadPgBouncer(ctx, adminDSN); err == nil && activeServers(st, cfg.Database) == 1 {
			break
		}
	}
	go func() {
		_, err := waiter.Exec(ctx, "SELECT 3")
		done <- err
	}()
	for i := 0; i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		if stats, err = pgstat.ReadPgBouncer(ctx, adminDSN); err != nil {
			t.Fatal(err)
		}
		if waitingClients(stats, cfg.Database) > 0 {
			break
		}
	}
	snap = sampleActivity(ctx, t, dsn)
	snap.PgBouncer = stats
	busy := false
	for _, f := range Run(snap, []*Rule{PoolExhaustion}, DefaultOptions()).Findings {
		if strings.HasPrefix(f.Message, "PgBouncer pool") {
			busy = strings.Contains(f.Message, "server connections are busy") && f.Evidence["server_active_sessions"] == 1.0
			t.Logf("busy server: %s", f.Message)
		}
	}
	if !busy {
		t.Errorf("with a slow statement on the only server connection, the finding does not say the connections are busy (cl_waiting %d)", waitingClients(stats, cfg.Database))
	}
	for _, ch := range []chan error{slow, done} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}

	// Control: nobody waits once the transaction ended.
	stats, err = pgstat.ReadPgBouncer(ctx, adminDSN)
	if err != nil {
		t.Fatal(err)
	}
	snap.PgBouncer = stats
	if f := Run(snap, []*Rule{PoolExhaustion}, DefaultOptions()).Findings; len(f) != 0 && waitingClients(stats, cfg.Database) == 0 {
		t.Errorf("findings with no waiting client: %+v", f)
	}
}

func activeServers(s *pgstat.PgBouncerStats, db string) int64 {
	var n int64
	for _, p := range s.Pools {
		if p.Database == db {
			n += p.SvActive
		}
	}
	return n
}

func waitingClients(s *pgstat.PgBouncerStats, db string) int64 {
	var n int64
	for _, p := range s.Pools {
		if p.Database == db {
			n += p.ClWaiting
		}
	}
	return n
}
