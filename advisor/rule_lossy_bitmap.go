package advisor

import (
	"fmt"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/num"
)

// LossyBitmap reports bitmap heap scans whose bitmap did not fit in work_mem.
var LossyBitmap = &Rule{
	Name:     "lossy-bitmap",
	Family:   "plan",
	Severity: SeverityNotice,
	Doc: `A bitmap heap scan went lossy
When the TID bitmap of a Bitmap Heap Scan does not fit in work_mem, PostgreSQL
keeps only one bit per page for some pages ("Lossy Heap Blocks"): every row of
those pages is read and rechecked against the condition ("Rows Removed by Index
Recheck"). Needs EXPLAIN ANALYZE.
Fix: a larger work_mem for the statement: the bitmap takes about 64 bytes per
heap page it covers; for the statement's role (ALTER ROLE … SET) when its
user is known, sized from the role's work_mem when the role has one.`,
	Criteria: `Statement gate: calls >= min_calls, total time >= min_total_ms, share >= min_share; plan measured with EXPLAIN ANALYZE.
Lossy Heap Blocks > 0. Recommended work_mem: 2 x 64 bytes x (exact + lossy heap blocks), at least 2 x the current work_mem,
rounded up to a power of two MB. Severity: warning when lossy blocks are >= half the blocks and share >= plan_error_share; notice otherwise.`,
	Run: runLossyBitmap,
}

func init() { register(LossyBitmap) }

func runLossyBitmap(p *Pass) error {
	for _, s := range p.Statements {
		if !measured(s) || !costsTime(p, s) {
			continue
		}
		workMem := workMemFor(p, s)
		var worst *explain.Node
		eachNode(planRoot(s), func(n *explain.Node, _ []*explain.Node) {
			if n.NodeType == "Bitmap Heap Scan" && n.LossyHeapBlocks > 0 && (worst == nil || n.LossyHeapBlocks > worst.LossyHeapBlocks) {
				worst = n
			}
		})
		if worst == nil {
			continue
		}
		n := worst
		pages := n.ExactHeapBlocks + n.LossyHeapBlocks
		needKB := 2 * 64 * pages / 1024
		mb := workMemMB(needKB, workMem.KB)
		obj := nodeObject(p, n)
		lossyFrac := n.LossyHeapBlocks / pages
		sev := SeverityNotice
		if lossyFrac >= 0.5 && s.Share >= p.Options.PlanErrorShare {
			sev = SeverityWarning
		}
		ev := map[string]any{
			"plan_mode":                     planMode(s),
			"exact_heap_blocks":             n.ExactHeapBlocks,
			"lossy_heap_blocks":             n.LossyHeapBlocks,
			"rows_removed_by_index_recheck": n.RowsRemovedByIndexRecheck * n.Loops(),
			"actual_rows":                   n.TotalActualRows(),
			"suggested_work_mem_mb":         mb,
		}
		workMem.evidence(ev)
		p.Report(p.StatementFinding(s, Finding{
			Severity: sev,
			Message: fmt.Sprintf("Bitmap Heap Scan on %s went lossy for %s of %s heap blocks (%s): %s rows were rechecked and discarded; %s",
				obj, num.Compact(n.LossyHeapBlocks), num.Compact(pages), workMem.measuredNote(), num.Compact(n.RowsRemovedByIndexRecheck*n.Loops()), modeNote(s)),
			Objects:  []string{obj},
			Evidence: ev,
			Fix:      setWorkMemFix(p, s, "bitmap", mb),
		}))
	}
	return nil
}
