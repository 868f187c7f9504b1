package advisor

import (
	"fmt"
	"time"

	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// UnusedIndex finds indexes never scanned since the statistics were reset.
var UnusedIndex = &Rule{
	Name:     "unused-index",
	Family:   "catalog",
	Severity: SeverityWarning,
	Doc: `Index never scanned since the statistics were reset
An index that no query has scanned still costs storage, makes every INSERT and
most UPDATEs and DELETEs of its table slower, and takes room in memory. Check
that the statistics cover a representative period (the age is in the
evidence; replicas keep their own scan counts, so check them too), then drop
it with DROP INDEX CONCURRENTLY. Audited on a standby, the counts are that
standby's own: the finding only asks to check the primary and every replica,
and proposes no DROP. Primary keys, unique and constraint-backing
indexes are never reported: they enforce rules even when no query reads them.
Nor is an index that is the only one leading with a foreign key's columns
(dropping it would slow deletes on the referenced table). An index of a
partitioned table is unused when no partition's index attached to it was
scanned (it is dropped on the parent, without CONCURRENTLY, which a
partitioned index does not allow); an index a partition has of its own is
judged like any other.`,
	Criteria: `idx_scan = 0; valid index; not primary, unique or constraint-backing; its table has been read at least once
(seq_scan + idx_scan > 0) since the reset. An index of a partitioned table counts the scans, reads and size of
the partitions' indexes attached to it; an attached partition index is never reported alone (it goes with its
parent's), an index a partition has of its own is.
Severity: warning; notice when the statistics are younger than 7 days. On a standby (pg_is_in_recovery):
notice, advisory, no DROP: the counters are the standby's own.`,
	Run: runUnusedIndex,
}

func init() { register(UnusedIndex) }

func runUnusedIndex(p *Pass) error {
	since := statsSince(p.Snapshot)
	for i := range p.Snapshot.Indexes {
		ix := &p.Snapshot.Indexes[i]
		if ix.IdxScan != 0 || !ix.Valid || ix.Primary || ix.Unique || ix.Constraint != "" {
			continue
		}
		t := p.Table(ix.Schema, ix.Table)
		if t == nil {
			continue
		}
		use := indexUseOf(p, ix, t)
		if use.scans != 0 || use.tableReads == 0 {
			continue
		}
		if onlyFKIndex(p, ix) {
			continue
		}
		drop, ok := dropIndexSQL(p, ix)
		if !ok {
			continue
		}
		name := pgstat.QuoteQualified(ix.Schema, ix.Name)
		ev := map[string]any{
			"idx_scan":     0,
			"size_bytes":   use.sizeBytes,
			"definition":   ix.Definition,
			"table_writes": use.tableWrites,
			"table_reads":  use.tableReads,
		}
		if t.Kind == "p" {
			ev["partition_indexes"] = use.partitions
		}
		if root := p.root(t); root != t {
			ev["partition_of"] = root.QualifiedName()
		}
		sev := SeverityWarning
		age := ""
		if since != nil {
			hours := p.Snapshot.CollectedAt.Sub(*since).Hours()
			if hours < 0 {
				hours = 0
			}
			ev["stats_since"] = since.UTC().Format(time.RFC3339)
			ev["stats_age_hours"] = round(hours, 1)
			age = " (statistics " + humanAge(hours) + " old)"
			if hours < 7*24 {
				sev = SeverityNotice
			}
		}
		if p.Snapshot.Server.InRecovery {
			// A standby counts only its own scans: the primary and the other
			// replicas may use the index every second. Nothing to drop from here.
			ev["counters_from"] = "standby"
			p.Report(Finding{
				Severity: SeverityNotice,
				Message:  fmt.Sprintf("index %s on %s has never been scanned on this standby since its statistics were reset%s; it costs %s, but a standby counts only its own scans", name, t.QualifiedName(), age, num.Bytes(float64(use.sizeBytes))),
				Objects:  []string{name, t.QualifiedName()},
				Evidence: ev,
				Fix: &Fix{
					Summary:  fmt.Sprintf("Check idx_scan of %s in pg_stat_user_indexes on the primary and on every replica; drop it (on the primary) only if no server scans it", name),
					Advisory: true,
				},
			})
			continue
		}
		p.Report(Finding{
			Severity: sev,
			Message:  fmt.Sprintf("index %s on %s has never been scanned since the statistics were reset%s; it costs %s and slows every write", name, t.QualifiedName(), age, num.Bytes(float64(use.sizeBytes))),
			Objects:  []string{name, t.QualifiedName()},
			Evidence: ev,
			Fix:      &Fix{Summary: "Drop the unused index (after checking replicas and a full business cycle of statistics)", SQL: []string{drop}},
		})
	}
	return nil
}

// indexUse is what the scan counters say about an index: for a partitioned
// index, summed over the leaf partitions' indexes attached to it (its own
// counters stay 0: scans count on the partitions).
type indexUse struct {
	scans, sizeBytes        int64
	tableReads, tableWrites int64
	partitions              int
}

func indexUseOf(p *Pass, ix *pgstat.Index, t *pgstat.Table) indexUse {
	u := indexUse{scans: ix.IdxScan, sizeBytes: ix.SizeBytes, tableReads: t.SeqScan + t.IdxScan, tableWrites: t.NTupIns + t.NTupUpd + t.NTupDel}
	if t.Kind != "p" {
		return u
	}
	u.tableReads, u.tableWrites = 0, 0
	for _, leaf := range p.leafIndexes(ix) {
		u.partitions++
		u.scans += leaf.IdxScan
		u.sizeBytes += leaf.SizeBytes
		if lt := p.Table(leaf.Schema, leaf.Table); lt != nil {
			u.tableReads += lt.SeqScan + lt.IdxScan
			u.tableWrites += lt.NTupIns + lt.NTupUpd + lt.NTupDel
		}
	}
	return u
}

// statsSince is when the snapshot's scan counters started: the database's
// stats_reset, else the server start.
func statsSince(s *pgstat.Snapshot) *time.Time {
	if s.Server.StatsResetAt != nil {
		return s.Server.StatsResetAt
	}
	return s.Server.StartedAt
}

// onlyFKIndex reports whether ix is the only valid index leading with the
// columns of a foreign key of its table (on a partition: or of a partitioned
// table above it, whose key the partition inherits).
func onlyFKIndex(p *Pass, ix *pgstat.Index) bool {
	s := p.Snapshot
	owners := map[string]bool{pgstat.QuoteQualified(ix.Schema, ix.Table): true}
	if t := p.Table(ix.Schema, ix.Table); t != nil {
		for depth := 0; t.Parent != "" && depth < 8; depth++ {
			owners[t.Parent] = true
			if t = p.tableNamed(t.Parent); t == nil {
				break
			}
		}
	}
	for _, fk := range s.ForeignKeys {
		if !owners[pgstat.QuoteQualified(fk.Schema, fk.Table)] || !leadsWith(ix, fk.Columns) {
			continue
		}
		others := 0
		for i := range s.Indexes {
			o := &s.Indexes[i]
			if o != ix && o.Schema == ix.Schema && o.Table == ix.Table && leadsWith(o, fk.Columns) {
				others++
			}
		}
		if others == 0 {
			return true
		}
	}
	return false
}

func humanAge(hours float64) string {
	switch {
	case hours < 1:
		return fmt.Sprintf("%.0f minutes", hours*60)
	case hours < 48:
		return fmt.Sprintf("%.0f hours", hours)
	}
	return fmt.Sprintf("%.0f days", hours/24)
}
