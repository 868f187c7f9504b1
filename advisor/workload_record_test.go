package advisor

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pglog"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// workloadRules are the rules the workload golden cases run: all five, so
// that each case also shows the others stay silent on it.
const workloadRules = "n-plus-one\nunbatched-writes\nunbounded-result\npool-exhaustion\ndenormalization\n"

const workloadSchema = `
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id bigint PRIMARY KEY, name text NOT NULL, country text NOT NULL);
CREATE TABLE shop.products (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL, category text NOT NULL);
CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES shop.customers, status text NOT NULL, created_at timestamptz NOT NULL);
CREATE INDEX ON shop.orders (customer_id);
CREATE TABLE shop.order_items (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES shop.orders, product_id bigint NOT NULL REFERENCES shop.products, qty int NOT NULL);
CREATE INDEX ON shop.order_items (order_id);
CREATE TABLE shop.events (id bigserial PRIMARY KEY, order_id bigint, kind text NOT NULL, payload jsonb, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE shop.documents (id bigint PRIMARY KEY, title text NOT NULL, body text NOT NULL, attachment text NOT NULL);
INSERT INTO shop.customers SELECT g, 'customer ' || g, (ARRAY['DE','FR','NL','IT'])[1 + g % 4] FROM generate_series(1, 500) g;
INSERT INTO shop.products SELECT g, 'product ' || g, (g % 97) + 0.99, 'cat' || (g % 12) FROM generate_series(1, 300) g;
INSERT INTO shop.orders SELECT g, 1 + (g * 7919) % 50, (ARRAY['paid','shipped','delivered'])[1 + g % 3], now() - g * interval '1 hour' FROM generate_series(1, 3000) g;
INSERT INTO shop.order_items (order_id, product_id, qty) SELECT 1 + g % 3000, 1 + (g * 31) % 300, 1 + g % 4 FROM generate_series(1, 9000) g;
INSERT INTO shop.documents SELECT g, 'doc ' || g, repeat(md5(g::text), 40), repeat(md5((g+1)::text), 30) FROM generate_series(1, 200) g;
`

type workloadCase struct {
	name string
	// run is the workload; conn is a plain application connection.
	run func(ctx context.Context, t *testing.T, dsn string, conn *pgx.Conn) (hold func())
	// log, when set, is applied to the snapshot (the statement-log summary).
	withLog bool
	// sample is the pg_stat_activity sampling window (0: one sample).
	sample time.Duration
}

// TestRecordWorkload records the golden inputs of the workload rules from the
// throwaway PostgreSQL (run with -record, then -update to rewrite want.json).
func TestRecordWorkload(t *testing.T) {
	if !*record {
		// A tool, not a check: CI runs TestGolden on what it recorded.
		t.Skip("recorder: run with -record to rebuild testdata/ from PostgreSQL")
	}
	for _, c := range workloadCases() {
		t.Run(c.name, func(t *testing.T) { recordWorkloadCase(t, c) })
	}
}

