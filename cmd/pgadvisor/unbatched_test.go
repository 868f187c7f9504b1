package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/fixtures"
	"github.com/pgadvisor/pgadvisor/internal/cluster"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// unbatchedPgbench finds pgbench next to the server's binaries, else on PATH.
func unbatchedPgbench(t *testing.T) string {
	t.Helper()
	if bin, err := cluster.FindBinDir(); err == nil {
		if p := filepath.Join(bin, "pgbench"); fileExistsTest(p) {
			return p
		}
	}
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p
	}
	pgtest.Unavailable(t, "pgbench not found (it comes with the PostgreSQL server packages)")
	return ""
}

func fileExistsTest(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// resetStatistics starts the database's counters and pg_stat_statements
// afresh together, as the fixtures' loaders do.
func resetStatistics(t *testing.T, dsn string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := fixtures.ResetCounters(ctx, conn); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_stat_statements_reset()"); err != nil {
		t.Fatal(err)
	}
}

// auditWithSnapshot audits dsn live and returns the report's findings and the saved snapshot.
func auditWithSnapshot(t *testing.T, dsn string) ([]advisor.Finding, *pgstat.Snapshot) {
	t.Helper()
	dir := t.TempDir()
	reportPath, snapPath := filepath.Join(dir, "report.json"), filepath.Join(dir, "snap.json")
	code, _, stderr := runCLI(t, "audit", "--dsn", dsn, "--format", "json", "--output", reportPath, "--save-snapshot", snapPath, "--sample-window", "1s")
	if code != exitClean && code != exitFindings {
		t.Fatalf("audit exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(snapPath)
	if err != nil {
		t.Fatal(err)
	}
	var snap pgstat.Snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		t.Fatal(err)
	}
	return readReport(t, reportPath).Findings, &snap
}

// callsPerTransaction lists the snapshot's statements that start with one
// of the words with their calls per transaction of the database.
func callsPerTransaction(t *testing.T, snap *pgstat.Snapshot, words ...string) map[string]float64 {
	t.Helper()
	if snap.Server.Transactions == nil || *snap.Server.Transactions == 0 {
		t.Fatalf("the snapshot has no transaction count: %+v", snap.Server)
	}
	out := map[string]float64{}
	for _, s := range snap.Statements {
		for _, w := range words {
			if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(s.Query)), w) {
				out[s.Query] = float64(s.Calls) / float64(*snap.Server.Transactions)
			}
		}
	}
	return out
}

