package advisor

import (
	"fmt"
	"strings"

	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/whatif"
)

// FKMissingIndex finds foreign keys whose referencing columns lead no index.
var FKMissingIndex = &Rule{
	Name:     "fk-missing-index",
	Family:   "catalog",
	Severity: SeverityWarning,
	Doc: `Foreign key without an index on its referencing columns
PostgreSQL indexes the referenced side of a foreign key (it must be unique)
but not the referencing side. Without an index leading with the referencing
columns, every DELETE or key UPDATE on the referenced table scans the
referencing table to check for rows, under lock, and joins from the parent to
its children cannot use an index. Create one with CREATE INDEX CONCURRENTLY
on the referencing columns (a composite index that starts with them serves
too). A foreign key declared on partitions rather than on their partitioned
table (as older schemas had to) is reported once for the table, naming the
partitions without an index; the evidence carries the ALTER TABLE that
declares it on the parent instead. In pgadvisor review the rule reads the
migrations: a foreign key a migration adds with no index leading with its
columns in the same or a later migration of the folder.`,
	Criteria: `no valid, non-partial index whose leading columns are the foreign key's columns (any order); the
referencing table has >= large_table_rows rows, or the referenced table has had rows deleted or updated since
the statistics were reset. A key declared on the parent is reported once, on the parent. A key declared on
partitions only (not on their parent) is reported once per parent, columns and referenced table, for the partitions
without an index (their rows summed): the fix indexes the parent with the online recipe when every partition has the
key, else those partitions with CREATE INDEX CONCURRENTLY. Severity: warning; a notice, and a hygiene fix listed
apart from the fixes that cut time, when the referenced table had no deletes or key updates since the reset.
Review (migration folders): no CREATE INDEX, PRIMARY KEY or UNIQUE leading with the key's columns (any order) in the
migration adding the key or a later one of its folder.`,
	Run: runFKMissingIndex,
}

func init() { register(FKMissingIndex) }

// FKMissingIndexThresholds are the thresholds of fk-missing-index (rules.fk-missing-index.thresholds in .pgadvisor.yaml).
type FKMissingIndexThresholds struct {
	LargeTableRows float64 `json:"large_table_rows" doc:"a referencing table with fewer rows needs the index only when rows of the referenced table are deleted or updated"`
}

var defaultFKMissingIndex = FKMissingIndexThresholds{
	LargeTableRows: 10000,
}

func runFKMissingIndex(p *Pass) error {
	var onPartitions []pgstat.ForeignKey
	for _, fk := range p.Snapshot.ForeignKeys {
		t := p.Table(fk.Schema, fk.Table)
		if t == nil {
			continue
		}
		if t.Parent != "" {
			onPartitions = append(onPartitions, fk)
			continue
		}
		covered := false
		for _, ix := range p.IndexesOf(t) {
			if leadsWith(ix, fk.Columns) {
				covered = true
				break
			}
		}
		if covered {
			continue
		}
		ref := p.Table(fk.RefSchema, fk.RefTable)
		rows := p.Snapshot.RowCount(t)
		var refWrites int64
		if ref != nil {
			refWrites = ref.NTupDel + ref.NTupUpd
		}
		if rows < p.Options.FKMissingIndex.LargeTableRows && refWrites == 0 {
			continue
		}
		c := whatif.Candidate{Schema: t.Schema, Table: t.Name, Method: "btree", Partitioned: t.Kind == "p"}
		for _, col := range fk.Columns {
			c.Keys = append(c.Keys, whatif.Key{Column: col})
		}
		refName := pgstat.QuoteQualified(fk.RefSchema, fk.RefTable)
		cols := make([]string, len(fk.Columns))
		for i, col := range fk.Columns {
			cols[i] = pgstat.QuoteIdent(col)
		}
		ev := map[string]any{
			"constraint":  fk.Name,
			"columns":     fk.Columns,
			"references":  refName,
			"ref_columns": fk.RefColumns,
			"table_rows":  rows,
		}
		if ref != nil {
			ev["referenced_deletes"] = ref.NTupDel
			ev["referenced_updates"] = ref.NTupUpd
		}
		fix := indexFix(p, "Index the referencing columns", c)
		// One index for both: the workload's recommended composite that
		// leads with the foreign key's columns serves the key's lookups too.
		if r := p.recommendationLeadingWith(t.Schema, t.Name, fk.Columns); r != nil {
			fix = indexFix(p, "Create the index the missing-index finding recommends, which leads with the foreign key's columns and so serves it too", r.Candidate)
			ev["served_by_recommended_index"] = r.Name()
		}
		p.Report(fkHygiene(ref, c, rows, Finding{
			Message: fmt.Sprintf("foreign key %s of %s (%s) → %s has no index on its referencing columns: deletes and key updates on %s scan %s (%.0f rows)",
				pgstat.QuoteIdent(fk.Name), t.QualifiedName(), strings.Join(cols, ", "), refName, refName, t.QualifiedName(), rows),
			Objects:  []string{t.QualifiedName(), refName},
			Evidence: ev,
			Fix:      fix,
		}))
	}
	partitionFKs(p, onPartitions)
	return nil
}

