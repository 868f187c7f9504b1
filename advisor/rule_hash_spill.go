package advisor

import (
	"fmt"
	"math"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/model"
)

// HashSpill reports hash joins and hash aggregates that went to disk.
var HashSpill = &Rule{
	Name:     "hash-spill",
	Family:   "plan",
	Severity: SeverityWarning,
	Doc: `A hash join or hash aggregate went to disk
A Hash node whose table did not fit in work_mem x hash_mem_multiplier splits its
input into batches written to temporary files ("Hash Batches" > 1); a
HashAggregate does the same ("HashAgg Batches" > 1, "Disk Usage"). Every batch
is written and read back. With EXPLAIN ANALYZE the spill is measured. Without
it, the rule reports a spill only when pg_stat_statements counts temporary blocks
written by the statement and the plan has a hash estimated to exceed its memory.
When the plan measured with pgadvisor's work_mem did not spill but
pg_stat_statements counts temporary blocks, the application's sessions run
with a smaller work_mem (a role or session setting): the largest hash of
the plan is reported as the likely culprit.
The work_mem a statement runs with is its role's when ALTER ROLE … SET
gives the role one in this database (the snapshot's role settings), else the
server's; messages say which, and the fix sets it for the role.
Fix: a larger work_mem for the statement (SET LOCAL, or for its role) sized from
the batches, or hash fewer rows (filter earlier, join on a smaller input).`,
	Criteria: `Statement gate: calls >= min_calls, total time >= min_total_ms, share >= min_share.
Measured: Hash Batches > 1, or HashAgg Batches > 1 or Disk Usage > 0.
Estimated: temp_blks_written > 0 in pg_stat_statements and a hash whose Plan Rows x (Plan Width + 24 bytes)
exceeds work_mem x hash_mem_multiplier. Session work_mem: a measured plan without any spill while
temp_blks_written > 0, and a hash is the largest sort/hash node of the plan (estimated >= 64 kB).
Memory needed: Peak Memory Usage x Hash Batches (hash join), Peak Memory Usage + 2 x Disk Usage (aggregate);
estimated: 1.2 x the temporary kB written per call, or the estimated hash size if larger;
recommended work_mem: that divided by hash_mem_multiplier, at least 2 x the current work_mem, rounded up to a
power of two MB; above max_work_mem_mb the fix is to hash fewer rows.
Severity: error when the memory needed is >= 64MB and share >= plan_error_share; notice when small and share < 10 x min_share.`,
	Run: runHashSpill,
}

func init() { register(HashSpill) }

// hashSpill is one spilling hash node with the memory it needed, kB.
type hashSpill struct {
	node, parent *explain.Node
	needKB       float64
}

func runHashSpill(p *Pass) error {
	for _, s := range p.Statements {
		root := planRoot(s)
		if root == nil || !costsTime(p, s) {
			continue
		}
		workMem := workMemFor(p, s)
		mult := hashMemMultiplierFor(p, s)
		if measured(s) {
			if !reportMeasuredHashSpill(p, s, root, workMem, mult) {
				reportSessionHashSpill(p, s, root, workMem, mult)
			}
			continue
		}
		reportEstimatedHashSpill(p, s, root, workMem, mult)
	}
	return nil
}

// reportSessionHashSpill reports a hash that spilled in the application's
// sessions only (sessionSpillCulprit).
func reportSessionHashSpill(p *Pass, s *model.Statement, root *explain.Node, workMem stmtWorkMem, mult float64) {
	worst, worstKB := sessionSpillCulprit(s, root)
	if worst == nil || isSortNode(worst) {
		return
	}
	tempKB := float64(s.TempBlksWritten) * 8 / float64(s.Calls)
	what := "hash join"
	if isHashAgg(worst) {
		what = "hash aggregate"
	}
	mb := workMemMB(math.Max(1.2*tempKB, worstKB)/mult, workMem.sessionKB())
	ev := map[string]any{
		"plan_mode":             planMode(s),
		"node_type":             worst.NodeType,
		"estimated_rows":        worst.PlanRows,
		"estimated_hash_kb":     round(worstKB, 0),
		"hash_mem_multiplier":   mult,
		"suggested_work_mem_mb": mb,
	}
	workMem.sessionEvidence(ev)
	addTempPerCall(ev, s)
	p.Report(p.StatementFinding(s, Finding{
		Severity: severityFor(p, s, worstKB >= 64*1024),
		Message: fmt.Sprintf("%s of ~%s rows (~%s) spills to disk in the application's sessions: %s of temporary files written per call (pg_stat_statements); %s",
			worst.Title(), num.Compact(worst.PlanRows), num.Bytes(1024*worstKB), num.Bytes(1024*tempKB), sessionSpillNote(s, workMem)),
		Objects:  objectsUnder(p, worst),
		Evidence: ev,
		Fix:      setWorkMemFix(p, s, what, mb),
	}))
}

