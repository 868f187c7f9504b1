package pglog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// TestRealLogs runs an N+1 loop and control loops on a throwaway cluster
// that writes stderr, csvlog and jsonlog at once, then parses each log.
func TestRealLogs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := pgtest.Start(ctx, pgtest.Options{Settings: map[string]string{
		"logging_collector":          "on",
		"log_destination":            "'stderr,csvlog,jsonlog'",
		"log_directory":              "'log'",
		"log_filename":               "'pg'",
		"log_rotation_age":           "0",
		"log_rotation_size":          "0",
		"log_min_duration_statement": "0",
		"log_line_prefix":            "'%m [%p] %c %q%u@%d app=%a '",
	}})
	if err != nil {
		pgtest.Unavailable(t, "%v", err)
	}
	defer c.Stop()
	if c.Major < 15 {
		// Not a missing server (CI has PostgreSQL 15): jsonlog does not exist before 15.
		t.Skipf("jsonlog needs PostgreSQL 15+, have %d", c.Major)
	}
	dsn, err := c.CreateDatabase(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	const orders = 40
	setup, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer setup.Close(ctx)
	if _, err := setup.Exec(ctx, fmt.Sprintf(`
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL);
CREATE TABLE order_items (id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders, qty int NOT NULL);
INSERT INTO orders SELECT g, g %% 5 FROM generate_series(1, %d) g;
INSERT INTO order_items (order_id, qty) SELECT 1 + g %% %d, g %% 7 FROM generate_series(1, 2000) g;
CREATE TABLE events (id bigserial PRIMARY KEY, kind text);`, orders, orders)); err != nil {
		t.Fatal(err)
	}

	runLoop := func(mode pgx.QueryExecMode, app string) {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		cfg.DefaultQueryExecMode = mode
		cfg.RuntimeParams["application_name"] = app
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		// The N+1 loop: the parent lists the orders, then one query per order.
		rows, err := conn.Query(ctx, "SELECT id FROM orders WHERE id > $1 ORDER BY id", 0)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			var n int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM order_items WHERE order_id = $1", id).Scan(&n); err != nil {
				t.Fatal(err)
			}
		}
		// Controls: distinct statements in turn, and a loop of writes.
		for i := 0; i < 10; i++ {
			for _, q := range []string{"SELECT count(*) FROM orders", "SELECT max(qty) FROM order_items", "SELECT min(customer_id) FROM orders WHERE id > $1"} {
				args := []any{}
				if strings.Contains(q, "$1") {
					args = append(args, i)
				}
				if _, err := conn.Exec(ctx, q, args...); err != nil {
					t.Fatal(err)
				}
			}
		}
		// A loop of writes inside a transaction (a write burst), then
		// autocommitted repeats of another write (not one: a pooled
		// session serving one write per request looks the same).
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 20; i++ {
			if _, err := tx.Exec(ctx, "INSERT INTO events (kind) VALUES ($1)", "k"); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 10; i++ {
			if _, err := conn.Exec(ctx, "UPDATE events SET kind = $1 WHERE id = $2", "j", i); err != nil {
				t.Fatal(err)
			}
		}
	}
	runLoop(pgx.QueryExecModeCacheStatement, "extended")
	runLoop(pgx.QueryExecModeSimpleProtocol, "simple")
	// Let the logging collector write everything out.
	if _, err := setup.Exec(ctx, "SELECT pg_sleep(0.3)"); err != nil {
		t.Fatal(err)
	}

	parentFP, _ := sqlfacts.Fingerprint("SELECT id FROM orders WHERE id > $1 ORDER BY id")
	childFP, _ := sqlfacts.Fingerprint("SELECT count(*) FROM order_items WHERE order_id = $1")
	logDir := filepath.Join(c.DataDir, "log")
	for _, tc := range []struct {
		file   string
		format Format
	}{{"pg", FormatStderr}, {"pg.csv", FormatCSV}, {"pg.json", FormatJSON}, {"pg.csv", FormatAuto}} {
		t.Run(string(tc.format)+"_"+tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(logDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// A tiny time threshold: the assertion must not depend on the machine's speed.
			sum, err := ParseWith(f, tc.format, Options{MinRepeats: 5, MinTotalMS: 0.001})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Statements < 2*(1+orders+30+20) {
				t.Errorf("read %d statements, want at least %d", sum.Statements, 2*(1+orders+30+20))
			}
			if len(sum.Sequences) != 1 {
				t.Fatalf("want exactly the N+1 sequence, got %d: %+v", len(sum.Sequences), sum.Sequences)
			}
			seq := sum.Sequences[0]
			if seq.ChildFingerprint != childFP || seq.ParentFingerprint != parentFP {
				t.Errorf("sequence child %q parent %q, want child %q parent %q", seq.ChildQuery, seq.ParentQuery, childFP, parentFP)
			}
			if seq.Runs != 2 || seq.Sessions != 2 || seq.MaxRepeats != orders || seq.TotalRepeats != 2*orders {
				t.Errorf("runs %d sessions %d max repeats %d total %d, want 2, 2, %d, %d", seq.Runs, seq.Sessions, seq.MaxRepeats, seq.TotalRepeats, orders, 2*orders)
			}
			if seq.TotalMS <= 0 || seq.User != "postgres" || seq.Database != "shop" {
				t.Errorf("total %v ms, user %q, database %q", seq.TotalMS, seq.User, seq.Database)
			}
			// The loop of 20 INSERTs in one transaction per session is a
			// write burst; the autocommitted UPDATEs are not.
			eventsFP, _ := sqlfacts.Fingerprint("INSERT INTO events (kind) VALUES ($1)")
			if len(sum.WriteBursts) != 1 {
				t.Fatalf("want exactly the INSERT loop as a write burst, got %+v", sum.WriteBursts)
			}
			if b := sum.WriteBursts[0]; b.Fingerprint != eventsFP || b.Runs != 2 || b.Sessions != 2 || b.MaxRepeats != 20 || b.TotalRepeats != 40 || b.TotalMS <= 0 {
				t.Errorf("write burst %+v, want the events INSERT: 2 runs in 2 sessions of 20", b)
			}
			if tc.format == FormatAuto && sum.Format != FormatCSV {
				t.Errorf("detected %q, want csvlog", sum.Format)
			}
			// The default thresholds apply the same repeats rule; a run needs 50 ms.
			if _, err := f.Seek(0, 0); err != nil {
				t.Fatal(err)
			}
			def, err := Parse(f, tc.format)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range def.Sequences {
				if s.MaxRunMS < 50 {
					t.Errorf("default thresholds kept a %v ms run", s.MaxRunMS)
				}
			}
		})
	}
}

