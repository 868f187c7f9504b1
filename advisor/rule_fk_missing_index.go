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
too).`,
	Criteria: `no valid, non-partial index whose leading columns are the foreign key's columns (any order); the
referencing table has >= large_table_rows rows, or the referenced table has had rows deleted or updated since
the statistics were reset. Partitions are reported once, on their partitioned parent. Severity: warning.`,
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
	for _, fk := range p.Snapshot.ForeignKeys {
		t := p.Table(fk.Schema, fk.Table)
		if t == nil || t.Parent != "" {
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
		fix := indexFix("Index the referencing columns", c)
		// One index for both: the workload's recommended composite that
		// leads with the foreign key's columns serves the key's lookups too.
		if r := p.recommendationLeadingWith(t.Schema, t.Name, fk.Columns); r != nil {
			fix = indexFix("Create the index the missing-index finding recommends, which leads with the foreign key's columns and so serves it too", r.Candidate)
			ev["served_by_recommended_index"] = r.Name()
		}
		p.Report(Finding{
			Message: fmt.Sprintf("foreign key %s of %s (%s) → %s has no index on its referencing columns: deletes and key updates on %s scan %s (%.0f rows)",
				pgstat.QuoteIdent(fk.Name), t.QualifiedName(), strings.Join(cols, ", "), refName, refName, t.QualifiedName(), rows),
			Objects:  []string{t.QualifiedName(), refName},
			Evidence: ev,
			Fix:      fix,
		})
	}
	return nil
}
