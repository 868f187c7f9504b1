package advisor

import (
	"fmt"

	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/whatif"
)

// RedundantIndex finds indexes that another index of the same table makes unnecessary.
var RedundantIndex = &Rule{
	Name:     "redundant-index",
	Family:   "catalog",
	Severity: SeverityWarning,
	Doc: `Index duplicated by another, or a leading-column prefix of another
An index whose key columns are the same as another index's, or the first
columns of another btree index (same expressions, operator classes and
directions, the same predicate), serves no query the other cannot: the
planner can use the longer index for the same lookups. It still costs storage
and every write. Drop the redundant one with DROP INDEX CONCURRENTLY; the
evidence names the index that covers it. Unique, primary-key and
constraint-backing indexes are never reported as the redundant one (they
enforce a rule); INCLUDE columns of the redundant index must be covered too.
Inside a partition, an index attached to the partitioned table's index is
never the redundant one (it can only be dropped with its parent's): the
partition's own duplicate next to it is, and it is dropped concurrently.`,
	Criteria: `exact duplicates for any method; leading-column prefixes for btree only; both valid; same predicate (or
neither partial). Severity: warning.`,
	Run: runRedundantIndex,
}

func init() { register(RedundantIndex) }

func runRedundantIndex(p *Pass) error {
	idx := p.Snapshot.Indexes
	for i := range idx {
		a := &idx[i]
		if !a.Valid || a.Primary || a.Unique || a.Constraint != "" {
			continue
		}
		var cover *pgstat.Index
		for j := range idx {
			b := &idx[j]
			if i == j || !b.Valid || b.Schema != a.Schema || b.Table != a.Table || !covers(b, a) {
				continue
			}
			// Of exact duplicates without constraints, keep the one attached
			// to a partitioned index (it cannot be dropped alone), else the
			// first by name.
			if sameKeys(a, b) && !(b.Unique || b.Primary || b.Constraint != "" || b.Parent != "") &&
				(a.Parent != "" || b.Name > a.Name) {
				continue
			}
			if cover == nil || len(b.Columns) < len(cover.Columns) {
				cover = b
			}
		}
		if cover == nil {
			continue
		}
		drop, ok := dropIndexSQL(p, a)
		if !ok {
			continue
		}
		name := pgstat.QuoteQualified(a.Schema, a.Name)
		coverName := pgstat.QuoteQualified(cover.Schema, cover.Name)
		kind := "a leading-column prefix of"
		if sameKeys(a, cover) {
			kind = "a duplicate of"
		}
		ev := map[string]any{
			"redundant_index":       name,
			"redundant_definition":  a.Definition,
			"covered_by":            coverName,
			"covered_by_definition": cover.Definition,
			"size_bytes":            a.SizeBytes,
			"idx_scan":              a.IdxScan,
		}
		msg := fmt.Sprintf("index %s is %s %s: drop it to save %s and write work", name, kind, coverName, num.Bytes(float64(a.SizeBytes)))
		objects := []string{name, pgstat.QuoteQualified(a.Schema, a.Table)}
		if t := p.Table(a.Schema, a.Table); t != nil && t.Parent != "" {
			// A partition's own index, next to the one its parent's index put there.
			root := p.root(t)
			ev["partition_of"] = root.QualifiedName()
			if cover.Parent != "" {
				ev["covered_by_attached_to"] = cover.Parent
			}
			msg = fmt.Sprintf("index %s on partition %s of %s is %s %s: drop it to save %s and write work",
				name, t.QualifiedName(), root.QualifiedName(), kind, coverName, num.Bytes(float64(a.SizeBytes)))
			objects = append(objects, root.QualifiedName())
		}
		p.Report(Finding{
			Message:  msg,
			Objects:  objects,
			Evidence: ev,
			Fix:      &Fix{Summary: "Drop the redundant index; " + coverName + " serves the same lookups", SQL: []string{drop}},
		})
	}
	return nil
}

// covers reports whether b serves every lookup a serves: the same method and
// predicate, a's keys served by b's as ordered keys (whatif.KeysServe: for
// btree a prefix of b with the same expressions, operator classes and
// directions, or all directions reversed; for another method the same keys),
// and a's INCLUDE columns among b's columns.
func covers(b, a *pgstat.Index) bool {
	if a.Method != b.Method || a.Predicate != b.Predicate || len(a.Columns) > len(b.Columns) || len(a.Columns) == 0 {
		return false
	}
	if len(a.Columns) < len(b.Columns) && a.Method != "btree" {
		return false
	}
	if !whatif.KeysServe(b.Method, whatif.IndexKeys(b), false, a.Method, whatif.IndexKeys(a), 0) {
		return false
	}
	have := map[string]bool{}
	for _, c := range append(append([]string(nil), b.Columns...), b.Include...) {
		have[c] = true
	}
	for _, c := range a.Include {
		if !have[c] {
			return false
		}
	}
	return true
}

func sameKeys(a, b *pgstat.Index) bool {
	return len(a.Columns) == len(b.Columns) && covers(a, b) && covers(b, a)
}