// partitionFKs reports the foreign keys declared on partitions but not on
// their parent (the collector leaves out the copies a parent's key puts on
// its partitions, so every key of a partition here is one of its own), one
// finding per parent, columns and referenced table.
func partitionFKs(p *Pass, fks []pgstat.ForeignKey) {
	type group struct {
		root     *pgstat.Table
		fk       pgstat.ForeignKey
		declared []*pgstat.Table
		bare     []*pgstat.Table // without an index leading with the columns
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, fk := range fks {
		t := p.Table(fk.Schema, fk.Table)
		root := p.root(t)
		key := root.QualifiedName() + "|" + strings.Join(fk.Columns, ",") + "|" + pgstat.QuoteQualified(fk.RefSchema, fk.RefTable) + "|" + strings.Join(fk.RefColumns, ",")
		g := byKey[key]
		if g == nil {
			g = &group{root: root, fk: fk}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.declared = append(g.declared, t)
		covered := false
		for _, ix := range p.IndexesOf(t) {
			if leadsWith(ix, fk.Columns) {
				covered = true
				break
			}
		}
		if !covered {
			g.bare = append(g.bare, t)
		}
	}
	for _, g := range groups {
		if len(g.bare) == 0 {
			continue
		}
		fk := g.fk
		var rows float64
		var declared, bare []string
		for _, t := range g.declared {
			declared = append(declared, t.QualifiedName())
		}
		for _, t := range g.bare {
			rows += p.Snapshot.RowCount(t)
			bare = append(bare, t.QualifiedName())
		}
		ref := p.Table(fk.RefSchema, fk.RefTable)
		var refWrites int64
		if ref != nil {
			refWrites = ref.NTupDel + ref.NTupUpd
		}
		if rows < p.Options.FKMissingIndex.LargeTableRows && refWrites == 0 {
			continue
		}
		refName := pgstat.QuoteQualified(fk.RefSchema, fk.RefTable)
		cols := make([]string, len(fk.Columns))
		keys := make([]whatif.Key, len(fk.Columns))
		for i, col := range fk.Columns {
			cols[i] = pgstat.QuoteIdent(col)
			keys[i] = whatif.Key{Column: col}
		}
		leaves := 0
		for i := range p.Snapshot.Tables {
			if t := &p.Snapshot.Tables[i]; t.Kind != "p" && t.Kind != "f" && t.Parent != "" && p.root(t) == g.root {
				leaves++
			}
		}
		ev := map[string]any{
			"constraint":            fk.Name,
			"columns":               fk.Columns,
			"references":            refName,
			"ref_columns":           fk.RefColumns,
			"partitioned_table":     g.root.QualifiedName(),
			"declared_on":           declared,
			"not_declared_on":       g.root.QualifiedName() + " (the partitioned table itself)",
			"partitions_unindexed":  bare,
			"table_rows":            rows,
			"partitions_total":      leaves,
			"declare_on_parent_sql": fmt.Sprintf("ALTER TABLE %s ADD FOREIGN KEY (%s) REFERENCES %s", g.root.QualifiedName(), strings.Join(cols, ", "), refName),
		}
		if ref != nil {
			ev["referenced_deletes"] = ref.NTupDel
			ev["referenced_updates"] = ref.NTupUpd
		}
		var fix *Fix
		if r := p.recommendationLeadingWith(g.root.Schema, g.root.Name, fk.Columns); r != nil {
			fix = indexFix(p, "Create the index the missing-index finding recommends, which leads with the foreign key's columns and so serves it too", r.Candidate)
			ev["served_by_recommended_index"] = r.Name()
		} else if len(g.declared) == leaves {
			// Every partition has the key: one index on the parent serves them
			// all and the partitions to come.
			c := whatif.Candidate{Schema: g.root.Schema, Table: g.root.Name, Method: "btree", Partitioned: true, Keys: keys}
			fix = indexFix(p, "Index the referencing columns on the partitioned table, online (built only on the partitions without one)", c)
		} else {
			fix = &Fix{Summary: "Index the referencing columns of each partition that declares the key"}
			for _, t := range g.bare {
				c := whatif.Candidate{Schema: t.Schema, Table: t.Name, Method: "btree", Keys: keys}
				fix.SQL = append(fix.SQL, c.CreateSQL())
			}
		}
		objects := append([]string{g.root.QualifiedName()}, bare...)
		p.Report(fkHygiene(ref, whatif.Candidate{Method: "btree", Keys: keys}, rows, Finding{
			Message: fmt.Sprintf("foreign key %s (%s) → %s is declared on %d partition(s) of %s, not on the table itself, and %s of them have no index on its referencing columns: deletes and key updates on %s scan them (%.0f rows)",
				pgstat.QuoteIdent(fk.Name), strings.Join(cols, ", "), refName, len(g.declared), g.root.QualifiedName(), countWord(len(bare), len(g.declared)), refName, rows),
			Objects:  append(objects, refName),
			Evidence: ev,
			Fix:      fix,
		}))
	}
}

// fkHygiene grades a foreign-key finding by what the index buys in this
// workload (issue 10 §3): when the referenced table had no deletes and no
// key updates since the statistics were reset, the index saves no time
// here; it protects the deletes to come. Such a finding is a notice and its
// fix is hygiene, listed apart from the fixes that cut time; its estimated
// size is in the evidence so that each set shows its total. A fix that is
// the workload's recommended index is not hygiene: it cuts time.
func fkHygiene(ref *pgstat.Table, c whatif.Candidate, rows float64, f Finding) Finding {
	if f.Fix == nil || f.Evidence["served_by_recommended_index"] != nil || ref == nil || ref.NTupDel+ref.NTupUpd > 0 {
		return f
	}
	fix := *f.Fix
	fix.Hygiene = true
	f.Fix = &fix
	f.Severity = SeverityNotice
	f.Evidence["hygiene"] = "no deletes or key updates on the referenced table since the statistics were reset: the index saves no time in this workload, it keeps future deletes and key updates from scanning the table"
	if _, ok := f.Evidence["size_bytes"]; !ok {
		c.RowsEstimate = rows
		if size := c.EstimatedSize(); size > 0 {
			f.Evidence["size_bytes"] = size
			f.Evidence["size_estimated"] = true
		}
	}
	return f
}

// countWord is "all" when n is every one of total, else n.
func countWord(n, total int) string {
	if n == total {
		return "all"
	}
	return fmt.Sprint(n)
}
