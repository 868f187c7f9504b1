package whatif

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// liveEvents creates events (200k rows in random order, so that no column
// correlates with the heap): created_at spread over the 200 days before now,
// kind skewed ('a' 60%, 'b' 30%, 'c' 9.8%, 'd' 0.2%), bucket uniform over
// 5000 values.
func liveEvents(t *testing.T) (*pgx.Conn, *pgstat.Snapshot) {
	t.Helper()
	conn := liveDB(t,
		`CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, kind text NOT NULL, bucket int NOT NULL, payload text)`,
		`SELECT setseed(0.42)`,
		`INSERT INTO events
		 SELECT i, now() - (i * 86.4) * interval '1 second',
		   CASE WHEN i % 1000 < 600 THEN 'a' WHEN i % 1000 < 900 THEN 'b' WHEN i % 1000 < 998 THEN 'c' ELSE 'd' END,
		   i % 5000, repeat('x', 40)
		 FROM generate_series(1, 200000) i ORDER BY random()`,
		`ANALYZE events`,
	)
	snap := pgstat.New()
	if err := conn.QueryRow(context.Background(), "SELECT current_setting('server_version_num')::int").Scan(&snap.Server.VersionNum); err != nil {
		t.Fatal(err)
	}
	snap.Tables = []pgstat.Table{{Schema: "public", Name: "events", Kind: "r", Rows: 200000, Columns: []pgstat.Column{
		col("id", -1), col("created_at", -1), col("kind", 4), col("bucket", 5000), col("payload", 1)}}}
	snap.Indexes = []pgstat.Index{{Schema: "public", Table: "events", Name: "events_pkey", Method: "btree", Columns: []string{"id"}, Unique: true, Primary: true, Valid: true}}
	return conn, snap
}

// TestRepresentativeValues checks that a statement whose generic plan
// misjudges its rows per call is costed with a custom plan for values from
// pg_stats, which gets it the index a generic plan never finds worth it
// (the same evaluation with custom plans turned off recommends nothing),
// that the evidence names the values, that statements whose estimates
// agree keep their generic plan, and that the recorded result selects the
// same offline.
func TestRepresentativeValues(t *testing.T) {
	conn, snap := liveEvents(t)
	ctx := context.Background()
	const calls, perCall = 1000, 400 // 0.2% of the table per call
	for _, c := range []struct {
		name, sql string
		perCall   int64
		index     string // the key list recommended with representative values; "" none
		withoutIx string // … and with the generic plan only
		summary   []string
		skipped   string // why the generic plan is kept although the estimates disagree
	}{
		{"range", `SELECT id, payload FROM events WHERE created_at >= $1`, perCall, "created_at", "",
			[]string{"costed with created_at >= '20", "pg_stats histogram: 0.2", "matching 400 rows per call", "instead of the generic plan's 66,667 rows (33%)"}, ""},
		{"interval back from now", `SELECT id, payload FROM events WHERE created_at > now() - $1::interval`, perCall, "created_at", "",
			[]string{"costed with created_at > now() - '", "::interval (pg_stats histogram: 0.2", "matching 400 rows per call"}, ""},
		{"equality on a skewed column", `SELECT id, payload FROM events WHERE kind = $1`, perCall, "kind", "",
			[]string{"costed with kind = 'd' (pg_stats most common values: 0.", "of rows, matching 400 rows per call", "instead of the generic plan's 50,000 rows (25%)"}, ""},
		{"a write", `UPDATE events SET payload = $1 WHERE created_at >= $2`, perCall, "created_at", "",
			[]string{"costed with created_at >= '20", "matching 400 rows per call", "; other parameters at typical values: payload = 'xxxx"}, ""},
		{"estimates agree", `SELECT id, payload FROM events WHERE bucket = $1`, 40, "bucket", "bucket", nil, ""},
		{"a LIMIT hides the filter's rows", `SELECT id, payload FROM events WHERE created_at >= $1 LIMIT 100000`, perCall, "", "", nil, "a LIMIT or OFFSET caps the rows per call"},
		{"a parameter not compared with a column", `SELECT id, payload FROM events WHERE created_at >= $1 AND length(payload) > $2`, perCall, "", "", nil, "$2 is not compared with a column"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := inputFor(t, c.sql)
			in.Calls, in.Rows, in.TotalMS, in.MeanMS = calls, calls*c.perCall, 50000, 50
			inputs := []Input{in}
			cands := Candidates(snap, inputs, DefaultOptions())
			keys := func(opts Options) (string, *Result) {
				t.Helper()
				res, err := Evaluate(ctx, conn, snap, inputs, cands, opts)
				if err != nil {
					t.Fatal(err)
				}
				if res.HypoPG == "" {
					pgtest.Unavailable(t, "hypopg not installed: %s", res.Unavailable)
				}
				var got []string
				for _, r := range Select(snap, inputs, res, opts) {
					got = append(got, r.KeyList())
				}
				return strings.Join(got, "; "), res
			}
			off := DefaultOptions()
			off.CustomPlanMisestimate = 1e12 // the generic plan only: before this change
			if got, _ := keys(off); got != c.withoutIx {
				t.Errorf("generic plan only: got %q, want %q", got, c.withoutIx)
			}
			got, res := keys(DefaultOptions())
			if got != c.index {
				t.Errorf("with representative values: got %q, want %q", got, c.index)
			}
			if len(res.Statements) != 1 {
				t.Fatalf("statements %+v", res.Statements)
			}
			sc := res.Statements[0]
			rep := sc.Representative
			if c.skipped != "" {
				if rep == nil || !strings.Contains(rep.Skipped, c.skipped) || sc.Mode != explain.ModeGeneric ||
					!strings.HasPrefix(rep.Summary, "costed with the generic plan, which estimates ") {
					t.Errorf("want the generic plan kept because %q, got mode %s, %+v", c.skipped, sc.Mode, rep)
				}
				return
			}
			if c.summary == nil {
				if rep != nil || sc.Mode != explain.ModeGeneric {
					t.Errorf("estimates agree: want the generic plan and no representative values, got mode %s, %+v", sc.Mode, rep)
				}
				return
			}
			if rep == nil || rep.Skipped != "" || sc.Mode != explain.ModeCustom {
				t.Fatalf("want a custom plan, got mode %s, %+v", sc.Mode, rep)
			}
			t.Log(rep.Summary)
			for _, want := range c.summary {
				if !strings.Contains(rep.Summary, want) {
					t.Errorf("summary %q lacks %q", rep.Summary, want)
				}
			}
			if m := misestimate(rep.CustomRows, perCall); m > 2 {
				t.Errorf("custom plan estimates %.0f rows, %.1f× off the %d observed", rep.CustomRows, m, perCall)
			}
			if rep.GenericCost <= 0 || sc.Cost <= 0 {
				t.Errorf("costs: generic %.1f, custom %.1f", rep.GenericCost, sc.Cost)
			}
			// Offline: the recorded result chooses the same and keeps the evidence.
			data, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			var back Result
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			recs := Select(snap, inputs, &back, DefaultOptions())
			if len(recs) != 1 || recs[0].KeyList() != c.index || back.Statements[0].Representative.Summary != rep.Summary {
				t.Errorf("offline: %+v, %+v", recs, back.Statements[0].Representative)
			}
		})
	}
}