func recordWorkloadCase(t *testing.T, c workloadCase) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var dsn, logFile string
	if c.withLog {
		cl, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{
			"logging_collector":          "on",
			"log_destination":            "'csvlog'",
			"log_directory":              "'log'",
			"log_filename":               "'pg'",
			"log_min_duration_statement": "0",
		}})
		if err != nil {
			pgtest.Unavailable(t, "%v", err)
		}
		defer cl.Stop()
		dsn, err = cl.CreateDatabase(ctx, "shop")
		if err != nil {
			t.Fatal(err)
		}
		logFile = filepath.Join(cl.DataDir, "log", "pg.csv")
	} else {
		dsn = pgtest.DB(t)
	}
	// Set up on its own connection, closed (so that its statistics are flushed)
	// before the statistics are reset for the workload.
	setup := mustConnect(ctx, t, dsn, "setup")
	mustExec(ctx, t, setup, workloadSchema)
	mustExec(ctx, t, setup, "VACUUM ANALYZE")
	setup.Close(ctx)
	conn := mustConnect(ctx, t, dsn, "shop-api")
	defer conn.Close(ctx)
	mustExec(ctx, t, conn, "SELECT pg_stat_reset()")
	mustExec(ctx, t, conn, "SELECT pg_stat_statements_reset()")
	hold := c.run(ctx, t, dsn, conn)
	if hold != nil {
		defer hold()
	}
	time.Sleep(1100 * time.Millisecond) // backends flush table statistics at most once a second
	mustExec(ctx, t, conn, "SELECT 1")
	admin, err := pgstat.Connect(ctx, dsn, pgstat.ConnectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	snap, err := pgstat.Collect(ctx, admin, pgstat.CollectOptions{SampleWindow: c.sample, SampleInterval: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if c.withLog {
		time.Sleep(300 * time.Millisecond) // the logging collector writes asynchronously
		f, err := os.Open(logFile)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		// MinTotalMS 0: the recorded sequences must not depend on this machine's speed;
		// the rule applies n_plus_one_log_min_ms from options.json.
		snap.Log, err = pglog.ParseWith(f, pglog.FormatCSV, pglog.Options{MinRepeats: 5, MinTotalMS: 0})
		if err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := snap.Write(&buf); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", c.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "snapshot.json"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.txt"), []byte(workloadRules), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustConnect(ctx context.Context, t *testing.T, dsn, app string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["application_name"] = app
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func mustExec(ctx context.Context, t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func mustIDs(ctx context.Context, t *testing.T, conn *pgx.Conn, sql string, args ...any) []int64 {
	t.Helper()
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// nPlusOneLoop is the order-history endpoint written the N+1 way.
func nPlusOneLoop(ctx context.Context, t *testing.T, conn *pgx.Conn, customers int) {
	for c := 1; c <= customers; c++ {
		ids := mustIDs(ctx, t, conn, "SELECT id FROM shop.orders WHERE customer_id = $1 ORDER BY created_at DESC", c)
		for _, id := range ids {
			mustExec(ctx, t, conn, "SELECT product_id, qty FROM shop.order_items WHERE order_id = $1", id)
		}
	}
}

func workloadCases() []workloadCase {
	return []workloadCase{
		{name: "n-plus-one-orders", withLog: true, run: func(ctx context.Context, t *testing.T, dsn string, conn *pgx.Conn) func() {
			nPlusOneLoop(ctx, t, conn, 25) // 25 customers × 60 orders: 1,500 child calls
			return nil
		}},
		{name: "n-plus-one-log-only", withLog: true, run: func(ctx context.Context, t *testing.T, dsn string, conn *pgx.Conn) func() {
			nPlusOneLoop(ctx, t, conn, 3) // 180 child calls: too few for pg_stat_statements, seen in the log
			return nil
		}},
		{name: "n-plus-one-control", withLog: true, run: func(ctx context.Context, t *testing.T, dsn string, conn *pgx.Conn) func() {
			// The batched form of the same endpoint, and hot primary-key lookups fed by nothing.
			for c := 1; c <= 25; c++ {
				ids := mustIDs(ctx, t, conn, "SELECT id FROM shop.orders WHERE customer_id = $1 ORDER BY created_at DESC", c)
				mustExec(ctx, t, conn, "SELECT order_id, product_id, qty FROM shop.order_items WHERE order_id = ANY($1)", ids)
			}
			for i := 0; i < 1500; i++ {
				mustExec(ctx, t, conn, "SELECT name, price FROM shop.products WHERE id = $1", 1+i%300)
				mustExec(ctx, t, conn, "SELECT name FROM shop.customers WHERE id = $1", 1+i%500)
			}
			return nil
		}},
		{name: "unbatched-writes-loop", run: func(ctx context.Context, t *testing.T, dsn string, conn *pgx.Conn) func() {
			// Loops inside transactions: 30 events, 10 price deltas (keys
			// repeating), 10 status changes and 10 deletes per transaction.
			for x := 0; x < 50; x++ {
				mustExec(ctx, t, conn, "BEGIN")
				for i := 0; i < 30; i++ {
					mustExec(ctx, t, conn, "INSERT INTO shop.events (order_id, kind, payload, created_at) VALUES ($1, $2, $3, now() - interval '1 day')", 1+(30*x+i)%3000, "viewed", `{"n": 1}`)
				}
				for i := 0; i < 10; i++ {
					mustExec(ctx, t, conn, "UPDATE shop.products SET price = price + $1 WHERE id = $2", 0.5, 1+(x+i)%7)
					mustExec(ctx, t, conn, "UPDATE shop.orders SET status = $1 WHERE id = $2", "shipped", 1+10*x+i)
					mustExec(ctx, t, conn, "DELETE FROM shop.order_items WHERE id = $1", 1+10*x+i)
				}
				mustExec(ctx, t, conn, "COMMIT")
			}
			return nil
		}},
		{name: "unbatched-writes-control", run: func(ctx context.Context, t *testing.T, dsn string, conn *pgx.Conn) func() {
			// Batched: 100 rows per statement, unnest arrays, INSERT … SELECT; and a rare single-row INSERT.
			for b := 0; b < 15; b++ {
				var vals []string
				var args []any
				for i := 0; i < 100; i++ {
					vals = append(vals, fmt.Sprintf("($%d, $%d)", 2*i+1, 2*i+2))
					args = append(args, int64(1+i), "viewed")
				}
				mustExec(ctx, t, conn, "INSERT INTO shop.events (order_id, kind) VALUES "+strings.Join(vals, ", "), args...)
				ids := make([]int64, 200)
				kinds := make([]string, 200)
				for i := range ids {
					ids[i], kinds[i] = int64(i+1), "paid"
				}
				mustExec(ctx, t, conn, "INSERT INTO shop.events (order_id, kind) SELECT * FROM unnest($1::bigint[], $2::text[])", ids, kinds)
				mustExec(ctx, t, conn, "INSERT INTO shop.events (order_id, kind) SELECT id, 'archived' FROM shop.orders WHERE id <= $1", 50)
			}
			for i := 0; i < 50; i++ {
				mustExec(ctx, t, conn, "INSERT INTO shop.events (order_id, kind) VALUES ($1, $2)", i, "checkout")
			}
			// TPC-B's shape: each write once per transaction, thousands of
			// calls, nothing to batch.
			for x := 0; x < 1200; x++ {
				mustExec(ctx, t, conn, "BEGIN")
				mustExec(ctx, t, conn, "UPDATE shop.products SET price = price + $1 WHERE id = $2", 0.01, 1+x%300)
				mustExec(ctx, t, conn, "UPDATE shop.customers SET name = $1 WHERE id = $2", "renamed", 1+x%500)
				mustExec(ctx, t, conn, "INSERT INTO shop.events (order_id, kind, payload) VALUES ($1, $2, $3)", 1+x%3000, "paid", `{}`)
				mustExec(ctx, t, conn, "COMMIT")
			}
			return nil
		}},
		{name: "unbounded-result-full-read", run: func(ctx context.Context, t *testing.T, dsn string, conn *pgx.Conn) func() {
			for i := 0; i < 12; i++ {
				mustExec(ctx, t, conn, "SELECT id, customer_id, status, created_at FROM shop.orders WHERE status <> $1", "cancelled")
			}
			for i := 0; i < 1200; i++ {
				mustExec(ctx, t, conn, "SELECT * FROM shop.documents WHERE id = $1", 1+i%200)
			}
			return nil
		}},
		{name: "unbounded-result-control", run: func(ctx context.Context, t *testing.T, dsn string, conn *pgx.Conn) func() {
			for i := 0; i < 12; i++ {
				mustExec(ctx, t, conn, "SELECT id, customer_id, status FROM shop.orders WHERE id > $1 ORDER BY id LIMIT 100", i*100)
				mustExec(ctx, t, conn, "SELECT status, count(*) FROM shop.orders GROUP BY status")
				mustExec(ctx, t, conn, "SELECT count(*) FROM shop.order_items")
			}
			for i := 0; i < 1200; i++ {
				mustExec(ctx, t, conn, "SELECT id, title FROM shop.documents WHERE id = $1", 1+i%200)
				mustExec(ctx, t, conn, "SELECT * FROM shop.products WHERE id = $1", 1+i%300)
			}
			return nil
		}},
		{name: "pool-exhaustion-idle-in-transaction", sample: 1500 * time.Millisecond, run: func(ctx context.Context, t *testing.T, dsn string, conn *pgx.Conn) func() {
			var held []*pgx.Conn
			for i := 0; i < 3; i++ {
				c := mustConnect(ctx, t, dsn, "shop-worker")
				mustExec(ctx, t, c, "BEGIN")
				mustExec(ctx, t, c, "UPDATE shop.orders SET status = 'paid' WHERE id = $1", 1+i)
				held = append(held, c)
			}
			// A request blocked behind the first one's row lock.
			waiter := mustConnect(ctx, t, dsn, "shop-api")
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _ = waiter.Exec(ctx, "UPDATE shop.orders SET status = 'shipped' WHERE id = 1")
			}()
			time.Sleep(6 * time.Second) // idle in transaction past the 5 s threshold
			return func() {
				for _, c := range held {
					c.Close(context.Background())
				}
				<-done
				waiter.Close(context.Background())
			}
		}},
		{name: "pool-exhaustion-connections", run: func(ctx context.Context, t *testing.T, dsn string, conn *pgx.Conn) func() {
			// 100 max_connections - 3 reserved = 97 usable; 85 open idle connections is 88%.
			var held []*pgx.Conn
			for i := 0; i < 84; i++ {
				held = append(held, mustConnect(ctx, t, dsn, "shop-api"))
			}
			return func() {
				for _, c := range held {
					c.Close(context.Background())
				}
			}
		}},
		{name: "pool-exhaustion-control", sample: time.Second, run: func(ctx context.Context, t *testing.T, dsn string, conn *pgx.Conn) func() {
			// A few pooled connections, short transactions, nothing held.
			var held []*pgx.Conn
			for i := 0; i < 4; i++ {
				c := mustConnect(ctx, t, dsn, "shop-api")
				mustExec(ctx, t, c, "BEGIN")
				mustExec(ctx, t, c, "SELECT 1")
				mustExec(ctx, t, c, "COMMIT")
				held = append(held, c)
			}
			time.Sleep(1500 * time.Millisecond) // no backend is young at sampling time
			return func() {
				for _, c := range held {
					c.Close(context.Background())
				}
			}
		}},
		{name: "denormalization-hot-join", run: func(ctx context.Context, t *testing.T, dsn string, conn *pgx.Conn) func() {
			for i := 0; i < 300; i++ {
				mustExec(ctx, t, conn, `SELECT c.country, p.category, sum(oi.qty) AS units, count(DISTINCT o.id) AS orders
FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id JOIN shop.order_items oi ON oi.order_id = o.id JOIN shop.products p ON p.id = oi.product_id
WHERE c.country = $1 GROUP BY c.country, p.category`, []string{"DE", "FR", "NL", "IT"}[i%4])
				mustExec(ctx, t, conn, `SELECT o.id, o.status, c.name, p.name AS product, oi.qty
FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id JOIN shop.order_items oi ON oi.order_id = o.id JOIN shop.products p ON p.id = oi.product_id
WHERE o.customer_id = $1`, 1+i%50)
			}
			return nil
		}},
		{name: "denormalization-control", run: func(ctx context.Context, t *testing.T, dsn string, conn *pgx.Conn) func() {
			// The same report, but orders is written all the time: keep it normalised.
			for i := 0; i < 300; i++ {
				mustExec(ctx, t, conn, `SELECT c.country, p.category, sum(oi.qty) AS units
FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id JOIN shop.order_items oi ON oi.order_id = o.id JOIN shop.products p ON p.id = oi.product_id
WHERE c.country = $1 GROUP BY c.country, p.category`, []string{"DE", "FR", "NL", "IT"}[i%4])
				mustExec(ctx, t, conn, "UPDATE shop.orders SET status = $1 WHERE customer_id = $2", "paid", 1+i%50)
				mustExec(ctx, t, conn, "UPDATE shop.customers SET name = name WHERE id <= $1", 400)
				mustExec(ctx, t, conn, "UPDATE shop.products SET price = price WHERE id <= $1", 300)
			}
			return nil
		}},
	}
}
