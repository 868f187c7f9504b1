package advisor

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// unbatchedLoopRows are representative rows for each statement of the
// unbatched-writes-loop case, one []any per execution of the loop: keys
// repeat on purpose (a delta twice on one product, two statuses for one
// order, one item deleted twice).
var unbatchedLoopRows = []struct {
	query  string // the finding's statement contains it
	rows   [][]any
	ignore string // a column the comparison leaves out (a serial id)
}{
	{query: "UPDATE shop.products SET price = price + $1", rows: [][]any{{10.0, int64(1)}, {20.0, int64(1)}, {0.5, int64(2)}, {-1.25, int64(3)}}},
	{query: "INSERT INTO shop.events", ignore: "id", rows: [][]any{
		{int64(1), "viewed", `{"n": 1}`, "1 day"}, {int64(1), "viewed", `{"n": 2}`, "2 hours"}, {int64(7), "paid", `{}`, "00:00:01"}}},
	{query: "UPDATE shop.orders SET status = $1", rows: [][]any{{"paid", int64(5)}, {"cancelled", int64(5)}, {"delivered", int64(6)}}},
	{query: "DELETE FROM shop.order_items", rows: [][]any{{int64(1)}, {int64(2)}, {int64(2)}, {int64(3)}}},
}

// TestUnbatchedRewritesEqualTheLoop runs every rewrite of the
// unbatched-writes-loop case on the recorded schema: PREPAREd as a live
// audit does, then executed with the loop's rows as arrays inside a
// rolled-back transaction; the table afterwards must equal what the
// one-row-per-statement loop leaves.
func TestUnbatchedRewritesEqualTheLoop(t *testing.T) {
	dsn := pgtest.DB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	mustExec(ctx, t, conn, workloadSchema)
	data, err := os.ReadFile("testdata/unbatched-writes-loop/snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := pgstat.Read(data)
	if err != nil {
		t.Fatal(err)
	}
	res := Run(snap, []*Rule{UnbatchedWrites}, DefaultOptions())
	if len(res.Findings) != len(unbatchedLoopRows) {
		t.Fatalf("%d findings, want %d", len(res.Findings), len(unbatchedLoopRows))
	}
	rewrites := UnbatchedRewrites(snap, DefaultOptions())
	if len(rewrites) != len(unbatchedLoopRows) {
		t.Errorf("UnbatchedRewrites gives %d statements, want one per finding (%d): %q", len(rewrites), len(unbatchedLoopRows), rewrites)
	}
	for _, c := range unbatchedLoopRows {
		var f *Finding
		for i := range res.Findings {
			if strings.Contains(res.Findings[i].Query, c.query) {
				f = &res.Findings[i]
			}
		}
		if f == nil || f.Fix == nil || len(f.Fix.SQL) == 0 || len(f.Objects) == 0 {
			t.Errorf("no finding with a fix for %q", c.query)
			continue
		}
		rewrite := FixStatement(f.Fix.SQL[0])
		if !strings.Contains(rewrite, "unnest(") && !strings.Contains(rewrite, "ANY(") {
			t.Errorf("%s: the first fix is not the batched statement:\n%s", c.query, rewrite)
			continue
		}
		t.Run(f.Objects[0], func(t *testing.T) {
			afterLoop, afterBatch := loopAndBatch(ctx, t, conn, sqlfacts.CastTypedParams(f.Query), rewrite, f.Objects[0], c.ignore, c.rows)
			if afterBatch != afterLoop {
				t.Errorf("%s after the rewrite differs from after the loop\nloop:  %s\nbatch: %s\n%s", f.Objects[0], afterLoop, afterBatch, rewrite)
			}
		})
	}
	// The comparison can fail: the naive UPDATE … FROM unnest, without
	// grouping by key, adds one of the deltas 10 and 20 on product 1, not both.
	naive := "UPDATE shop.products SET price = price + v.p1 FROM unnest($1::numeric[], $2::bigint[]) AS v(p1, p2) WHERE id = v.p2"
	afterLoop, afterBatch := loopAndBatch(ctx, t, conn, "UPDATE shop.products SET price = price + $1 WHERE id = $2", naive, "shop.products", "", unbatchedLoopRows[0].rows)
	if afterLoop == afterBatch {
		t.Errorf("the naive batched UPDATE left the table as the loop did: the comparison proves nothing")
	}
}

// loopAndBatch runs loop once per row and batch once with the rows as
// arrays, each from the same start inside one transaction that is rolled
// back, and returns table after each.
func loopAndBatch(ctx context.Context, t *testing.T, conn *pgx.Conn, loop, batch, table, ignore string, rows [][]any) (afterLoop, afterBatch string) {
	t.Helper()
	mustExec(ctx, t, conn, "BEGIN")
	defer mustExec(ctx, t, conn, "ROLLBACK")
	state := func() string {
		var s string
		q := "SELECT coalesce(jsonb_agg(to_jsonb(t) - $1::text ORDER BY (to_jsonb(t) - $1::text)::text), '[]')::text FROM " + table + " t"
		if err := conn.QueryRow(ctx, q, ignore).Scan(&s); err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		return s
	}
	before := state()
	mustExec(ctx, t, conn, "SAVEPOINT start")
	for _, r := range rows {
		mustExec(ctx, t, conn, loop, r...)
	}
	afterLoop = state()
	mustExec(ctx, t, conn, "ROLLBACK TO SAVEPOINT start")
	if afterLoop == before {
		t.Fatalf("the loop changed nothing in %s: the comparison would prove nothing", table)
	}
	// As a live audit checks it: PREPARE (parse, analyse, type), DEALLOCATE.
	mustExec(ctx, t, conn, "PREPARE rewrite_check AS "+batch)
	mustExec(ctx, t, conn, "DEALLOCATE rewrite_check")
	args := make([]any, len(rows[0]))
	for j := range args {
		args[j] = column(rows, j)
	}
	if _, err := conn.Exec(ctx, batch, args...); err != nil {
		t.Fatalf("the rewrite does not run: %v\n%s", err, batch)
	}
	return afterLoop, state()
}

// column is the j-th value of every row, as a typed slice (the batch's array).
func column(rows [][]any, j int) any {
	switch rows[0][j].(type) {
	case int64:
		out := make([]int64, len(rows))
		for i, r := range rows {
			out[i] = r[j].(int64)
		}
		return out
	case float64:
		out := make([]float64, len(rows))
		for i, r := range rows {
			out[i] = r[j].(float64)
		}
		return out
	default:
		out := make([]string, len(rows))
		for i, r := range rows {
			out[i] = r[j].(string)
		}
		return out
	}
}