// TestAuditTPCB: pgbench -i -s 10, then its built-in TPC-B at 8 clients,
// audited during the load. Each transaction runs each of its four writes
// once: there is nothing to batch, and unbatched-writes stays silent.
func TestAuditTPCB(t *testing.T) {
	dsn := pgtest.DB(t)
	pgbench := unbatchedPgbench(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, pgbench, "-i", "-q", "-s", "10", dsn).CombinedOutput(); err != nil {
		t.Fatalf("pgbench -i -s 10: %v\n%s", err, out)
	}
	resetStatistics(t, dsn)
	const seconds = 30
	load := exec.CommandContext(ctx, pgbench, "-b", "tpcb-like", "-c", "8", "-j", "2", "-T", strconv.Itoa(seconds), "-n", dsn)
	var out strings.Builder
	load.Stdout, load.Stderr = &out, &out
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	// A backend flushes its transaction counts to pg_stat_database about
	// once a second while busy; pg_stat_statements counts at once. Ten
	// seconds in, the lag is a small part of the counts.
	time.Sleep(10 * time.Second)
	findings, snap := auditWithSnapshot(t, dsn)
	auditEnded := time.Now()
	if err := load.Wait(); err != nil {
		t.Fatalf("pgbench: %v\n%s", err, out.String())
	}
	t.Logf("pgbench: %s", lastLine(out.String(), "tps"))
	if time.Since(auditEnded) < time.Second {
		t.Logf("the audit ended about when the load did")
	}
	ratios := callsPerTransaction(t, snap, "INSERT", "UPDATE")
	if len(ratios) != 4 {
		t.Errorf("want TPC-B's 4 writes in the snapshot, got %v", ratios)
	}
	for q, r := range ratios {
		t.Logf("%.2f calls per transaction: %s", r, q)
		if r < 0.5 || r > 1.5 {
			t.Errorf("TPC-B write at %.2f calls per transaction, want about 1: %s", r, q)
		}
	}
	for _, f := range findings {
		if f.Rule == "unbatched-writes" {
			t.Errorf("unbatched-writes on TPC-B: %s", f.Message)
		}
	}

	// The audit PREPAREd the batched form of each of the four writes (the
	// rule would show them had they looped); the branches' one, with deltas
	// 10 and 20 on one key, adds 30 as the loop does.
	if len(snap.FixChecks) != 4 {
		t.Errorf("want the 4 writes' rewrites checked, got %d: %+v", len(snap.FixChecks), snap.FixChecks)
	}
	var branches string
	for _, c := range snap.FixChecks {
		if c.Error != "" {
			t.Errorf("rewrite did not prepare: %s\n%s", c.Error, c.SQL)
		}
		if strings.HasPrefix(c.SQL, "UPDATE pgbench_branches") {
			branches = c.SQL
		}
	}
	if branches == "" {
		t.Fatal("no rewrite of the pgbench_branches UPDATE")
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	balance := func(tx pgx.Tx) int64 {
		var b int64
		if err := tx.QueryRow(ctx, "SELECT bbalance FROM pgbench_branches WHERE bid = 1").Scan(&b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	before := balance(tx)
	if _, err := tx.Exec(ctx, branches, []int32{10, 20}, []int32{1, 1}); err != nil {
		t.Fatalf("the rewrite does not run: %v\n%s", err, branches)
	}
	if got := balance(tx) - before; got != 30 {
		t.Errorf("deltas 10 and 20 on one branch added %d, want 30 (as the loop):\n%s", got, branches)
	}
}

// TestAuditInsertLoop: 40 single-row INSERTs per transaction are a loop to
// batch; the finding's rewrite was PREPAREd by the audit, and it runs.
func TestAuditInsertLoop(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE readings (id bigserial PRIMARY KEY, sensor int NOT NULL, value float8 NOT NULL, taken_at timestamptz NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	resetStatistics(t, dsn)
	const transactions, perTransaction = 100, 40
	const loop = "INSERT INTO readings (sensor, value, taken_at) VALUES ($1, $2, now() - interval '1 minute')"
	for i := 0; i < transactions; i++ {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < perTransaction; j++ {
			if _, err := tx.Exec(ctx, loop, j, float64(i*j)); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Flush this session's transaction counts, as the application's would
	// be by the time of an audit.
	if _, err := conn.Exec(ctx, "SELECT pg_stat_force_next_flush()"); err != nil {
		t.Fatal(err)
	}

	findings, snap := auditWithSnapshot(t, dsn)
	for q, r := range callsPerTransaction(t, snap, "INSERT") {
		t.Logf("%.2f calls per transaction: %s", r, q)
	}
	var found *advisor.Finding
	for i, f := range findings {
		if f.Rule == "unbatched-writes" && strings.Contains(f.Query, "INSERT INTO readings") {
			found = &findings[i]
		}
	}
	if found == nil {
		t.Fatalf("no unbatched-writes finding for the INSERT loop; findings: %v", ruleNames(findings))
	}
	t.Logf("finding: %s %s", found.Severity, found.Message)
	perXact, _ := found.Evidence["calls_per_transaction"].(float64)
	if perXact <= 1.5 || perXact > perTransaction {
		t.Errorf("calls_per_transaction = %v, want between 1.5 and %d: %s", found.Evidence["calls_per_transaction"], perTransaction, found.Message)
	}
	if len(snap.FixChecks) == 0 {
		t.Fatal("the audit PREPAREd no rewrite")
	}
	for _, c := range snap.FixChecks {
		if c.Error != "" {
			t.Errorf("rewrite did not prepare: %s\n%s", c.Error, c.SQL)
		}
	}
	if found.Fix == nil || len(found.Fix.SQL) == 0 {
		t.Fatal("no fix SQL")
	}
	batch := advisor.FixStatement(found.Fix.SQL[0])
	// The rewrite with representative values inside a rolled-back
	// transaction leaves the rows the loop does (ids and times aside).
	rows := [][2]float64{{1, 0.5}, {2, 1.5}, {1, 2.5}}
	state := func(tx pgx.Tx) string {
		var s string
		if err := tx.QueryRow(ctx, "SELECT string_agg(format('%s %s %s', sensor, value, taken_at = now() - interval '1 minute'), ', ' ORDER BY sensor, value) FROM readings WHERE id > $1", int64(transactions*perTransaction)).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SAVEPOINT start"); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if _, err := tx.Exec(ctx, loop, int(r[0]), r[1]); err != nil {
			t.Fatal(err)
		}
	}
	afterLoop := state(tx)
	if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT start"); err != nil {
		t.Fatal(err)
	}
	args := []any{[]int32{}, []float64{}, []string{}}
	for _, r := range rows {
		args[0] = append(args[0].([]int32), int32(r[0]))
		args[1] = append(args[1].([]float64), r[1])
		args[2] = append(args[2].([]string), "1 minute")
	}
	if _, err := tx.Exec(ctx, batch, args...); err != nil {
		t.Fatalf("the rewrite does not run: %v\n%s", err, batch)
	}
	if afterBatch := state(tx); afterBatch != afterLoop || afterLoop == "" {
		t.Errorf("after the rewrite %q, after the loop %q\n%s", afterBatch, afterLoop, batch)
	}
}

func ruleNames(fs []advisor.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s(%s)", f.Rule, f.Severity))
	}
	return out
}

func lastLine(out, containing string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], containing) {
			return lines[i]
		}
	}
	return ""
}

