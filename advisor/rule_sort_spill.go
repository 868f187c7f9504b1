package advisor

import (
	"fmt"
	"math"
	"strings"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/model"
)

// SortSpill reports sorts that went to disk because they did not fit in work_mem.
var SortSpill = &Rule{
	Name:     "sort-spill",
	Family:   "plan",
	Severity: SeverityWarning,
	Doc: `A sort went to disk
A Sort (or Incremental Sort) node whose rows did not fit in work_mem writes them
to temporary files and merges them back ("external merge"): the statement does
disk I/O that an in-memory quicksort avoids. With EXPLAIN ANALYZE the spill is
measured ("Sort Space Type": "Disk"), in the leader and in each parallel
worker ("Workers"): the spill is their sum, and work_mem is sized from the
largest process's share (each has its own work_mem). Without it (a plain or generic plan) the
rule reports a spill only when pg_stat_statements counts temporary blocks written
by the statement and the plan has a sort estimated to be larger than work_mem.
When the plan measured with pgadvisor's work_mem did not spill but
pg_stat_statements counts temporary blocks, the application's sessions run
with a smaller work_mem (a role or session setting): the largest sort of
the plan is reported as the likely culprit.
A measured plan ran with the work_mem it records itself (EXPLAIN SETTINGS)
when it does, else the snapshot's.
The work_mem a statement runs with is its role's when ALTER ROLE … SET
gives the role one in this database (the snapshot's role settings), else the
server's; messages say which, and the fix sets it for the role.
Fix: give the statement a larger work_mem (SET LOCAL, or for its role), sized
from the spill; or sort fewer rows, or read them in order from an index.`,
	Criteria: `Statement gate: calls >= min_calls, total time >= min_total_ms, share >= min_share.
Measured: Sort Space Type = Disk, of the leader or of a worker (Workers). Estimated: temp_blks_written > 0 in pg_stat_statements and a
Sort whose Plan Rows x (Plan Width + 24 bytes) exceeds work_mem. Session work_mem: a measured plan without any spill
while temp_blks_written > 0, and a Sort is the largest sort/hash node of the plan (estimated >= 64 kB).
Recommended work_mem: 3 x the disk space of the spill (of the largest process's spill when parallel) (an in-memory sort takes 2-3 x its on-disk size), at least 2 x the current work_mem,
rounded up to a power of two MB (estimated: 1.5 x the temporary kB written per call, which counts merge passes too,
or the estimated sort size if larger); above max_work_mem_mb the fix is to sort fewer rows.
Severity: error when the spill is >= 64MB and share >= plan_error_share; notice when small and share < 10 x min_share.`,
	Run: runSortSpill,
}

func init() { register(SortSpill) }

func runSortSpill(p *Pass) error {
	for _, s := range p.Statements {
		root := planRoot(s)
		if root == nil || !costsTime(p, s) {
			continue
		}
		workMem := workMemFor(p, s)
		if measured(s) {
			if !reportMeasuredSortSpill(p, s, root, workMem) {
				reportSessionSortSpill(p, s, root, workMem)
			}
			continue
		}
		reportEstimatedSortSpill(p, s, root, workMem)
	}
	return nil
}

// reportSessionSortSpill reports a sort that spilled in the application's
// sessions only (sessionSpillCulprit).
func reportSessionSortSpill(p *Pass, s *model.Statement, root *explain.Node, workMem stmtWorkMem) {
	worst, worstKB := sessionSpillCulprit(s, root)
	if worst == nil || !isSortNode(worst) {
		return
	}
	tempKB := float64(s.TempBlksWritten) * 8 / float64(s.Calls)
	mb := workMemMB(math.Max(1.5*tempKB, worstKB), workMem.sessionKB())
	ev := estimatedSortEvidence(s, worst, worstKB, mb)
	workMem.sessionEvidence(ev)
	p.Report(p.StatementFinding(s, Finding{
		Severity: severityFor(p, s, tempKB >= 64*1024),
		Message: fmt.Sprintf("%s%s of ~%s rows (~%s) spills to disk in the application's sessions: %s of temporary files written per call (pg_stat_statements); %s",
			worst.NodeType, sortKeyNote(worst), num.Compact(worst.PlanRows), num.Bytes(1024*worstKB), num.Bytes(1024*tempKB), sessionSpillNote(s, workMem)),
		Objects:  objectsUnder(p, worst),
		Evidence: ev,
		Fix:      setWorkMemFix(p, s, "sort", mb),
	}))
}

// sortSpill is a Sort node's measured spill, over the leader and its
// parallel workers (each process sorts its share in its own work_mem).
type sortSpill struct {
	totalKB   float64 // disk space of every process's spill
	largestKB float64 // the largest spill of one process
	processes int     // processes that spilled
	workers   int     // of which parallel workers
	method    string  // the Sort Method of a process that spilled
}

// measuredSortSpill returns n's measured spill, leader and workers
// ("Workers" entries) together; ok is false when no process spilled.
func measuredSortSpill(n *explain.Node) (sp sortSpill, ok bool) {
	spilled := func(method, spaceType string) bool {
		return spaceType == "Disk" || strings.HasPrefix(method, "external")
	}
	add := func(kb float64, method string) {
		sp.totalKB += kb
		sp.largestKB = math.Max(sp.largestKB, kb)
		sp.processes++
		if sp.method == "" {
			sp.method = method
		}
	}
	if spilled(n.SortMethod, n.SortSpaceType) {
		add(n.SortSpaceUsed, n.SortMethod)
	}
	for _, w := range n.Workers {
		if spilled(w.SortMethod, w.SortSpaceType) {
			add(w.SortSpaceUsed, w.SortMethod)
			sp.workers++
		}
	}
	if sp.processes == 0 {
		return sp, false
	}
	if sp.totalKB == 0 {
		// No space figures: the node's temporary blocks count every process.
		sp.totalKB = n.TempWrittenBlocks * 8
		sp.largestKB = sp.totalKB / float64(sp.processes)
	}
	return sp, true
}

