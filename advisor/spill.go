package advisor

// Helpers of the rules that find sorts and hashes spilling to disk
// (sort-spill, hash-spill): which nodes they are, their estimated memory, and
// the session work_mem a spill without a spilling plan points to.

import (
	"fmt"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

func isSortNode(n *explain.Node) bool {
	return n.NodeType == "Sort" || n.NodeType == "Incremental Sort"
}

// estimatedKB is the planner's idea of the memory a node's rows need:
// Plan Rows x (Plan Width + 24 bytes of per-tuple overhead), in kB.
func estimatedKB(n *explain.Node) float64 {
	return n.PlanRows * float64(n.PlanWidth+24) / 1024
}

// addTempPerCall adds pg_stat_statements' temporary blocks per call to evidence.
func addTempPerCall(ev map[string]any, s *model.Statement) {
	if s.TempBlksWritten > 0 && s.Calls > 0 {
		ev["temp_blocks_written_per_call"] = round(float64(s.TempBlksWritten)/float64(s.Calls), 1)
	}
}

// sessionSpillCulprit handles a statement whose measured plan did not spill
// while pg_stat_statements counts temporary files written by its calls: the
// application's sessions run with a smaller work_mem than pgadvisor's (a
// role or session setting, e.g. ALTER ROLE app SET work_mem = '64kB', that
// the server-wide setting in the snapshot does not show). It returns the
// spill-capable node (sort, hash, hash aggregate) with the largest estimated
// memory, and that estimate in kB; nil when pg_stat_statements saw no
// temporary files, when the measured plan wrote temporary files itself (a
// spill it reports, a CTE or a materialisation), or when no node is larger
// than the smallest work_mem (64 kB).
func sessionSpillCulprit(s *model.Statement, root *explain.Node) (*explain.Node, float64) {
	if s.TempBlksWritten <= 0 || s.Calls <= 0 {
		return nil, 0
	}
	var worst *explain.Node
	var worstKB float64
	spilled := false
	eachNode(root, func(n *explain.Node, _ []*explain.Node) {
		if n.TempWrittenBlocks > 0 || n.SortSpaceType == "Disk" || n.HashBatches > 1 || n.HashAggBatches > 1 || n.DiskUsage > 0 {
			spilled = true
		}
		if !isSortNode(n) && n.NodeType != "Hash" && !isHashAgg(n) {
			return
		}
		if kb := estimatedKB(n); kb > worstKB {
			worst, worstKB = n, kb
		}
	})
	if spilled || worstKB < 64 {
		return nil, 0
	}
	return worst, worstKB
}

// sessionSpillNote explains a spill seen only in pg_stat_statements: by the
// role's smaller work_mem when it has one, else by a session setting.
func sessionSpillNote(s *model.Statement, workMem stmtWorkMem) string {
	measured := fmt.Sprintf("the plan measured with pgadvisor's work_mem %s did not spill", num.Bytes(1024*workMem.MeasuredKB))
	switch {
	case workMem.Role != "" && workMem.KB < workMem.MeasuredKB:
		return fmt.Sprintf("%s, but role %s runs with work_mem %s (ALTER ROLE … SET work_mem = '%s'); %s",
			measured, pgstat.QuoteIdent(workMem.Role), num.Bytes(1024*workMem.KB), workMem.Value, modeNote(s))
	case workMem.Role != "":
		return fmt.Sprintf("%s, nor would it with role %s's work_mem %s, so the application's sessions SET a smaller work_mem themselves; %s",
			measured, pgstat.QuoteIdent(workMem.Role), num.Bytes(1024*workMem.KB), modeNote(s))
	case workMem.NoRoleSetting:
		return fmt.Sprintf("%s and role %s has no work_mem of its own, so the application's sessions SET a smaller work_mem themselves; %s",
			measured, pgstat.QuoteIdent(s.User), modeNote(s))
	}
	return fmt.Sprintf("%s, so the application's sessions run with a smaller work_mem (a role or session setting); %s", measured, modeNote(s))
}

func isHashAgg(n *explain.Node) bool {
	return n.NodeType == "Aggregate" && (n.Strategy == "Hashed" || n.Strategy == "Mixed")
}
