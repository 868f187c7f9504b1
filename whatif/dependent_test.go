package whatif

import (
	"context"
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// TestTrimDependentKeys: region and lang are functions of country (the
// blog's page_views). The candidate for a filter on all three is costed as
// (country) with the reason naming the keys left out; a key that does split
// country's groups (post_id) stays, and so do all of them when the
// statement returned no rows (a combination that may not exist).
func TestTrimDependentKeys(t *testing.T) {
	conn := liveDB(t,
		`CREATE TABLE pv (id int PRIMARY KEY, country text NOT NULL, region text NOT NULL, lang text NOT NULL, post_id int NOT NULL, filler text)`,
		`INSERT INTO pv SELECT g, 'c' || (g * 7) % 50, 'r' || (g * 7) % 50, 'l' || ((g * 7) % 50) % 20, g % 997, repeat('x', 100)
		 FROM generate_series(1, 200000) g`,
		`ANALYZE pv`,
	)
	ctx := context.Background()
	snap, err := pgstat.Collect(ctx, conn, pgstat.CollectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		sql, keys, dropped string
		rowsPerCall        int64
	}{
		{`SELECT post_id, count(*) FROM pv WHERE country = $1 AND region = $2 AND lang = $3 GROUP BY post_id`, "country", "left out", 40},
		{`SELECT id FROM pv WHERE country = $1 AND post_id = $2`, "", "", 40},
		{`SELECT post_id, count(*) FROM pv WHERE country = $1 AND region = $2 AND lang = $3 GROUP BY post_id`, "", "", 0},
	} {
		in := inputFor(t, c.sql)
		in.Rows = c.rowsPerCall * in.Calls
		cands := Candidates(snap, []Input{in}, DefaultOptions())
		res, err := Evaluate(ctx, conn, snap, []Input{in}, cands, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if res.HypoPG == "" {
			pgtest.Unavailable(t, "hypopg not installed: %s", res.Unavailable)
		}
		for _, cc := range res.Candidates {
			if cc.Method != "btree" || cc.Table != "pv" {
				continue
			}
			got := keyNames(cc.Keys)
			t.Logf("%s: %s (%s)", c.sql, got, cc.Reason)
			if c.keys != "" {
				if got != c.keys || !strings.Contains(cc.Reason, "region") || !strings.Contains(cc.Reason, c.dropped) {
					t.Errorf("%s: candidate %s (%s), want (%s) naming region as left out", c.sql, got, cc.Reason, c.keys)
				}
			} else if strings.Contains(cc.Reason, "left out") || strings.Count(got, ",") < 1 {
				t.Errorf("%s (%d rows per call): candidate %s (%s), want every key kept", c.sql, c.rowsPerCall, got, cc.Reason)
			}
		}
	}
}