// reportMeasuredSortSpill reports the worst measured sort spill and whether there was one.
func reportMeasuredSortSpill(p *Pass, s *model.Statement, root *explain.Node, workMem stmtWorkMem) bool {
	var worst *explain.Node
	var worstSpill sortSpill
	spills := 0
	eachNode(root, func(n *explain.Node, _ []*explain.Node) {
		if !isSortNode(n) {
			return
		}
		sp, ok := measuredSortSpill(n)
		if !ok {
			return
		}
		spills++
		if worst == nil || sp.totalKB > worstSpill.totalKB {
			worst, worstSpill = n, sp
		}
	})
	if worst == nil {
		return false
	}
	spillKB := worstSpill.totalKB
	if workMem.holdsMeasuredSpill(s, 3*worstSpill.largestKB) {
		// The role's larger work_mem holds the sort: the spill is pgadvisor's only.
		return true
	}
	mb := workMemMB(3*worstSpill.largestKB, workMem.KB)
	ev := map[string]any{
		"plan_mode":             planMode(s),
		"node_type":             worst.NodeType,
		"sort_method":           worstSpill.method,
		"sort_space_used_kb":    spillKB,
		"temp_blocks_written":   worst.TempWrittenBlocks,
		"actual_rows":           worst.TotalActualRows(),
		"suggested_work_mem_mb": mb,
	}
	workMem.evidence(ev)
	if len(worst.SortKey) > 0 {
		ev["sort_key"] = worst.SortKey
	}
	if spills > 1 {
		ev["spilling_sorts"] = spills
	}
	where := ""
	if worstSpill.workers > 0 {
		ev["spilling_workers"] = worstSpill.workers
		ev["largest_process_spill_kb"] = worstSpill.largestKB
		leader := ""
		if worstSpill.processes > worstSpill.workers {
			leader = " and the leader"
		}
		where = fmt.Sprintf(" in %d parallel processes (%d workers%s, largest %s)",
			worstSpill.processes, worstSpill.workers, leader, num.Bytes(1024*worstSpill.largestKB))
	}
	addTempPerCall(ev, s)
	p.Report(p.StatementFinding(s, Finding{
		Severity: severityFor(p, s, spillKB >= 64*1024),
		Message: fmt.Sprintf("%s%s spilled %s to disk%s (%s, %s), %s",
			worst.NodeType, sortKeyNote(worst), num.Bytes(1024*spillKB), where, worstSpill.method, workMem.measuredNote(), modeNote(s)),
		Objects:  objectsUnder(p, worst),
		Evidence: ev,
		Fix:      setWorkMemFix(p, s, "sort", mb),
	}))
	return true
}

// reportEstimatedSortSpill handles plans that were not executed: the spill is
// known from pg_stat_statements' temporary blocks, the culprit from the plan.
func reportEstimatedSortSpill(p *Pass, s *model.Statement, root *explain.Node, workMem stmtWorkMem) {
	if s.TempBlksWritten <= 0 || s.Calls <= 0 {
		return
	}
	var worst *explain.Node
	var worstKB float64
	eachNode(root, func(n *explain.Node, _ []*explain.Node) {
		if !isSortNode(n) {
			return
		}
		if kb := estimatedKB(n); kb > workMem.KB && kb > worstKB {
			worst, worstKB = n, kb
		}
	})
	if worst == nil {
		return
	}
	tempKB := float64(s.TempBlksWritten) * 8 / float64(s.Calls)
	mb := workMemMB(math.Max(1.5*tempKB, worstKB), workMem.KB)
	ev := estimatedSortEvidence(s, worst, worstKB, mb)
	workMem.evidence(ev)
	p.Report(p.StatementFinding(s, Finding{
		Severity: severityFor(p, s, tempKB >= 64*1024),
		Message: fmt.Sprintf("%s%s of ~%s rows likely spills to disk: %s of temporary files written per call (pg_stat_statements), %s; %s",
			worst.NodeType, sortKeyNote(worst), num.Compact(worst.PlanRows), num.Bytes(1024*tempKB), workMem.note(), modeNote(s)),
		Objects:  objectsUnder(p, worst),
		Evidence: ev,
		Fix:      setWorkMemFix(p, s, "sort", mb),
	}))
}

func sortKeyNote(n *explain.Node) string {
	if len(n.SortKey) == 0 {
		return ""
	}
	return " by " + truncateQuery(strings.Join(n.SortKey, ", "), 80)
}

// estimatedSortEvidence is the evidence of a sort spill known from
// pg_stat_statements' temporary blocks rather than from a measured plan.
func estimatedSortEvidence(s *model.Statement, worst *explain.Node, worstKB float64, mb int64) map[string]any {
	ev := map[string]any{
		"plan_mode":             planMode(s),
		"node_type":             worst.NodeType,
		"estimated_rows":        worst.PlanRows,
		"estimated_sort_kb":     round(worstKB, 0),
		"suggested_work_mem_mb": mb,
	}
	if len(worst.SortKey) > 0 {
		ev["sort_key"] = worst.SortKey
	}
	addTempPerCall(ev, s)
	return ev
}
