package explain

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// recordedPlans returns the recorded plan files, name → content.
func recordedPlans(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no recorded plans in testdata (%v)", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = data
	}
	return out
}

func TestGoldenPlans(t *testing.T) {
	plans := recordedPlans(t)
	checks := map[string]func(*Plan) error{}
	for _, c := range recordCases {
		checks[c.name] = c.check
		if _, ok := plans[c.name]; !ok {
			t.Errorf("testdata/%s.json is missing: record it with -record", c.name)
		}
	}
	for name, data := range plans {
		t.Run(name, func(t *testing.T) {
			p, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if check := checks[name]; check == nil {
				t.Errorf("no record case for %s.json", name)
			} else if err := check(p); err != nil {
				t.Errorf("%s.json does not show what its name says: %v", name, err)
			}
			got := summarize(p)
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (regenerate with -update)", err)
			}
			if got != string(want) {
				t.Errorf("summary of %s.json differs from %s (regenerate with -update if intended):\n--- got\n%s\n--- want\n%s", name, golden, got, want)
			}
		})
	}
}

// summarize is the normalised, line-per-fact text the golden files hold:
// the plan-level figures, then each node (String) indented by depth with the
// fields rules read.
func summarize(p *Plan) string {
	var b strings.Builder
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	fmt.Fprintf(&b, "analyzed: %v\n", p.Analyzed())
	if p.PlanningTime > 0 || p.ExecutionTime > 0 {
		fmt.Fprintf(&b, "planning_time_ms: %s\nexecution_time_ms: %s\n", f(p.PlanningTime), f(p.ExecutionTime))
	}
	for _, tr := range p.Triggers {
		fmt.Fprintf(&b, "trigger: %s on %s calls=%s time_ms=%s\n", tr.Name, tr.Relation, f(tr.Calls), f(tr.Time))
	}
	if p.JIT != nil {
		fmt.Fprintf(&b, "jit: functions=%d", p.JIT.Functions)
		if p.JIT.Timing != nil {
			fmt.Fprintf(&b, " total_ms=%s generation_ms=%s", f(p.JIT.Timing.Total), f(p.JIT.Timing.Generation))
			if p.JIT.Timing.GenerationDeform > 0 {
				fmt.Fprintf(&b, " generation_deform_ms=%s", f(p.JIT.Timing.GenerationDeform))
			}
		}
		b.WriteString("\n")
	}
	if len(p.Settings) > 0 {
		keys := make([]string, 0, len(p.Settings))
		for k := range p.Settings {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "setting: %s = %v\n", k, p.Settings[k])
		}
	}
	nodes := 0
	Walk(p.Plan, func(n *Node, depth int) bool {
		nodes++
		ind := strings.Repeat("  ", depth)
		head := n.String()
		if n.SubplanName != "" {
			head = n.SubplanName + ": " + head
		}
		b.WriteString(ind + head + "\n")
		detail := func(k, v string) { b.WriteString(ind + "    " + k + ": " + v + "\n") }
		num := func(k string, v float64) {
			if v != 0 {
				detail(k, f(v))
			}
		}
		str := func(k, v string) {
			if v != "" {
				detail(k, v)
			}
		}
		str("index cond", n.IndexCond)
		str("recheck cond", n.RecheckCond)
		str("hash cond", n.HashCond)
		str("merge cond", n.MergeCond)
		str("join filter", n.JoinFilter)
		str("filter", n.Filter)
		str("run condition", n.RunCondition)
		num("rows removed by filter (total)", n.TotalRowsRemovedByFilter())
		num("rows removed by join filter (total)", n.TotalRowsRemovedByJoinFilter())
		num("rows removed by index recheck", n.RowsRemovedByIndexRecheck)
		num("exact heap blocks", n.ExactHeapBlocks)
		num("lossy heap blocks", n.LossyHeapBlocks)
		num("heap fetches", n.HeapFetches)
		if len(n.SortKey) > 0 {
			detail("sort key", strings.Join(n.SortKey, ", "))
		}
		if len(n.PresortedKey) > 0 {
			detail("presorted key", strings.Join(n.PresortedKey, ", "))
		}
		if len(n.GroupKey) > 0 {
			detail("group key", strings.Join(n.GroupKey, ", "))
		}
		if n.SortMethod != "" {
			detail("sort", fmt.Sprintf("%s %s %skB", n.SortMethod, n.SortSpaceType, f(n.SortSpaceUsed)))
		}
		for _, w := range n.Workers {
			if w.SortMethod != "" {
				detail(fmt.Sprintf("worker %d sort", w.WorkerNumber), fmt.Sprintf("%s %s %skB", w.SortMethod, w.SortSpaceType, f(w.SortSpaceUsed)))
			}
		}
		if n.HashBuckets > 0 {
			detail("hash", fmt.Sprintf("buckets=%s (originally %s) batches=%s (originally %s) memory=%skB",
				f(n.HashBuckets), f(n.OriginalHashBuckets), f(n.HashBatches), f(n.OriginalHashBatches), f(n.PeakMemoryUsage)))
		} else {
			num("peak memory kB", n.PeakMemoryUsage)
		}
		num("disk usage kB", n.DiskUsage)
		num("hashagg batches", n.HashAggBatches)
		if n.WorkersPlanned > 0 {
			detail("workers", fmt.Sprintf("planned=%d launched=%d", n.WorkersPlanned, n.WorkersLaunched))
		}
		str("cache key", n.CacheKey)
		str("cte", n.CTEName)
		if n.SharedHitBlocks+n.SharedReadBlocks+n.TempReadBlocks+n.TempWrittenBlocks > 0 {
			detail("buffers", fmt.Sprintf("shared hit=%s read=%s dirtied=%s written=%s, temp read=%s written=%s",
				f(n.SharedHitBlocks), f(n.SharedReadBlocks), f(n.SharedDirtiedBlocks), f(n.SharedWrittenBlocks),
				f(n.TempReadBlocks), f(n.TempWrittenBlocks)))
		}
		return true
	})
	fmt.Fprintf(&b, "nodes: %d\n", nodes)
	return b.String()
}

