package advisor

import (
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/whatif"
)

// indexAdvice is the workload's index recommendation, computed once per run
// so that every rule proposing an index (missing-index, seq-scan,
// fk-missing-index, non-sargable, leading-wildcard) proposes the same index
// under the same name: applying all their fixes never builds one twice.
type indexAdvice struct {
	inputs []whatif.Input
	result *whatif.Result // recorded what-if result, nil without HypoPG
	opts   whatif.Options
	recs   []whatif.Recommendation
}

// IndexAdvice returns the workload's index recommendations (whatif.Select over
// the recorded what-if result, or unverified candidates without one) and the
// recorded result (nil without one).
func (p *Pass) IndexAdvice() ([]whatif.Recommendation, *whatif.Result) {
	if p.indexAdvice == nil {
		a := &indexAdvice{inputs: whatIfInputs(p), opts: WhatIfOptions(p.Options), result: p.Snapshot.WhatIf}
		if len(a.inputs) > 0 {
			// A recorded what-if result is replayed with this run's options
			// (the configuration it is given): whatif.Select applies the
			// choice, the caps and the table minimums to the recorded
			// costs, so the offline re-run and the live one agree.
			a.recs = whatif.Select(p.Snapshot, a.inputs, a.result, a.opts)
		}
		p.indexAdvice = a
	}
	return p.indexAdvice.recs, p.indexAdvice.result
}

// recommendationFor returns the recommended index on schema.table that serves
// the statement, if any.
func (p *Pass) recommendationFor(queryID, schema, table string) *whatif.Recommendation {
	recs, _ := p.IndexAdvice()
	for i := range recs {
		r := &recs[i]
		if r.Schema != schema || r.Table != table {
			continue
		}
		for _, g := range r.Statements {
			if g.QueryID == queryID {
				return r
			}
		}
	}
	return nil
}

// recommendationLeadingWith returns a recommended index on schema.table that
// serves equality on cols (whatif.KeysServe: a btree index whose first
// len(cols) keys are cols, in any order), if any; never a partial one (a
// lookup without its predicate, such as a foreign key check, cannot use it).
func (p *Pass) recommendationLeadingWith(schema, table string, cols []string) *whatif.Recommendation {
	recs, _ := p.IndexAdvice()
	for i := range recs {
		r := &recs[i]
		if r.Schema == schema && r.Table == table && !r.Partial() && whatif.KeysServe(r.Method, r.Keys, false, "btree", columnKeys(cols), len(cols)) {
			return r
		}
	}
	return nil
}

// indexFix is the fix that creates one index, named and written exactly as
// the missing-index rule would write it.
func indexFix(p *Pass, summary string, c whatif.Candidate) *Fix {
	return &Fix{Summary: summary + ": " + c.Name(), SQL: p.indexSQL(c)}
}

// indexSQL is the fix SQL of an index candidate; on a partitioned table the
// online recipe over the snapshot's partitions (whatif.WithPartitions).
func (p *Pass) indexSQL(c whatif.Candidate) []string {
	return whatif.WithPartitions(p.Snapshot, c).FixSQL()
}

// attachmentsKnown reports whether the snapshot records which partition
// indexes are attached to a partitioned index (pgstat.Index.Parent): it does
// when some index has a parent, or when no partitioned table has an index
// (then no partition index can be attached). A snapshot saved before the
// field existed has partitioned indexes but no parents.
func (p *Pass) attachmentsKnown() bool {
	partitionedIndex := false
	for i := range p.Snapshot.Indexes {
		ix := &p.Snapshot.Indexes[i]
		if ix.Parent != "" {
			return true
		}
		if t := p.Table(ix.Schema, ix.Table); t != nil && t.Kind == "p" {
			partitionedIndex = true
		}
	}
	return !partitionedIndex
}

// dropIndexSQL is the statement that drops an index, or ok=false for an index
// of a partition attached to its parent's index (it is dropped with it: the
// finding belongs to the parent). An index a partition has of its own is
// dropped concurrently like any other. A partitioned table's index cannot be
// dropped concurrently.
func dropIndexSQL(p *Pass, ix *pgstat.Index) (sql string, ok bool) {
	name := pgstat.QuoteQualified(ix.Schema, ix.Name)
	t := p.Table(ix.Schema, ix.Table)
	switch {
	case ix.Parent != "":
		return "", false
	case t != nil && t.Parent != "" && !p.attachmentsKnown():
		return "", false // a snapshot from before attachments were recorded: it may be attached
	case t != nil && t.Kind == "p":
		return "DROP INDEX IF EXISTS " + name, true
	}
	return "DROP INDEX CONCURRENTLY IF EXISTS " + name, true
}

// columnKeys are plain column keys, one a column.
func columnKeys(cols []string) []whatif.Key {
	keys := make([]whatif.Key, len(cols))
	for i, c := range cols {
		keys[i] = whatif.Key{Column: c}
	}
	return keys
}

// leadsWith reports whether ix serves equality on the columns cols, in any
// order (whatif.IndexServes): a valid, non-partial btree index leading with
// them, a unique one on some of them, or a hash index on the one column.
func leadsWith(ix *pgstat.Index, cols []string) bool {
	return whatif.IndexServes(ix, "btree", columnKeys(cols), len(cols))
}
