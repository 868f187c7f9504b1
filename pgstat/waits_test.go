package pgstat

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
)

// TestWaitProfileRowLocks holds a row lock in an open transaction and queues
// two UPDATEs of that row behind it: the first waits for the holder's
// transaction (Lock:transactionid, holding the tuple lock), the second for
// the tuple lock (Lock:tuple). The wait profile names the table for both,
// counts every tick, and names the holder (idle in transaction, its last
// statement redacted) as the blocker; no literal reaches the snapshot.
func TestWaitProfileRowLocks(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	setupConn := dial(t, dsn)
	mustExec(t, setupConn, "CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL); INSERT INTO counters SELECT g, 0 FROM generate_series(1, 3) g")
	holder := dial(t, dsn)
	mustExec(t, holder, "BEGIN")
	mustExec(t, holder, "UPDATE counters SET n = n + 918273645 WHERE id = 1")
	var waiters []*pgx.Conn
	done := make(chan error, 2)
	for i := 0; i < 2; i++ {
		w := dial(t, dsn)
		waiters = append(waiters, w)
		go func() {
			_, err := w.Exec(ctx, "UPDATE counters SET n = n + 192837465 WHERE id = 1")
			done <- err
		}()
		// The second waiter queues only once the first holds the tuple lock.
		waitFor(ctx, t, setupConn, w, "Lock")
	}

	var raw int
	if err := setupConn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()", "192837465").Scan(&raw); err != nil || raw != 2 {
		t.Fatalf("the server shows the literal in %d sessions (%v), want the 2 waiters", raw, err)
	}

	conn := connect(t, dsn, ConnectOptions{})
	snap := collect(t, conn, CollectOptions{SampleWindow: 600 * time.Millisecond, SampleInterval: 300 * time.Millisecond, WaitInterval: 50 * time.Millisecond})
	mustExec(t, holder, "COMMIT")
	for range waiters {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}

	w := snap.Waits
	if w == nil {
		t.Fatal("no wait profile")
	}
	t.Logf("wait profile: %d ticks in %.0f ms, %.2f ms of queries (%.3f ms a tick), %d active samples", w.Ticks, w.WindowMS, w.QueryMS, w.QueryMS/float64(w.Ticks), w.ActiveSamples)
	if w.Ticks < 8 || len(snap.Activity) < 2 || len(snap.Activity) >= w.Ticks {
		t.Errorf("%d ticks and %d samples kept whole; want about 12 ticks, one in 6 kept", w.Ticks, len(snap.Activity))
	}
	events := map[string]WaitEntry{}
	for _, e := range w.Entries {
		if e.WaitEventType == "Lock" {
			events[e.WaitEvent] = e
		}
	}
	for _, ev := range []string{"transactionid", "tuple"} {
		e, ok := events[ev]
		if !ok {
			t.Errorf("no Lock:%s entry: %+v", ev, w.Entries)
			continue
		}
		if e.Relation != "public.counters" || e.Samples != int64(w.Ticks) || !strings.HasPrefix(e.Query, "UPDATE counters SET n = n + $1 WHERE id = $2") {
			t.Errorf("Lock:%s entry: relation %q, %d samples of %d ticks, query %q", ev, e.Relation, e.Samples, w.Ticks, e.Query)
		}
		if len(e.Blockers) == 0 {
			t.Errorf("Lock:%s entry without blockers", ev)
			continue
		}
		// The first waiter is blocked by the holder, idle in transaction;
		// the second by the first, which holds the tuple lock while it
		// waits for the holder's transaction. Both in every tick.
		b := e.Blockers[0]
		want := WaitBlocker{Query: "UPDATE counters SET n = n + $1 WHERE id = $2", State: "idle in transaction", Samples: int64(w.Ticks)}
		if ev == "tuple" {
			want.State, want.Wait = "active", "Lock:transactionid"
		}
		if len(e.Blockers) != 1 || b != want {
			t.Errorf("Lock:%s blockers %+v, want %+v", ev, e.Blockers, want)
		}
	}
	var buf bytes.Buffer
	if err := snap.Write(&buf); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if strings.Contains(string(data), "918273645") || strings.Contains(string(data), "192837465") {
		t.Errorf("a literal of the workload reached the snapshot")
	}
	if _, err := Read(data); err != nil {
		t.Errorf("the snapshot does not read back: %v", err)
	}
}

// waitFor returns once the session of w waits on an event of type waitType.
func waitFor(ctx context.Context, t *testing.T, admin, w *pgx.Conn, waitType string) {
	t.Helper()
	for {
		var waiting bool
		if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = $2)", w.PgConn().PID(), waitType).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkActivityTick measures one tick of the wait profile (the query,
// its redaction and the aggregation) with 10 idle sessions, a holder idle
// in transaction and 2 or 40 sessions waiting on its row.
func BenchmarkActivityTick(b *testing.B) {
	for _, waiters := range []int{2, 40} {
		b.Run(fmt.Sprintf("waiters=%d", waiters), func(b *testing.B) { benchmarkActivityTick(b, waiters) })
	}
}

func benchmarkActivityTick(b *testing.B, waiters int) {
	dsn := pgtest.DB(b)
	ctx := context.Background()
	open := func() *pgx.Conn {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	exec := func(c *pgx.Conn, sql string) {
		if _, err := c.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
	setupConn := open()
	exec(setupConn, "CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counters VALUES (1, 0)")
	for i := 0; i < 10; i++ {
		exec(open(), "SELECT 1")
	}
	holder := open()
	exec(holder, "BEGIN")
	exec(holder, "UPDATE counters SET n = n + 1 WHERE id = 1")
	done := make(chan error, waiters)
	for i := 0; i < waiters; i++ {
		w := open()
		go func() { _, err := w.Exec(ctx, "UPDATE counters SET n = n + 1 WHERE id = 1"); done <- err }()
	}
	for waiting := 0; waiting < waiters; time.Sleep(10 * time.Millisecond) {
		if err := setupConn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").Scan(&waiting); err != nil {
			b.Fatal(err)
		}
	}
	conn, err := Connect(ctx, dsn, ConnectOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	c := &collector{conn: conn, snap: New()}
	if err := c.collectServer(ctx); err != nil {
		b.Fatal(err)
	}
	query := activitySQL(c.snap.Server.VersionNum)
	redacted := map[string]string{}
	agg := newWaitAggregator(DefaultWaitInterval)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		sample, err := c.sampleActivity(ctx, query, redacted)
		if err != nil {
			b.Fatal(err)
		}
		agg.add(sample, time.Since(start))
	}
	b.StopTimer()
	p := agg.profile()
	var named int64
	for _, e := range p.Entries {
		if e.Relation == "public.counters" {
			named += e.Samples
		}
	}
	if named != int64(waiters*b.N) {
		b.Fatalf("%d of %d waiter samples name the table", named, waiters*b.N)
	}
	exec(holder, "COMMIT")
	for i := 0; i < waiters; i++ {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}