func TestParseUnknownFields(t *testing.T) {
	data := []byte(`[{"Plan": {"Node Type": "Seq Scan", "Relation Name": "t", "Schema": "s", "Total Cost": 12.5,
  "Plan Rows": 3, "Plan Width": 8, "Some Future Field": {"nested": [1, 2, {"x": null}]}, "Another": "x",
  "Plans": [{"Node Type": "Result", "Brand New": true}]},
  "Query Identifier": 12345, "Serialization": {"Time": 1.5}}]`)
	p, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse with unknown fields: %v", err)
	}
	if p.Plan.QualifiedRelation() != "s.t" || p.Plan.TotalCost != 12.5 || len(p.Nodes()) != 2 {
		t.Errorf("parsed %s with %d nodes", p.Plan, len(p.Nodes()))
	}
	// A single object, as some tools save one plan.
	if p, err := Parse([]byte(`{"Plan": {"Node Type": "Result"}}`)); err != nil || p.Plan.NodeType != "Result" {
		t.Errorf("object form: %v", err)
	}
}

func TestParseRejectsGarbage(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "empty input"},
		{"   \n", "empty input"},
		{"hello", `starts with "hello", expected [ or {`},
		{"Seq Scan on t  (cost=0.00..35.50 rows=2550 width=4)", "EXPLAIN text output; use EXPLAIN (FORMAT JSON)"},
		{"[{\"Plan\": {\"Node Type\": ", "not the output of EXPLAIN (FORMAT JSON)"},
		{"[]", `no "Plan"`},
		{`[{"Query": 1}]`, `no "Plan"`},
		{`{}`, `no "Plan"`},
		{`[{"Plan": {"Node Type": 7}}]`, "not the output of EXPLAIN (FORMAT JSON)"},
	} {
		p, err := Parse([]byte(c.in))
		if err == nil || p != nil {
			t.Errorf("Parse(%q) accepted it", c.in)
			continue
		}
		if !strings.HasPrefix(err.Error(), "parse plan: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) error %q, want it to contain %q", c.in, err, c.want)
		}
	}
}