// TestChooseValues checks the choice of values from statistics, without a server.
func TestChooseValues(t *testing.T) {
	hist := []string{"0", "10", "20", "30", "40", "50", "60", "70", "80", "90", "100"}
	num := columnStats{HasStats: true, TableRows: 1000, Type: "integer", Category: "N", NDistinct: -1, Histogram: hist}
	skew := columnStats{HasStats: true, TableRows: 1000, Type: "text", Category: "S", NDistinct: 3,
		MCV: []string{"a", "b", "c"}, MCF: []float64{0.7, 0.29, 0.01}}
	x, k := sqlfacts.ColumnRef{Table: "t", Column: "x"}, sqlfacts.ColumnRef{Table: "t", Column: "k"}
	stats := map[sqlfacts.ColumnRef]columnStats{x: num, k: skew}
	for _, c := range []struct {
		name  string
		uses  []paramUse
		ratio float64
		want  []string // literal or lo..hi@frac per parameter
		frac  float64  // fraction of the first adjusted choice
		why   bool
	}{
		{"lower bound, 5% of rows", []paramUse{{param: 1, col: x, role: roleLower, op: ">="}}, 0.15, []string{"90..100@0.50"}, 0.05, false},
		{"upper bound on a bucket edge", []paramUse{{param: 1, col: x, role: roleUpper, op: "<"}}, 0.6, []string{"20"}, 0.2, false},
		{"a pair: the most recent window", []paramUse{{param: 1, col: x, role: roleLower, op: ">="}, {param: 2, col: x, role: roleUpper, op: "<="}}, 2,
			[]string{"90..100@0.90", "100"}, 0.01, false},
		{"equality: the rare most common value", []paramUse{{param: 1, col: k, role: roleEqual, op: "="}}, 0.03, []string{"c"}, 0.01, false},
		{"range adjusted, equality typical", []paramUse{{param: 1, col: k, role: roleEqual, op: "="}, {param: 2, col: x, role: roleLower, op: ">"}}, 0.03,
			[]string{"b", "90..100@0.90"}, 0.01, false},
		{"equality without most common values", []paramUse{{param: 1, col: x, role: roleEqual, op: "="}}, 0.01, nil, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, why := chooseValues(c.uses, stats, c.ratio)
			if (why != "") != c.why {
				t.Fatalf("why %q", why)
			}
			if c.why {
				return
			}
			var vals []string
			first := -1.0
			for _, ch := range got {
				v := ch.literal
				if ch.interp {
					v = fmt.Sprintf("%s..%s@%.2f", ch.lo, ch.hi, ch.frac)
				}
				vals = append(vals, v)
				if ch.adjusted && first < 0 {
					first = ch.fraction
				}
			}
			if strings.Join(vals, " ") != strings.Join(c.want, " ") {
				t.Errorf("values %q, want %q", vals, c.want)
			}
			if math.Abs(first-c.frac) > 1e-9 {
				t.Errorf("fraction %.4f, want %.4f", first, c.frac)
			}
		})
	}
}
