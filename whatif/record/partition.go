package record

import (
	"fmt"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
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
func (s PartitionStep) QualifiedTable() string { return sqlfacts.QuoteQualified(s.Schema, s.Table) }

// On is the candidate moved to the step's partition: the same keys and
// method, named after the partition.
func (s PartitionStep) On(c Candidate) Candidate {
	p := c
	p.Schema, p.Table = s.Schema, s.Table
	p.Partitioned = s.Partitioned
	p.Partitions = nil
	p.IndexName = ""
	p.RowsEstimate = s.Rows
	return p
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
		return sqlfacts.QuoteQualified(s.Schema, s.On(c).Name())
	}
	parentIndex := map[string]string{c.QualifiedTable(): sqlfacts.QuoteQualified(c.Schema, c.Name())}
	out := []string{fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON ONLY %s USING %s (%s)%s",
		sqlfacts.QuoteIdent(c.Name()), c.QualifiedTable(), c.Method, c.KeyList(), c.Tail())}
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
			out = append(out, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON ONLY %s USING %s (%s)%s",
				sqlfacts.QuoteIdent(s.On(c).Name()), s.QualifiedTable(), c.Method, c.KeyList(), c.Tail()))
			attachLater = append([]string{fmt.Sprintf("ALTER INDEX %s ATTACH PARTITION %s", parentIndex[s.Parent], own)}, attachLater...)
			continue
		case s.Attach != "":
			own = s.Attach
		default:
			out = append(out, s.On(c).CreateSQL())
		}
		out = append(out, fmt.Sprintf("ALTER INDEX %s ATTACH PARTITION %s", parentIndex[s.Parent], own))
	}
	return append(out, attachLater...)
}
