package advisor

import (
	"strings"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// serveByLongerIndex keeps the union of the fixes free of an index that a
// leading prefix of another would duplicate, whichever rule proposes it
// (issue 10 §2): a proposed index whose keys lead another proposed index on
// the same table (same method and predicate) takes that index's fix, so the
// report creates the longer index once and it serves both needs; a proposed
// index that an existing valid index already leads with is not proposed at
// all (the finding says which index serves it). It runs before merge, so
// findings about one statement that now share a fix become one.
func serveByLongerIndex(p *Processing) {
	type proposal struct {
		at  int
		def sqlfacts.IndexSpec
	}
	var props []proposal
	for i, f := range p.Findings {
		if f.Fix == nil || f.Fix.Advisory {
			continue
		}
		if sql := firstCreateIndex(f.Fix.SQL); sql != "" {
			if def, err := sqlfacts.ParseIndexSpec(sql); err == nil && !def.Unique {
				props = append(props, proposal{i, def})
			}
		}
	}
	var existing []sqlfacts.IndexSpec
	for _, ix := range p.Indexes {
		if !ix.Valid || ix.Definition == "" {
			continue
		}
		if def, err := sqlfacts.ParseIndexSpec(ix.Definition); err == nil {
			def.Schema = ix.Schema // pg_get_indexdef qualifies the table; keep the catalog's names
			def.Table = ix.Table
			existing = append(existing, def)
		}
	}
	for _, a := range props {
		f := &p.Findings[a.at]
		for _, e := range existing {
			if e.Name != a.def.Name && e.LeadsWith(a.def) {
				fix := *f.Fix
				fix.SQL = nil
				fix.Advisory = true
				fix.Summary = "The existing index " + qualified(e) + " already leads with these keys and serves the lookup: " +
					"if the plan does not use it, check the statement's types and the table's statistics rather than build " + a.def.Name
				f.Fix = &fix
				f.Evidence = withEvidence(f.Evidence, "served_by_existing_index", qualified(e))
				break
			}
		}
	}
	for _, a := range props {
		f := &p.Findings[a.at]
		if f.Fix.SQL == nil {
			continue // served by an existing index
		}
		best := -1
		for j, b := range props {
			if b.def.Name == a.def.Name || p.Findings[b.at].Fix.SQL == nil || !b.def.LeadsWith(a.def) {
				continue
			}
			if best < 0 || len(b.def.Keys) > len(props[best].def.Keys) {
				best = j
			}
		}
		if best < 0 {
			continue
		}
		b := props[best]
		by := p.Findings[b.at]
		fix := *f.Fix
		fix.SQL = by.Fix.SQL
		fix.Summary += "; served by " + b.def.Name + ", which " + by.Rule + " proposes and which leads with these keys (one index, not two)"
		f.Fix = &fix
		f.Evidence = withEvidence(f.Evidence, "served_by_proposed_index", b.def.Name)
	}
}

// firstCreateIndex is the first CREATE INDEX of a fix's SQL (the index on
// the parent in a partitioned table's recipe), "" when it has none.
func firstCreateIndex(sqls []string) string {
	for _, s := range sqls {
		u := strings.ToUpper(strings.TrimSpace(s))
		if strings.HasPrefix(u, "CREATE INDEX") || strings.HasPrefix(u, "CREATE UNIQUE INDEX") {
			return s
		}
	}
	return ""
}

func qualified(d sqlfacts.IndexSpec) string { return sqlfacts.QuoteQualified(d.Schema, d.Name) }

func withEvidence(ev map[string]any, key string, v any) map[string]any {
	out := map[string]any{}
	for k, x := range ev {
		out[k] = x
	}
	out[key] = v
	return out
}
