package whatif

import (
	"fmt"
	"sort"

	"github.com/pgadvisor/pgadvisor/pgstat"
)

// PartitionStep is what the online recipe of an index on a partitioned table
// does on one of its partitions: build the index there with CREATE INDEX
// CONCURRENTLY, or attach an index the partition already has, then ALTER
// INDEX … ATTACH PARTITION it to the parent's index.
type PartitionStep struct {
	Schema string `json:"schema"`
	Table  string `json:"table"`
	// Parent is the partitioned table (schema.name, quoted where needed)
	// whose index this partition's index is attached to.
	Parent string `json:"parent"`
	// Partitioned is set for a sub-partitioned partition: it gets an index
	// ON ONLY itself, to which its own partitions' indexes are attached.
	Partitioned bool `json:"partitioned,omitempty"`
	// Attach names an existing valid index of the partition (schema.name)
	// that has exactly the new index's keys and is attached to no other
	// index: it is attached as it is, nothing is built.
	Attach string `json:"attach,omitempty"`
	// Attached is set when Attach is already attached to the parent's
	// index (an index being completed, see Candidate.IndexName): nothing to do.
	Attached bool `json:"attached,omitempty"`
	// Rows is the partition's row estimate.
	Rows float64 `json:"rows,omitempty"`
	// SizeBytes is the size of the index built on this partition
	// (hypopg_relation_size, else an estimate), bytes; 0 when nothing is built.
	SizeBytes int64 `json:"size_bytes,omitempty"`
}

// Builds reports whether the step builds an index (a leaf partition without
// an index to attach).
func (s PartitionStep) Builds() bool { return !s.Partitioned && s.Attach == "" }

// QualifiedTable is the partition's schema.name, quoted where needed.
func (s PartitionStep) QualifiedTable() string { return pgstat.QuoteQualified(s.Schema, s.Table) }

// on is the candidate moved to the step's partition: the same keys and
// method, named after the partition.
func (s PartitionStep) on(c Candidate) Candidate {
	p := c
	p.Schema, p.Table = s.Schema, s.Table
	p.Partitioned = s.Partitioned
	p.Partitions = nil
	p.IndexName = ""
	p.RowsEstimate = s.Rows
	return p
}

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
			step := PartitionStep{Schema: t.Schema, Table: t.Name, Parent: parent, Partitioned: t.Kind == "p", Rows: max(t.Rows, float64(t.NLiveTup))}
			own := pgstat.QuoteQualified(t.Schema, step.on(c).Name())
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
	for k, key := range indexKeys(ix) {
		if !key.same(c.Keys[k]) {
			return false
		}
	}
	return true
}

// BuildRows is the number of rows the index is built over: for a
// partitioned table with known partitions, those of the partitions that
// need a build; else the table's estimate.
func (c Candidate) BuildRows() float64 {
	if !c.Partitioned || len(c.Partitions) == 0 {
		return c.RowsEstimate
	}
	var rows float64
	for _, s := range c.Partitions {
		if s.Builds() {
			rows += s.Rows
		}
	}
	return rows
}

// partitionSQL is the online recipe for an index on a partitioned table with
// known partitions: the index ON ONLY the parent (invalid until every
// partition has one attached), then per partition CREATE INDEX CONCURRENTLY
// (or an existing index) and ALTER INDEX … ATTACH PARTITION. Nothing locks
// writes for longer than a catalog update; when the last partition is
// attached, the parent's index becomes valid.
func (c Candidate) partitionSQL() []string {
	index := func(s PartitionStep) string {
		if s.Attached {
			return s.Attach
		}
		return pgstat.QuoteQualified(s.Schema, s.on(c).Name())
	}
	parentIndex := map[string]string{c.QualifiedTable(): pgstat.QuoteQualified(c.Schema, c.Name())}
	out := []string{fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON ONLY %s USING %s (%s)",
		pgstat.QuoteIdent(c.Name()), c.QualifiedTable(), c.Method, c.keyList())}
	var attachLater []string // sub-partitioned partitions' indexes, attached once complete
	for _, s := range c.Partitions {
		own := index(s)
		switch {
		case s.Attached:
			if s.Partitioned {
				parentIndex[s.QualifiedTable()] = own
			}
			continue
		case s.Partitioned:
			parentIndex[s.QualifiedTable()] = own
			out = append(out, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON ONLY %s USING %s (%s)",
				pgstat.QuoteIdent(s.on(c).Name()), s.QualifiedTable(), c.Method, c.keyList()))
			attachLater = append([]string{fmt.Sprintf("ALTER INDEX %s ATTACH PARTITION %s", parentIndex[s.Parent], own)}, attachLater...)
			continue
		case s.Attach != "":
			own = s.Attach
		default:
			out = append(out, s.on(c).CreateSQL())
		}
		out = append(out, fmt.Sprintf("ALTER INDEX %s ATTACH PARTITION %s", parentIndex[s.Parent], own))
	}
	return append(out, attachLater...)
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
	c = Candidate{Schema: ix.Schema, Table: ix.Table, Method: ix.Method, Keys: indexKeys(ix), Partitioned: true, IndexName: ix.Name}
	return WithPartitions(snap, c), true
}
