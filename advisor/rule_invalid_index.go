package advisor

import (
	"fmt"
	"strings"

	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/whatif"
)

// InvalidIndex finds indexes left invalid by a failed concurrent build.
var InvalidIndex = &Rule{
	Name:     "invalid-index",
	Family:   "catalog",
	Severity: SeverityWarning,
	Doc: `Invalid index left by a failed CREATE INDEX CONCURRENTLY
A concurrent index build that fails (a deadlock, a uniqueness violation, a
cancelled session) leaves the index behind marked invalid: the planner never
uses it, yet every write still maintains it. If no build is still running on
it (pg_stat_progress_create_index), drop it with DROP INDEX CONCURRENTLY and
create it again; the fix carries its definition. An invalid unique index also
does not enforce uniqueness: fix the duplicate rows first. An index of a
partitioned table is invalid until every partition has an index attached to
it (CREATE INDEX … ON ONLY, then ATTACH PARTITION per partition): the fix
finishes that, building the index with CREATE INDEX CONCURRENTLY only on the
partitions that lack it and attaching it.`,
	Criteria: `pg_index.indisvalid = false. Severity: warning; error for a unique index. On a partitioned table: the
partitions without an attached index are named (a partial, INCLUDE or unique index keeps the drop-and-rebuild fix).`,
	Run: runInvalidIndex,
}

func init() { register(InvalidIndex) }

func runInvalidIndex(p *Pass) error {
	for i := range p.Snapshot.Indexes {
		ix := &p.Snapshot.Indexes[i]
		if ix.Valid {
			continue
		}
		name := pgstat.QuoteQualified(ix.Schema, ix.Name)
		table := pgstat.QuoteQualified(ix.Schema, ix.Table)
		sev := SeverityWarning
		if ix.Unique {
			sev = SeverityError
		}
		drop, ok := dropIndexSQL(p, ix)
		if !ok {
			continue
		}
		if c, ok := whatif.CompletionOf(p.Snapshot, ix); ok && reportIncomplete(p, ix, c) {
			continue
		}
		fix := []string{drop}
		if def := concurrentDefinition(ix.Definition); def != "" {
			fix = append(fix, def)
		}
		p.Report(Finding{
			Severity: sev,
			Message:  fmt.Sprintf("index %s on %s is invalid (a failed concurrent build?): it is never used but every write maintains it", name, table),
			Objects:  []string{name, table},
			Evidence: map[string]any{"definition": ix.Definition, "size_bytes": ix.SizeBytes, "ready": ix.Ready, "unique": ix.Unique},
			Fix:      &Fix{Summary: "Drop the invalid index and build it again (check pg_stat_progress_create_index first: a build may still be running)", SQL: fix},
		})
	}
	return nil
}

// reportIncomplete reports an invalid partitioned index as the online build
// left unfinished: the partitions that lack an attached index, and the
// recipe's remaining steps. false when every partition has one (the invalid
// one is further down: reported there).
func reportIncomplete(p *Pass, ix *pgstat.Index, c whatif.Candidate) bool {
	var missing, attached []string
	for _, s := range c.Partitions {
		switch {
		case s.Partitioned:
		case s.Attached:
			attached = append(attached, s.QualifiedTable())
		default:
			missing = append(missing, s.QualifiedTable())
		}
	}
	if len(missing) == 0 {
		return false
	}
	name := pgstat.QuoteQualified(ix.Schema, ix.Name)
	table := pgstat.QuoteQualified(ix.Schema, ix.Table)
	p.Report(Finding{
		Message: fmt.Sprintf("index %s on the partitioned table %s is invalid: %d of its %d partitions have no index attached to it (%s); they are read without it, and partitions created later get no copy of it",
			name, table, len(missing), len(missing)+len(attached), strings.Join(missing, ", ")),
		Objects: append([]string{name, table}, missing...),
		Evidence: map[string]any{
			"definition":          ix.Definition,
			"partitions_missing":  missing,
			"partitions_attached": attached,
			"partitions_total":    len(missing) + len(attached),
		},
		Fix: &Fix{Summary: "Finish the online build: create the index on the partitions that lack it (CONCURRENTLY) and attach it, or an identical index they already have", SQL: c.FixSQL()},
	})
	return true
}

// concurrentDefinition turns pg_get_indexdef's CREATE [UNIQUE] INDEX into the
// CONCURRENTLY form ("" when the definition is not a CREATE INDEX). An
// index ON ONLY a partitioned table cannot be built concurrently and is kept as is.
func concurrentDefinition(def string) string {
	for _, prefix := range []string{"CREATE UNIQUE INDEX ", "CREATE INDEX "} {
		if strings.HasPrefix(def, prefix) {
			if strings.Contains(def, " ON ONLY ") {
				return def
			}
			return prefix + "CONCURRENTLY " + strings.TrimPrefix(def, prefix)
		}
	}
	return ""
}
