package advisor

import (
	"fmt"
	"strings"

	"github.com/pgadvisor/pgadvisor/pgstat"
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
does not enforce uniqueness: fix the duplicate rows first.`,
	Criteria: `pg_index.indisvalid = false. Severity: warning; error for a unique index.`,
	Run:      runInvalidIndex,
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
