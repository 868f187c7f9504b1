package advisor

import "github.com/pgadvisor/pgadvisor/pgstat"

// tableNamed returns the snapshot's table whose QualifiedName is name, if any.
func (p *Pass) tableNamed(name string) *pgstat.Table {
	for i := range p.Snapshot.Tables {
		if t := &p.Snapshot.Tables[i]; t.QualifiedName() == name {
			return t
		}
	}
	return nil
}

// root returns the partitioned table at the top of a partition's tree, or t
// itself when it is no partition: indexes are proposed there.
func (p *Pass) root(t *pgstat.Table) *pgstat.Table {
	for depth := 0; t.Parent != "" && depth < 8; depth++ {
		up := p.tableNamed(t.Parent)
		if up == nil {
			break
		}
		t = up
	}
	return t
}

// indexNamed returns the snapshot's index whose schema-qualified name is name, if any.
func (p *Pass) indexNamed(name string) *pgstat.Index {
	for i := range p.Snapshot.Indexes {
		if ix := &p.Snapshot.Indexes[i]; pgstat.QuoteQualified(ix.Schema, ix.Name) == name {
			return ix
		}
	}
	return nil
}

// leafIndexes returns the indexes of the leaf partitions attached, directly
// or through a sub-partitioned index, to the partitioned index ix.
func (p *Pass) leafIndexes(ix *pgstat.Index) []*pgstat.Index {
	var out []*pgstat.Index
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		if depth > 8 {
			return
		}
		for i := range p.Snapshot.Indexes {
			child := &p.Snapshot.Indexes[i]
			if child.Parent != parent {
				continue
			}
			if t := p.Table(child.Schema, child.Table); t != nil && t.Kind == "p" {
				walk(pgstat.QuoteQualified(child.Schema, child.Name), depth+1)
				continue
			}
			out = append(out, child)
		}
	}
	walk(pgstat.QuoteQualified(ix.Schema, ix.Name), 0)
	return out
}
