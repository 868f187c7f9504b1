package advisor

import (
	"fmt"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/num"
)

// IndexOnlyHeapFetches reports index-only scans that visit the heap for many
// rows because the table's visibility map is not up to date.
var IndexOnlyHeapFetches = &Rule{
	Name:     "index-only-heap-fetches",
	Family:   "plan",
	Severity: SeverityNotice,
	Doc: `An index-only scan fetches rows from the table
An Index Only Scan skips the table only for pages the visibility map marks
all-visible; for other pages it fetches the row from the heap ("Heap Fetches")
and is no faster than an index scan. Pages become all-visible when VACUUM
processes them, so a table that was recently loaded or updated and not yet
vacuumed makes index-only scans slow. Needs EXPLAIN ANALYZE.
Fix: VACUUM the table; for an insert-mostly or heavily updated table, make
autovacuum visit it more often (autovacuum_vacuum_insert_scale_factor,
autovacuum_vacuum_scale_factor as table storage parameters).`,
	Criteria: `Statement gate: calls >= min_calls, total time >= min_total_ms, share >= min_share; plan measured with EXPLAIN ANALYZE.
Heap Fetches >= min_heap_fetches and >= heap_fetch_fraction x the rows the scan returned (all loops).
Severity: warning when heap fetches are >= half the rows returned and share >= plan_error_share; notice otherwise.`,
	Run: runIndexOnlyHeapFetches,
}

func init() { register(IndexOnlyHeapFetches) }

// HeapFetchesThresholds are the thresholds of index-only-heap-fetches (rules.index-only-heap-fetches.thresholds in .pgadvisor.yaml).
type HeapFetchesThresholds struct {
	MinHeapFetches float64 `json:"min_heap_fetches" doc:"an index-only scan fetches at least this many heap tuples"`
	Fraction       float64 `json:"heap_fetch_fraction" doc:"an index-only scan's heap fetches are also at least this fraction of the rows it returns"`
}

var defaultHeapFetches = HeapFetchesThresholds{
	MinHeapFetches: 1000,
	Fraction:       0.1,
}

func runIndexOnlyHeapFetches(p *Pass) error {
	for _, s := range p.Statements {
		if !measured(s) || !costsTime(p, s) {
			continue
		}
		seen := map[string]bool{}
		eachNode(planRoot(s), func(n *explain.Node, _ []*explain.Node) {
			if n.NodeType != "Index Only Scan" || n.ActualLoops <= 0 {
				return
			}
			// Heap Fetches is a total over all loops (PostgreSQL <= 15 and later).
			rows := n.TotalActualRows()
			if n.HeapFetches < p.Options.HeapFetches.MinHeapFetches || n.HeapFetches < p.Options.HeapFetches.Fraction*rows {
				return
			}
			obj := nodeObject(p, n)
			if seen[obj] {
				return
			}
			seen[obj] = true
			frac := 1.0
			if rows > 0 {
				frac = n.HeapFetches / rows
			}
			ev := map[string]any{
				"plan_mode":      planMode(s),
				"index":          n.IndexName,
				"heap_fetches":   n.HeapFetches,
				"actual_rows":    rows,
				"loops":          n.Loops(),
				"fetch_fraction": round(frac, 3),
			}
			if t := nodeTable(p, n); t != nil {
				ev["n_dead_tup"] = t.NDeadTup
				ev["n_tup_ins"] = t.NTupIns
				ev["n_tup_upd"] = t.NTupUpd
			}
			sev := SeverityNotice
			if frac >= 0.5 && s.Share >= p.Options.PlanErrorShare {
				sev = SeverityWarning
			}
			p.Report(p.StatementFinding(s, Finding{
				Severity: sev,
				Message: fmt.Sprintf("Index Only Scan using %s on %s fetched %s of its %s rows from the table (%.0f%%): the visibility map is not up to date; %s",
					n.IndexName, obj, num.Compact(n.HeapFetches), num.Compact(rows), 100*frac, modeNote(s)),
				Objects:  []string{obj},
				Evidence: ev,
				Fix: &Fix{
					Summary: fmt.Sprintf("Vacuum %s so its pages are marked all-visible and the index-only scan stops visiting the table; if it is insert-mostly or updated often, lower autovacuum_vacuum_insert_scale_factor / autovacuum_vacuum_scale_factor for it", obj),
					SQL:     []string{"VACUUM (ANALYZE) " + obj},
				},
			}))
		})
	}
	return nil
}
