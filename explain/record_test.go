package explain

import (
	"context"
	"flag"
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

var (
	record     = flag.Bool("record", false, "record testdata/*.json plans from the throwaway PostgreSQL")
	recordOnly = flag.String("record-only", "", "with -record, record only these cases (comma-separated names); the others' files stay")
)

// recordSchema is the small shop the recorded plans run against. Data is
// derived from generate_series only, so that plans are reproducible.
const recordSchema = `
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL,
  country text NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO shop.customers SELECT g, 'customer ' || g, 'c' || g || '@example.com',
  (ARRAY['fr','de','us','uk','jp'])[g % 5 + 1], '2024-01-01'::timestamptz + g * interval '10 minutes'
FROM generate_series(1, 20000) g;
CREATE TABLE shop.products (id int PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL);
INSERT INTO shop.products SELECT g, 'product ' || g, (g % 97) + 0.5 FROM generate_series(1, 1000) g;
CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer_id int NOT NULL REFERENCES shop.customers,
  status text NOT NULL, total numeric(12,2) NOT NULL, note text, created_at timestamptz NOT NULL);
INSERT INTO shop.orders SELECT g, (g * 7919) % 20000 + 1,
  CASE WHEN g % 10 = 0 THEN 'pending' WHEN g % 50 = 1 THEN 'cancelled' ELSE 'shipped' END,
  (g % 1000) + 0.99, md5(g::text), '2024-01-01'::timestamptz + g * interval '1 minute'
FROM generate_series(1, 200000) g;
CREATE INDEX orders_customer_id ON shop.orders (customer_id);
CREATE TABLE shop.order_items (order_id bigint NOT NULL REFERENCES shop.orders, product_id int NOT NULL REFERENCES shop.products,
  qty int NOT NULL, price numeric(10,2) NOT NULL);
INSERT INTO shop.order_items SELECT g / 2 + 1, (g * 31) % 1000 + 1, g % 3 + 1, (g % 97) + 0.5
FROM generate_series(0, 399999) g;
CREATE INDEX order_items_order_id ON shop.order_items (order_id);`

// recordCase is one recorded plan: testdata/<name>.json.
type recordCase struct {
	name     string
	doc      string // what the plan shows, for testdata/README.md
	settings string // SET LOCAL statements run before
	setup    string // statements run inside the same (rolled-back) transaction before
	query    string
	analyze  bool // EXPLAIN (ANALYZE, BUFFERS, VERBOSE, SETTINGS); else recorded through Run
	facts    *sqlfacts.Facts
	check    func(p *Plan) error // what the name promises, checked on every test run
}

var recordCases = []recordCase{
	{name: "seq_scan_filter", doc: "Seq Scan whose Filter discards almost every row",
		query: "SELECT * FROM shop.orders WHERE total = 42.99", analyze: true,
		check: hasNode(func(n *Node) bool { return n.NodeType == "Seq Scan" && n.RowsRemovedByFilter > 100000 })},
	{name: "index_scan", doc: "Index Scan on the primary key",
		query: "SELECT * FROM shop.orders WHERE id = 4242", analyze: true,
		check: hasNode(func(n *Node) bool { return n.NodeType == "Index Scan" && n.IndexCond != "" })},
	{name: "bitmap_heap_lossy", doc: "Bitmap Heap Scan with lossy blocks (work_mem 64kB)",
		settings: "SET LOCAL work_mem = '64kB'; SET LOCAL enable_indexscan = off; SET LOCAL enable_seqscan = off",
		query:    "SELECT * FROM shop.orders WHERE customer_id BETWEEN 1 AND 4000", analyze: true,
		check: hasNode(func(n *Node) bool { return n.NodeType == "Bitmap Heap Scan" && n.LossyHeapBlocks > 0 })},
	{name: "nested_loop_subplan", doc: "Nested Loop with a correlated SubPlan run once per row",
		query: `SELECT c.id, o.id, (SELECT count(*) FROM shop.order_items i WHERE i.order_id = o.id) AS items
FROM shop.customers c JOIN shop.orders o ON o.customer_id = c.id WHERE c.id <= 20`, analyze: true,
		check: all(hasNode(func(n *Node) bool { return n.NodeType == "Nested Loop" }),
			hasNode(func(n *Node) bool { return n.ParentRelationship == "SubPlan" && n.ActualLoops > 1 }))},
	{name: "hash_join_batches", doc: "Hash Join whose Hash went to several batches (work_mem 64kB)",
		settings: "SET LOCAL work_mem = '64kB'; SET LOCAL enable_mergejoin = off",
		query:    "SELECT o.id, c.name FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id", analyze: true,
		check: hasNode(func(n *Node) bool { return n.NodeType == "Hash" && n.HashBatches > 1 })},
	{name: "sort_external_merge", doc: "Sort spilled to disk: external merge (work_mem 64kB)",
		settings: "SET LOCAL work_mem = '64kB'",
		query:    "SELECT * FROM shop.orders ORDER BY note", analyze: true,
		check: hasNode(func(n *Node) bool {
			return n.NodeType == "Sort" && n.SortMethod == "external merge" && n.SortSpaceType == "Disk"
		})},
	{name: "incremental_sort", doc: "Incremental Sort over an index on the leading key",
		query: "SELECT * FROM shop.orders ORDER BY customer_id, created_at LIMIT 50", analyze: true,
		check: hasNode(func(n *Node) bool { return n.NodeType == "Incremental Sort" && len(n.PresortedKey) > 0 })},
	{name: "hashagg_disk", doc: "HashAggregate that spilled to disk (Disk Usage, HashAgg Batches)",
		settings: "SET LOCAL work_mem = '64kB'; SET LOCAL enable_sort = off",
		query:    "SELECT note, count(*), sum(total) FROM shop.orders GROUP BY note", analyze: true,
		check: hasNode(func(n *Node) bool { return n.Strategy == "Hashed" && n.DiskUsage > 0 && n.HashAggBatches > 1 })},
	{name: "windowagg_run_condition", doc: "WindowAgg whose Run Condition (15+) stops the index scan below after 10 of 200000 rows",
		query: "SELECT * FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM shop.orders) s WHERE rn <= 10", analyze: true,
		check: hasNode(func(n *Node) bool {
			return n.NodeType == "WindowAgg" && n.RunCondition != "" && len(n.Plans) == 1 &&
				n.Plans[0].RelationName == "orders" && n.Plans[0].PlanRows > 100*n.Plans[0].ActualRows
		})},
	{name: "parallel_sort_spill", doc: "Sort under Gather Merge spilled to disk in the leader and in each worker (work_mem 64kB)",
		settings: "SET LOCAL max_parallel_workers_per_gather = 2; SET LOCAL parallel_setup_cost = 0; SET LOCAL parallel_tuple_cost = 0; " +
			"SET LOCAL min_parallel_table_scan_size = 0; SET LOCAL parallel_leader_participation = on; SET LOCAL work_mem = '64kB'",
		query: "SELECT id, note FROM shop.orders WHERE total > 10 ORDER BY note", analyze: true,
		check: hasNode(func(n *Node) bool {
			if n.NodeType != "Sort" || len(n.Workers) == 0 {
				return false
			}
			for _, w := range n.Workers {
				if w.SortSpaceType != "Disk" {
					return false
				}
			}
			return true
		})},
	{name: "gather_workers", doc: "Gather with 4 workers planned and fewer launched (max_parallel_workers 1)",
		settings: "SET LOCAL max_parallel_workers_per_gather = 4; SET LOCAL max_parallel_workers = 1; " +
			"SET LOCAL parallel_setup_cost = 0; SET LOCAL parallel_tuple_cost = 0; SET LOCAL min_parallel_table_scan_size = 0",
		query: "SELECT count(*) FROM shop.orders WHERE total > 10", analyze: true,
		check: hasNode(func(n *Node) bool {
			return n.NodeType == "Gather" && n.WorkersPlanned == 4 && n.WorkersLaunched < n.WorkersPlanned
		})},
	{name: "index_only_heap_fetches", doc: "Index Only Scan with heap fetches (visibility map cleared by an update)",
		settings: "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off",
		setup:    "UPDATE shop.orders SET status = status WHERE customer_id <= 2000",
		query:    "SELECT customer_id FROM shop.orders WHERE customer_id <= 2000", analyze: true,
		check: hasNode(func(n *Node) bool { return n.NodeType == "Index Only Scan" && n.HeapFetches > 0 })},
	{name: "limit_offset", doc: "LIMIT 20 OFFSET 10000: the scan reads 10020 rows to return 20",
		query: "SELECT id, total FROM shop.orders ORDER BY id LIMIT 20 OFFSET 10000", analyze: true,
		check: all(hasNode(func(n *Node) bool { return n.NodeType == "Limit" && n.ActualRows == 20 }),
			hasNode(func(n *Node) bool { return n.NodeType == "Index Scan" && n.ActualRows == 10020 }))},
	{name: "modify_insert", doc: "ModifyTable Insert of 100 rows, with the foreign-key trigger's time",
		query: `INSERT INTO shop.orders (id, customer_id, status, total, created_at)
SELECT 1000000 + g, g, 'pending', 1, '2025-01-01' FROM generate_series(1, 100) g`, analyze: true,
		check: func(p *Plan) error {
			if p.Plan.NodeType != "ModifyTable" || p.Plan.Operation != "Insert" || len(p.Triggers) == 0 {
				return fmt.Errorf("want an Insert with triggers, got %s with %d triggers", p.Plan, len(p.Triggers))
			}
			return nil
		}},
	{name: "modify_update", doc: "ModifyTable Update through an index scan",
		query: "UPDATE shop.orders SET status = 'archived' WHERE customer_id = 77", analyze: true,
		check: hasNode(func(n *Node) bool { return n.NodeType == "ModifyTable" && n.Operation == "Update" })},
	{name: "cte_scan", doc: "CTE Scan of a MATERIALIZED WITH query",
		query: `WITH spend AS MATERIALIZED (SELECT customer_id, sum(total) AS total FROM shop.orders GROUP BY customer_id)
SELECT c.name, s.total FROM spend s JOIN shop.customers c ON c.id = s.customer_id WHERE s.total > 6000`, analyze: true,
		check: hasNode(func(n *Node) bool { return n.NodeType == "CTE Scan" && n.CTEName == "spend" })},
	{name: "memoize", doc: "Nested Loop with Memoize over a parameterised index scan",
		settings: "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off",
		query:    "SELECT i.order_id, p.name FROM shop.order_items i JOIN shop.products p ON p.id = i.product_id WHERE i.order_id <= 5000", analyze: true,
		check: hasNode(func(n *Node) bool { return n.NodeType == "Memoize" && n.CacheKey != "" })},
	{name: "jit", doc: "JIT compilation forced with jit_above_cost = 0",
		settings: "SET LOCAL jit = on; SET LOCAL jit_above_cost = 0; SET LOCAL jit_inline_above_cost = 0; SET LOCAL jit_optimize_above_cost = 0",
		query:    "SELECT status, sum(total) FROM shop.orders GROUP BY status", analyze: true,
		check: func(p *Plan) error {
			if p.JIT == nil || p.JIT.Functions == 0 || p.JIT.Timing == nil {
				return fmt.Errorf("no JIT block")
			}
			return nil
		}},
	{name: "row_misestimate", doc: "Seq Scan estimated at 1000 rows that returns about 176000 (expression on a column: default selectivity)",
		query: "SELECT id FROM shop.orders WHERE lower(status) = 'shipped'", analyze: true,
		check: hasNode(func(n *Node) bool { return n.NodeType == "Seq Scan" && n.TotalActualRows() > 100*n.PlanRows })},
	{name: "generic_param", doc: "generic plan of a $n statement, through Run (not analysed)",
		query: "SELECT * FROM shop.orders WHERE customer_id = $1 AND status = $2",
		facts: &sqlfacts.Facts{Kind: sqlfacts.KindSelect, Statements: 1, Params: 2},
		check: all(notAnalyzed, hasNode(func(n *Node) bool { return strings.Contains(n.IndexCond+n.RecheckCond, "$1") }))},
	{name: "plain_join_aggregate", doc: "plain EXPLAIN (not analysed) of a join with aggregation, through Run",
		query: `SELECT c.country, count(*) FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id
WHERE o.created_at > '2024-05-01' GROUP BY c.country`,
		facts: &sqlfacts.Facts{Kind: sqlfacts.KindSelect, Statements: 1},
		check: all(notAnalyzed, hasNode(func(n *Node) bool { return n.NodeType == "Hash Join" }))},
}

func hasNode(pred func(*Node) bool) func(*Plan) error {
	return func(p *Plan) error {
		for _, n := range p.Nodes() {
			if pred(n) {
				return nil
			}
		}
		return fmt.Errorf("no node of the expected shape")
	}
}

func all(checks ...func(*Plan) error) func(*Plan) error {
	return func(p *Plan) error {
		for _, c := range checks {
			if err := c(p); err != nil {
				return err
			}
		}
		return nil
	}
}

func notAnalyzed(p *Plan) error {
	if p.Analyzed() {
		return fmt.Errorf("plan is analysed")
	}
	return nil
}

// TestRecordPlans records testdata/*.json. Run it with
// go test ./explain -run TestRecordPlans -record, then go test ./explain -update.
func TestRecordPlans(t *testing.T) {
	if !*record {
		// A tool, not a check: CI runs the golden tests on what it recorded.
		t.Skip("recording only with -record")
	}
	dsn := pgtest.DB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, recordSchema); err != nil {
		t.Fatalf("create the shop: %v", err)
	}
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		t.Fatalf("vacuum the shop: %v", err)
	}
	var version string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	var readme strings.Builder
	fmt.Fprintf(&readme, "# Recorded plans\n\nEXPLAIN (FORMAT JSON) output recorded from PostgreSQL %s by\n"+
		"`go test ./explain -run TestRecordPlans -record` (schema and queries in record_test.go);\n"+
		"`go test ./explain -update` regenerates the `.golden` summaries. Analysed plans used\n"+
		"EXPLAIN (ANALYZE, BUFFERS, VERBOSE, SETTINGS, FORMAT JSON).\n\n| file | shows |\n|---|---|\n",
		strings.Fields(version)[0])
	only := map[string]bool{}
	for _, name := range strings.Split(*recordOnly, ",") {
		if name != "" {
			only[name] = true
		}
	}
	for _, c := range recordCases {
		if len(only) > 0 && !only[c.name] {
			fmt.Fprintf(&readme, "| `%s.json` | %s |\n", c.name, c.doc)
			continue
		}
		var out []byte
		if c.analyze {
			out, err = recordAnalyzed(ctx, conn, c)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		} else {
			var res Result
			res, out = runRaw(ctx, conn, c.query, c.facts, Options{StatementTimeout: time.Minute})
			if res.Error != "" {
				t.Fatalf("%s: %s", c.name, res.Error)
			}
		}
		p, err := Parse(out)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := c.check(p); err != nil {
			t.Errorf("%s: recorded plan does not show what its name says: %v", c.name, err)
		}
		if err := os.WriteFile(filepath.Join("testdata", c.name+".json"), append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&readme, "| `%s.json` | %s |\n", c.name, c.doc)
	}
	if err := os.WriteFile(filepath.Join("testdata", "README.md"), []byte(readme.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func recordAnalyzed(ctx context.Context, conn *pgx.Conn, c recordCase) ([]byte, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	for _, s := range []string{"SET LOCAL max_parallel_workers_per_gather = 0", c.settings, c.setup} {
		if s == "" {
			continue
		}
		if _, err := tx.Exec(ctx, s); err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
	}
	var out []byte
	err = tx.QueryRow(ctx, "EXPLAIN (ANALYZE, BUFFERS, VERBOSE, SETTINGS, FORMAT JSON) "+c.query, pgx.QueryExecModeExec).Scan(&out)
	return out, err
}
