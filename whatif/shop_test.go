package whatif_test

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/fixtures/shop"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/whatif"
)

// TestShopWhatIf runs the index advisor end to end on the shop fixture and
// logs the what-if measurements for the README. It loads the fixture at
// WHATIF_SHOP_SCALE (e.g. 1) and runs the demo workload, so it is opt-in:
//
//	WHATIF_SHOP_SCALE=1 go test ./whatif -run TestShopWhatIf -v
func TestShopWhatIf(t *testing.T) {
	scaleText := os.Getenv("WHATIF_SHOP_SCALE")
	if scaleText == "" {
		t.Skip("set WHATIF_SHOP_SCALE (e.g. 1) to run the what-if on the shop fixture")
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
	if _, err := shop.RunWorkload(ctx, dsn, shop.DemoWorkload()); err != nil {
		t.Fatal(err)
	}
	snap, err := pgstat.Collect(ctx, conn, pgstat.CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Views, err = pgstat.CollectViews(ctx, conn); err != nil {
		t.Fatal(err)
	}
	aopts := advisor.DefaultOptions()
	inputs := advisor.WhatIfInputs(snap, aopts)
	wopts := advisor.WhatIfOptions(aopts)
	start := time.Now()
	cands := whatif.Candidates(snap, inputs, wopts)
	res, err := whatif.Evaluate(ctx, conn, snap, inputs, cands, wopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("what-if: %d statements, %d candidates (%d built with HypoPG), %d planner calls, %.2f s",
		len(inputs), len(cands), res.CandidatesTried, res.PlannerCalls, time.Since(start).Seconds())
	if snap.WhatIf, err = json.Marshal(res); err != nil {
		t.Fatal(err)
	}
	var rules []*advisor.Rule
	for _, n := range []string{"missing-index", "unused-index", "redundant-index", "fk-missing-index", "invalid-index"} {
		rules = append(rules, advisor.Lookup(n))
	}
	out := advisor.Run(snap, rules, aopts)
	for _, f := range out.Findings {
		sql := ""
		if f.Fix != nil {
			sql = strings.Join(f.Fix.SQL, "; ")
		}
		t.Logf("%s %s: %s\n    %s", f.Severity, f.Rule, f.Message, sql)
	}
	for _, want := range shop.Expected() {
		if !contains(rules, want.Rule) {
			continue
		}
		found := false
		for _, f := range out.Findings {
			if f.Rule != want.Rule || !strings.Contains(f.Query, want.QueryContains) {
				continue
			}
			text := ""
			if f.Fix != nil {
				text = f.Fix.Summary + " " + strings.Join(f.Fix.SQL, " ")
			}
			objects := strings.Join(f.Objects, " ")
			if (want.Table == "" || strings.Contains(objects, want.Table)) && (want.Index == "" || strings.Contains(objects, want.Index)) &&
				strings.Contains(text, want.FixContains) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s (%s) not found: %s", want.ID, want.Rule, want.Problem)
		}
	}
	for _, c := range shop.Controls() {
		for _, f := range out.Findings {
			if f.Query != "" && strings.Contains(f.Query, c.QueryContains) {
				t.Errorf("control %s got %s: %s", c.ID, f.Rule, f.Message)
			}
		}
	}
}

func contains(rules []*advisor.Rule, name string) bool {
	for _, r := range rules {
		if r.Name == name {
			return true
		}
	}
	return false
}
