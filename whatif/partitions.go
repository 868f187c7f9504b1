package whatif

import (
	"sort"

	"github.com/pgadvisor/pgadvisor/pgstat"
)

// WithPartitions fills in c.Partitions for a candidate on a partitioned
// table: every partition of the snapshot below it (sub-partitioned ones
// before their own partitions), each with the existing index it can attach,
// if any, or the one already attached to the parent's index. When the
// parent has an invalid index with exactly c's keys (an online build left
// unfinished), c takes its name, so that the recipe completes it rather than
// building a second one. Foreign-table partitions get no index and are left
// out. Other candidates are returned as they are.
func WithPartitions(snap *pgstat.Snapshot, c Candidate) Candidate {
	if !c.Partitioned || snap == nil {
		return c
	}
	c.Partitions = nil
	if c.IndexName == "" {
		if t := snap.Table(c.Schema, c.Table); t != nil {
			for i := range snap.Indexes {
				if ix := &snap.Indexes[i]; !ix.Valid && ix.Schema == t.Schema && ix.Table == t.Name && sameIndexKeys(ix, c) {
					c.IndexName = ix.Name
					break
				}
			}
		}
	}
	attachedTo := func(t *pgstat.Table, parentIndex string) string {
		for i := range snap.Indexes {
			if ix := &snap.Indexes[i]; ix.Schema == t.Schema && ix.Table == t.Name && ix.Parent == parentIndex {
				return pgstat.QuoteQualified(ix.Schema, ix.Name)
			}
		}
		return ""
	}
	var walk func(parent, parentIndex string, depth int)
	walk = func(parent, parentIndex string, depth int) {
		if depth > 8 {
			return
		}
		var children []*pgstat.Table
		for i := range snap.Tables {
			if t := &snap.Tables[i]; t.Parent == parent && t.Kind != "f" {
				children = append(children, t)
			}
		}
		sort.Slice(children, func(i, j int) bool { return children[i].QualifiedName() < children[j].QualifiedName() })
		for _, t := range children {
			step := PartitionStep{Schema: t.Schema, Table: t.Name, Parent: parent, Partitioned: t.Kind == "p", Rows: snap.RowCount(t)}
			own := pgstat.QuoteQualified(t.Schema, step.On(c).Name())
			if done := attachedTo(t, parentIndex); done != "" {
				step.Attach, step.Attached, own = done, true, done
			} else if !step.Partitioned {
				step.Attach = attachable(snap, t, c)
			}
			c.Partitions = append(c.Partitions, step)
			if step.Partitioned {
				walk(t.QualifiedName(), own, depth+1)
			}
		}
	}
	walk(c.QualifiedTable(), pgstat.QuoteQualified(c.Schema, c.Name()), 0)
	return c
}

// attachable returns the existing index of partition t that can be attached
// to c's index as it is: valid, not partial, no INCLUDE columns, not attached
// to another index, same method and exactly c's keys (directions and
// operator classes included). "" when there is none.
func attachable(snap *pgstat.Snapshot, t *pgstat.Table, c Candidate) string {
	for i := range snap.Indexes {
		ix := &snap.Indexes[i]
		if ix.Schema == t.Schema && ix.Table == t.Name && ix.Valid && ix.Parent == "" && sameIndexKeys(ix, c) {
			return pgstat.QuoteQualified(ix.Schema, ix.Name)
		}
	}
	return ""
}

// sameIndexKeys reports whether ix is a plain index (not partial, unique or
// with INCLUDE columns) of c's method with exactly c's keys, directions and
// operator classes included.
func sameIndexKeys(ix *pgstat.Index, c Candidate) bool {
	if ix.Predicate != "" || len(ix.Include) > 0 || ix.Unique || ix.Primary || ix.Method != c.Method || len(ix.Columns) != len(c.Keys) {
		return false
	}
	for k, key := range IndexKeys(ix) {
		if !sameKey(key, c.Keys[k]) {
			return false
		}
	}
	return true
}

// CompletionOf is the candidate that completes an invalid index of a
// partitioned table (an index created ON ONLY the parent whose partitions
// were never all attached): its name, method and keys, with the partitions'
// steps (WithPartitions) so that FixSQL builds and attaches only what is
// missing. ok is false for an index it cannot complete as a plain key list
// (partial, INCLUDE, unique) or one not on a partitioned table.
func CompletionOf(snap *pgstat.Snapshot, ix *pgstat.Index) (c Candidate, ok bool) {
	t := snap.Table(ix.Schema, ix.Table)
	if t == nil || t.Kind != "p" || ix.Predicate != "" || len(ix.Include) > 0 || ix.Unique || ix.Primary || len(ix.Columns) == 0 {
		return c, false
	}
	c = Candidate{Schema: ix.Schema, Table: ix.Table, Method: ix.Method, Keys: IndexKeys(ix), Partitioned: true, IndexName: ix.Name}
	return WithPartitions(snap, c), true
}