// fixtureLoop is a fixture's single-row write with representative rows,
// to run its batched form against.
type fixtureLoop struct {
	table string  // schema-qualified target; its ids are serial
	loop  string  // the statement the fixture sends, once per row
	rows  [][]any // int64 and string values, one slice per execution
}

// checkFixtureRewrites checks every rewrite a live audit of a fixture
// PREPAREd: each prepared without error, each is the batched form of one
// of loops, and each, run once with the rows as arrays inside a
// rolled-back transaction, adds the rows the loop adds (ids aside). It
// logs the calls per transaction of each loop's statement.
func checkFixtureRewrites(t *testing.T, dsn string, snap *pgstat.Snapshot, loops []fixtureLoop) {
	t.Helper()
	ctx := context.Background()
	if snap.Server.Transactions != nil {
		for _, l := range loops {
			for q, r := range callsPerTransaction(t, snap, "INSERT INTO "+strings.ToUpper(l.table)) {
				t.Logf("%.2f calls per transaction (%d transactions): %s", r, *snap.Server.Transactions, q)
			}
		}
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, c := range snap.FixChecks {
		if c.Error != "" {
			t.Errorf("rewrite did not prepare: %s\n%s", c.Error, c.SQL)
			continue
		}
		if u := strings.ToUpper(c.SQL); strings.HasPrefix(u, "SELECT") || strings.HasPrefix(u, "WITH") {
			continue // a read rewrite (N+1, keyset): prepared, nothing to compare with a loop
		}
		var l *fixtureLoop
		for i := range loops {
			if strings.HasPrefix(c.SQL, "INSERT INTO "+loops[i].table+" ") {
				l = &loops[i]
			}
		}
		if l == nil {
			t.Errorf("no representative rows for the rewrite (add them to the test):\n%s", c.SQL)
			continue
		}
		added := func(tx pgx.Tx, since int64) string {
			var s string
			q := "SELECT coalesce(jsonb_agg(to_jsonb(t) - 'id' ORDER BY (to_jsonb(t) - 'id')::text), '[]')::text FROM " + l.table + " t WHERE id > $1"
			if err := tx.QueryRow(ctx, q, since).Scan(&s); err != nil {
				t.Fatal(err)
			}
			return s
		}
		func() {
			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			var maxID int64
			if err := tx.QueryRow(ctx, "SELECT coalesce(max(id), 0) FROM "+l.table).Scan(&maxID); err != nil {
				t.Fatal(err)
			}
			for _, r := range l.rows {
				if _, err := tx.Exec(ctx, l.loop, r...); err != nil {
					t.Fatalf("loop: %v", err)
				}
			}
			afterLoop := added(tx, maxID)
			if _, err := tx.Exec(ctx, "DELETE FROM "+l.table+" WHERE id > $1", maxID); err != nil {
				t.Fatal(err)
			}
			args := make([]any, len(l.rows[0]))
			for j := range args {
				switch l.rows[0][j].(type) {
				case int64:
					col := make([]int64, len(l.rows))
					for i, r := range l.rows {
						col[i] = r[j].(int64)
					}
					args[j] = col
				default:
					col := make([]string, len(l.rows))
					for i, r := range l.rows {
						col[i] = r[j].(string)
					}
					args[j] = col
				}
			}
			if _, err := tx.Exec(ctx, c.SQL, args...); err != nil {
				t.Fatalf("the rewrite does not run: %v\n%s", err, c.SQL)
			}
			if afterBatch := added(tx, maxID); afterBatch != afterLoop || afterLoop == "[]" {
				t.Errorf("%s: the rewrite adds %s, the loop %s\n%s", l.table, afterBatch, afterLoop, c.SQL)
			}
		}()
	}
	if len(snap.FixChecks) == 0 {
		t.Error("the live audit PREPAREd no rewrite: the fixture's single-row writes were not checked")
	}
}

// TestAuditLogWriteLoop: a loop of 15 INSERTs in each of 20 transactions,
// among 2,000 autocommitted reads: 0.15 calls per transaction of the
// database, which no average can call a loop; the statement log shows the
// runs, and with --log the loop is found. A write autocommitted once per
// "request" 300 times in the same session stays silent with the log too.
func TestAuditLogWriteLoop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cl, dsn, conn := loggingCluster(t, ctx, "app")
	for _, sql := range []string{
		"CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)",
		"INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g",
		"CREATE TABLE lines (id bigserial PRIMARY KEY, item_id int NOT NULL, qty int NOT NULL)",
		"CREATE TABLE visits (id bigserial PRIMARY KEY, item_id int NOT NULL)",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	resetStatistics(t, dsn)
	const loop = "INSERT INTO lines (item_id, qty) VALUES ($1, $2)"
	const perRequest = "INSERT INTO visits (item_id) VALUES ($1)"
	for r := 0; r < 2000; r++ {
		var name string
		if err := conn.QueryRow(ctx, "SELECT name FROM items WHERE id = $1", 1+r%100).Scan(&name); err != nil {
			t.Fatal(err)
		}
		if r%100 == 0 {
			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 15; i++ {
				if _, err := tx.Exec(ctx, loop, 1+i, i); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	for r := 0; r < 300; r++ {
		if _, err := conn.Exec(ctx, perRequest, 1+r%100); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, "SELECT pg_stat_force_next_flush()"); err != nil {
		t.Fatal(err)
	}
	audit := func(args ...string) []advisor.Finding {
		t.Helper()
		path := filepath.Join(t.TempDir(), "report.json")
		args = append([]string{"audit", "--dsn", dsn, "--format", "json", "--output", path, "--sample-window", "0", "--no-what-if"}, args...)
		if code, _, stderr := runCLI(t, args...); code != exitClean && code != exitFindings {
			t.Fatalf("audit exit %d: %s", code, stderr)
		}
		var out []advisor.Finding
		for _, f := range readReport(t, path).Findings {
			if f.Rule == "unbatched-writes" {
				out = append(out, f)
			}
		}
		return out
	}
	if fs := audit(); len(fs) != 0 {
		t.Errorf("without the log, a loop in 1 of 100 transactions was reported: %s", fs[0].Message)
	}
	fs := audit("--log", cl.LogFile(), "--log-format", "stderr")
	if len(fs) != 1 || !strings.Contains(fs[0].Query, "INSERT INTO lines") {
		t.Fatalf("with --log, want the loop into lines only, got %v", fs)
	}
	t.Logf("finding: %s %s", fs[0].Severity, fs[0].Message)
	perXact, _ := fs[0].Evidence["calls_per_transaction"].(float64)
	maxRepeats, _ := fs[0].Evidence["log_max_repeats"].(float64)
	if perXact >= 1 || maxRepeats != 15 {
		t.Errorf("calls_per_transaction %v (want < 1: no loop by the average), log_max_repeats %v (want 15)", fs[0].Evidence["calls_per_transaction"], fs[0].Evidence["log_max_repeats"])
	}
}