// reportMeasuredHashSpill reports the worst measured hash spill and whether there was one.
func reportMeasuredHashSpill(p *Pass, s *model.Statement, root *explain.Node, workMem stmtWorkMem, mult float64) bool {
	var worst *hashSpill
	spills := 0
	eachNode(root, func(n *explain.Node, anc []*explain.Node) {
		var need float64
		switch {
		case n.NodeType == "Hash" && n.HashBatches > 1:
			need = n.PeakMemoryUsage * n.HashBatches
		case isHashAgg(n) && (n.HashAggBatches > 1 || n.DiskUsage > 0):
			need = n.PeakMemoryUsage + 2*n.DiskUsage
		default:
			return
		}
		spills++
		if worst == nil || need > worst.needKB {
			worst = &hashSpill{node: n, needKB: need}
			if len(anc) > 0 {
				worst.parent = anc[len(anc)-1]
			}
		}
	})
	if worst == nil {
		return false
	}
	n := worst.node
	if workMem.holdsMeasuredSpill(s, worst.needKB/mult) {
		// The role's larger work_mem holds the hash: the spill is pgadvisor's only.
		return true
	}
	mb := workMemMB(worst.needKB/mult, workMem.KB)
	ev := map[string]any{
		"plan_mode":             planMode(s),
		"node_type":             n.NodeType,
		"peak_memory_kb":        n.PeakMemoryUsage,
		"memory_needed_kb":      round(worst.needKB, 0),
		"hash_mem_multiplier":   mult,
		"suggested_work_mem_mb": mb,
	}
	workMem.evidence(ev)
	var what, how string
	title := n.Title()
	temp := n.TempWrittenBlocks
	if n.NodeType == "Hash" {
		what = "hash join"
		ev["hash_batches"] = n.HashBatches
		ev["original_hash_batches"] = n.OriginalHashBatches
		ev["actual_rows"] = n.TotalActualRows()
		if worst.parent != nil && worst.parent.TempWrittenBlocks > temp {
			temp = worst.parent.TempWrittenBlocks
		}
		how = fmt.Sprintf("split into %g batches on disk (peak %s per batch)", n.HashBatches, num.Bytes(1024*n.PeakMemoryUsage))
		if worst.parent != nil {
			title = "Hash of " + worst.parent.Title()
		}
	} else {
		what = "hash aggregate"
		ev["hashagg_batches"] = n.HashAggBatches
		ev["disk_usage_kb"] = n.DiskUsage
		ev["actual_rows"] = n.TotalActualRows()
		how = fmt.Sprintf("wrote %s to disk in %g batches", num.Bytes(1024*n.DiskUsage), n.HashAggBatches)
	}
	ev["temp_blocks_written"] = temp
	if spills > 1 {
		ev["spilling_hashes"] = spills
	}
	addTempPerCall(ev, s)
	p.Report(p.StatementFinding(s, Finding{
		Severity: severityFor(p, s, worst.needKB >= 64*1024),
		Message: fmt.Sprintf("%s over %s rows %s: it needs about %s, %s x hash_mem_multiplier %g; %s",
			title, num.Compact(n.TotalActualRows()), how, num.Bytes(1024*worst.needKB), workMem.measuredNote(), mult, modeNote(s)),
		Objects:  objectsUnder(p, n),
		Evidence: ev,
		Fix:      setWorkMemFix(p, s, what, mb),
	}))
	return true
}

func reportEstimatedHashSpill(p *Pass, s *model.Statement, root *explain.Node, workMem stmtWorkMem, mult float64) {
	if s.TempBlksWritten <= 0 || s.Calls <= 0 {
		return
	}
	var worst *explain.Node
	var worstKB float64
	eachNode(root, func(n *explain.Node, _ []*explain.Node) {
		if n.NodeType != "Hash" && !isHashAgg(n) {
			return
		}
		if kb := estimatedKB(n); kb > workMem.KB*mult && kb > worstKB {
			worst, worstKB = n, kb
		}
	})
	if worst == nil {
		return
	}
	tempKB := float64(s.TempBlksWritten) * 8 / float64(s.Calls)
	what := "hash join"
	if isHashAgg(worst) {
		what = "hash aggregate"
	}
	mb := workMemMB(math.Max(1.2*tempKB, worstKB)/mult, workMem.KB)
	ev := map[string]any{
		"plan_mode":             planMode(s),
		"node_type":             worst.NodeType,
		"estimated_rows":        worst.PlanRows,
		"estimated_hash_kb":     round(worstKB, 0),
		"hash_mem_multiplier":   mult,
		"suggested_work_mem_mb": mb,
	}
	workMem.evidence(ev)
	addTempPerCall(ev, s)
	p.Report(p.StatementFinding(s, Finding{
		Severity: severityFor(p, s, worstKB >= 64*1024),
		Message: fmt.Sprintf("%s of ~%s rows (~%s) likely spills to disk: %s of temporary files written per call (pg_stat_statements), %s x hash_mem_multiplier %g; %s",
			worst.Title(), num.Compact(worst.PlanRows), num.Bytes(1024*worstKB), num.Bytes(1024*tempKB), workMem.note(), mult, modeNote(s)),
		Objects:  objectsUnder(p, worst),
		Evidence: ev,
		Fix:      setWorkMemFix(p, s, what, mb),
	}))
}
