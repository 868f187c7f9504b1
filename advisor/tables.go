package advisor

// Helpers that name the tables and columns a statement's facts refer to, as
// the workload rules (n-plus-one, unbatched-writes, unbounded-result,
// denormalization) report them.

import (
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// wlTable resolves a relation of the facts to the snapshot's table.
func wlTable(p *Pass, r sqlfacts.Relation) *pgstat.Table {
	return p.Table(r.Schema, r.Name)
}

// wlName is the name a finding gives a table: schema.name, quoted where needed.
func wlName(t *pgstat.Table) string { return t.QualifiedName() }

// wlObjects are the names of the tables, each once, nil ones left out.
func wlObjects(tables ...*pgstat.Table) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, t := range tables {
		if t == nil || seen[wlName(t)] {
			continue
		}
		seen[wlName(t)] = true
		out = append(out, wlName(t))
	}
	return out
}

// wlColumn is the column of t by name, or nil.
func wlColumn(t *pgstat.Table, name string) *pgstat.Column {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i]
		}
	}
	return nil
}

// wlPrimaryKey returns the primary-key columns of t (or of its first unique index).
func wlPrimaryKey(p *Pass, t *pgstat.Table) []string {
	var unique []string
	for _, ix := range p.IndexesOf(t) {
		if ix.Predicate != "" || len(ix.Expressions) > 0 && anyTrue(ix.Expressions) {
			continue
		}
		if ix.Primary {
			return ix.Columns
		}
		if ix.Unique && unique == nil {
			unique = ix.Columns
		}
	}
	return unique
}
