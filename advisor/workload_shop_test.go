package advisor

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgadvisor/pgadvisor/fixtures/shop"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// TestShopWorkloadRules loads the shop fixture, runs its demo workload with
// sessions held idle in transaction, and checks that the workload and
// activity rules report the fixture's planted problems (P3, P5, P6, P9) and
// nothing on its controls. It takes about 20 s, so it is opt-in:
//
//	PGADVISOR_SHOP_SCALE=1 go test ./advisor -run TestShopWorkloadRules -v
func TestShopWorkloadRules(t *testing.T) {
	scaleText := os.Getenv("PGADVISOR_SHOP_SCALE")
	if scaleText == "" {
		t.Skip("set PGADVISOR_SHOP_SCALE (e.g. 1) to run the workload rules on the shop fixture")
	}
	scale, err := strconv.ParseFloat(scaleText, 64)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dsn := pgtest.DB(t)
	conn, err := pgstat.Connect(ctx, dsn, pgstat.ConnectOptions{StatementTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := shop.Load(ctx, conn, scale); err != nil {
		t.Fatal(err)
	}
	release, err := shop.HoldIdleInTransaction(ctx, dsn, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if _, err := shop.RunWorkload(ctx, dsn, shop.DemoWorkload()); err != nil {
		t.Fatal(err)
	}
	snap, err := pgstat.Collect(ctx, conn, pgstat.CollectOptions{SampleWindow: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("PGADVISOR_SHOP_DEBUG") != "" {
		stmts, _ := Statements(snap)
		for _, s := range stmts[:min(12, len(stmts))] {
			t.Logf("%.3f share %d calls %.2f ms/call %s", s.Share, s.Calls, s.MeanExecTime, s.Query[:min(90, len(s.Query))])
		}
		for _, tb := range snap.Tables {
			t.Logf("%s reads %d writes %d", tb.Name, tb.SeqTupRead+tb.IdxTupFetch, tb.NTupIns+tb.NTupUpd+tb.NTupDel)
		}
	}
	rules := []*Rule{NPlusOne, UnbatchedWrites, UnboundedResult, PoolExhaustion, Denormalization}
	res := Run(snap, rules, DefaultOptions())
	for _, f := range res.Findings {
		t.Logf("%s %s: %s", f.Severity, f.Rule, f.Message)
	}
	mine := map[string]bool{}
	for _, r := range rules {
		mine[r.Name] = true
	}
	for _, want := range shop.Expected() {
		if !mine[want.Rule] {
			continue
		}
		found := false
		for _, f := range res.Findings {
			if f.Rule != want.Rule || !strings.Contains(f.Query, want.QueryContains) {
				continue
			}
			if want.Table != "" && !containsName(f.Objects, want.Table) {
				continue
			}
			fix := ""
			if f.Fix != nil {
				fix = f.Fix.Summary + "\n" + strings.Join(f.Fix.SQL, "\n")
			}
			if !strings.Contains(fix, want.FixContains) {
				continue
			}
			found = true
		}
		if !found {
			t.Errorf("%s (%s) not found: %s", want.ID, want.Rule, want.Problem)
		}
	}
	if n := checkFixSQL(ctx, t, conn, "shop", res.Findings); n < 4 {
		t.Errorf("checked only %d fix statements", n)
	}
	for _, c := range shop.Controls() {
		for _, f := range res.Findings {
			if f.Query != "" && strings.Contains(f.Query, c.QueryContains) {
				t.Errorf("control %s has a %s finding: %s", c.ID, f.Rule, f.Message)
			}
		}
	}
}