func TestNodeHelpers(t *testing.T) {
	p, err := Parse(recordedPlans(t)["nested_loop_subplan"])
	if err != nil {
		t.Fatal(err)
	}
	var sub *Node
	for _, n := range p.Nodes() {
		if n.ParentRelationship == "SubPlan" {
			sub = n
		}
	}
	if sub == nil {
		t.Fatal("no SubPlan")
	}
	if sub.Loops() != sub.ActualLoops || sub.Loops() < 2 {
		t.Errorf("Loops() = %v, Actual Loops %v", sub.Loops(), sub.ActualLoops)
	}
	if got, want := sub.TotalActualRows(), sub.ActualRows*sub.ActualLoops; got != want {
		t.Errorf("TotalActualRows() = %v, want %v", got, want)
	}
	if (&Node{}).Loops() != 1 {
		t.Error("Loops of an unanalysed node is not 1")
	}
	seq, err := Parse(recordedPlans(t)["seq_scan_filter"])
	if err != nil {
		t.Fatal(err)
	}
	var scan *Node
	for _, n := range seq.Nodes() {
		if n.NodeType == "Seq Scan" {
			scan = n
		}
	}
	if scan == nil || scan.QualifiedRelation() != "shop.orders" || scan.TotalRowsRemovedByFilter() < 100000 {
		t.Fatalf("seq scan %v", scan)
	}
	if s := scan.String(); !strings.HasPrefix(s, "Seq Scan on shop.orders (cost=0.00..") || !strings.Contains(s, " loops=1)") {
		t.Errorf("String() = %q", s)
	}
	for _, c := range []struct {
		n    Node
		want string
	}{
		{Node{NodeType: "Seq Scan", RelationName: "orders", Schema: "shop", StartupCost: 0, TotalCost: 21450.2, PlanRows: 12, PlanWidth: 64},
			"Seq Scan on shop.orders (cost=0.00..21450.20 rows=12 width=64)"},
		{Node{NodeType: "Index Scan", ScanDirection: "Backward", IndexName: "orders_pkey", RelationName: "orders", Alias: "o", TotalCost: 1},
			"Index Scan Backward using orders_pkey on orders o (cost=0.00..1.00 rows=0 width=0)"},
		{Node{NodeType: "Hash Join", JoinType: "Left"}, "Hash Left Join (cost=0.00..0.00 rows=0 width=0)"},
		{Node{NodeType: "Nested Loop", JoinType: "Anti"}, "Nested Loop Anti Join (cost=0.00..0.00 rows=0 width=0)"},
		{Node{NodeType: "Aggregate", Strategy: "Hashed", PartialMode: "Simple"}, "HashAggregate (cost=0.00..0.00 rows=0 width=0)"},
		{Node{NodeType: "Aggregate", Strategy: "Plain", PartialMode: "Finalize"}, "Finalize Aggregate (cost=0.00..0.00 rows=0 width=0)"},
		{Node{NodeType: "ModifyTable", Operation: "Update", RelationName: "orders", Schema: "shop"}, "Update on shop.orders (cost=0.00..0.00 rows=0 width=0)"},
		{Node{NodeType: "Seq Scan", ParallelAware: true, RelationName: "t"}, "Parallel Seq Scan on t (cost=0.00..0.00 rows=0 width=0)"},
		{Node{NodeType: "CTE Scan", CTEName: "spend", Alias: "s"}, "CTE Scan on spend s (cost=0.00..0.00 rows=0 width=0)"},
	} {
		if got := c.n.String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
	}
	if (&Node{NodeType: "Result"}).QualifiedRelation() != "" {
		t.Error("QualifiedRelation of a Result is not empty")
	}
	if (&Plan{}).Analyzed() || (*Plan)(nil).Nodes() != nil {
		t.Error("empty plan helpers")
	}
	if plain, _ := Parse(recordedPlans(t)["plain_join_aggregate"]); plain.Analyzed() {
		t.Error("plain plan reported as analysed")
	}
}

func BenchmarkParse(b *testing.B) {
	plans := recordedPlans(b)
	var all [][]byte
	size := 0
	for _, data := range plans {
		all = append(all, data)
		size += len(data)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, data := range all {
			if _, err := Parse(data); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(all))/b.Elapsed().Seconds(), "plans/s")
}

func BenchmarkWalk(b *testing.B) {
	var parsed []*Plan
	for _, data := range recordedPlans(b) {
		p, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		parsed = append(parsed, p)
	}
	b.ReportAllocs()
	b.ResetTimer()
	nodes := 0
	for i := 0; i < b.N; i++ {
		for _, p := range parsed {
			Walk(p.Plan, func(n *Node, _ int) bool {
				nodes++
				return true
			})
		}
	}
	b.ReportMetric(float64(nodes)/b.Elapsed().Seconds(), "nodes/s")
}