func TestStderrPrefixes(t *testing.T) {
	log := `2026-01-02 10:00:00.001 UTC [100] 65a1b2c3.64 alice@shop app=api LOG:  duration: 0.500 ms  statement: SELECT id FROM orders
2026-01-02 10:00:00.002 UTC [100] 65a1b2c3.64 alice@shop app=api LOG:  duration: 0.010 ms  parse <unnamed>: SELECT *
	FROM order_items WHERE order_id = $1
2026-01-02 10:00:00.003 UTC [100] 65a1b2c3.64 alice@shop app=api LOG:  duration: 0.020 ms  bind <unnamed>: SELECT *
	FROM order_items WHERE order_id = $1
2026-01-02 10:00:00.003 UTC [100] 65a1b2c3.64 alice@shop app=api DETAIL:  parameters: $1 = '1'
2026-01-02 10:00:00.004 UTC [100] 65a1b2c3.64 alice@shop app=api LOG:  duration: 20.000 ms  execute <unnamed>: SELECT *
	FROM order_items WHERE order_id = $1
2026-01-02 10:00:00.004 UTC [200] 65a1b2c4.c8 bob@shop app=api LOG:  duration: 1.000 ms  statement: SELECT 1 FROM other
`
	for i := 0; i < 4; i++ {
		log += `2026-01-02 10:00:00.005 UTC [100] 65a1b2c3.64 alice@shop app=api LOG:  duration: 20.000 ms  execute S_1: SELECT * FROM order_items WHERE order_id = $1` + "\n"
	}
	sum, err := Parse(strings.NewReader(log), FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Format != FormatStderr || sum.Statements != 7 || sum.Sessions != 2 {
		t.Fatalf("format %q, %d statements, %d sessions", sum.Format, sum.Statements, sum.Sessions)
	}
	if len(sum.Sequences) != 1 {
		t.Fatalf("sequences: %+v", sum.Sequences)
	}
	s := sum.Sequences[0]
	if s.MaxRepeats != 5 || s.TotalMS != 100.03 || s.User != "alice" || s.Database != "shop" || s.Application != "api" {
		t.Errorf("got %+v", s)
	}
	if !strings.Contains(s.ChildQuery, "\nFROM order_items") {
		t.Errorf("continuation line lost: %q", s.ChildQuery)
	}
}

func TestFirstKeyword(t *testing.T) {
	for in, want := range map[string]string{
		"/* app */ SELECT 1":                           "select",
		"-- x\n  with a as (select 1) select * from a": "with",
		"(SELECT 1) UNION (SELECT 2)":                  "select",
		"BEGIN":                                        "begin",
		"/* a /* b */ c */ UPDATE t SET x = 1":         "update", // nested: not "c"
		"/* open":                                      "",
	} {
		if got := firstKeyword(in); got != want {
			t.Errorf("firstKeyword(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// BenchmarkParseStderr parses a stderr log of 100,000 statements (an N+1
// loop of 20 children per parent, extended protocol).
func BenchmarkParseStderr(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 100000; i++ {
		q := "SELECT product_id, qty FROM shop.order_items WHERE order_id = $1"
		if i%21 == 0 {
			q = "SELECT id FROM shop.orders WHERE customer_id = $1 ORDER BY created_at DESC"
		}
		fmt.Fprintf(&sb, "2026-01-02 10:00:00.%03d UTC [%d] 65a1b2c3.%x app@shop LOG:  duration: 0.050 ms  execute stmtcache_1: %s\n", i%1000, 100+i%7, 100+i%7, q)
	}
	log := sb.String()
	b.SetBytes(int64(len(log)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Parse(strings.NewReader(log), FormatStderr); err != nil {
			b.Fatal(err)
		}
	}
}
