package advisor

import (
	"testing"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/model"
)

func TestMeasuredSortSpill(t *testing.T) {
	disk := func(kb float64) explain.Worker {
		return explain.Worker{SortMethod: "external merge", SortSpaceType: "Disk", SortSpaceUsed: kb}
	}
	mem := explain.Worker{SortMethod: "quicksort", SortSpaceType: "Memory", SortSpaceUsed: 25}
	for _, c := range []struct {
		name               string
		n                  explain.Node
		ok                 bool
		total, largest     float64
		processes, workers int
	}{
		{"in memory", explain.Node{SortMethod: "quicksort", SortSpaceType: "Memory", SortSpaceUsed: 30, Workers: []explain.Worker{mem}}, false, 0, 0, 0, 0},
		{"leader only", explain.Node{SortMethod: "external merge", SortSpaceType: "Disk", SortSpaceUsed: 100}, true, 100, 100, 1, 0},
		{"leader and workers", explain.Node{SortMethod: "external merge", SortSpaceType: "Disk", SortSpaceUsed: 100,
			Workers: []explain.Worker{disk(300), disk(200)}}, true, 600, 300, 3, 2},
		{"workers only", explain.Node{SortMethod: "quicksort", SortSpaceType: "Memory", SortSpaceUsed: 30,
			Workers: []explain.Worker{disk(300), mem}}, true, 300, 300, 1, 1},
		{"no space figures", explain.Node{SortMethod: "external sort", TempWrittenBlocks: 100,
			Workers: []explain.Worker{{SortMethod: "external sort"}}}, true, 800, 400, 2, 1},
	} {
		sp, ok := measuredSortSpill(&c.n)
		if ok != c.ok || sp.totalKB != c.total || sp.largestKB != c.largest || sp.processes != c.processes || sp.workers != c.workers {
			t.Errorf("%s: got %+v %v", c.name, sp, ok)
		}
	}
}

func TestStopsEarlyRunCondition(t *testing.T) {
	scan := &explain.Node{NodeType: "Index Scan", RelationName: "t"}
	withRun := &explain.Node{NodeType: "WindowAgg", RunCondition: "(row_number() OVER (?) <= 10)"}
	without := &explain.Node{NodeType: "WindowAgg"}
	if !stopsEarly(scan, []*explain.Node{withRun}) {
		t.Error("a WindowAgg with a Run Condition stops its input early")
	}
	if stopsEarly(scan, []*explain.Node{without}) {
		t.Error("a WindowAgg without a Run Condition reads its input to the end")
	}
}

func TestPlanSettingKB(t *testing.T) {
	s := &model.Statement{Plan: &explain.Result{Plan: &explain.Plan{Settings: map[string]any{"work_mem": "64kB", "hash_mem_multiplier": "4"}}}}
	if kb, ok := planSettingKB(s, "work_mem"); !ok || kb != 64 {
		t.Errorf("work_mem %v %v", kb, ok)
	}
	if _, ok := planSettingKB(s, "maintenance_work_mem"); ok {
		t.Error("a setting the plan does not record")
	}
	if _, ok := planSettingKB(&model.Statement{}, "work_mem"); ok {
		t.Error("a statement without a plan")
	}
}
