package pgstat

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Footprint is what an audit did to pg_stat_statements: how many entries its
// own statements added and whether entries the workload had were evicted
// while it ran. Near pg_stat_statements.max every new entry evicts others
// (pg_stat_statements_info.dealloc counts the evictions, each dropping about
// 5% of the entries, the least used first), and the history of an evicted
// statement is lost.
type Footprint struct {
	// Track is the session's pg_stat_statements.track: "none" when pgadvisor
	// turned tracking off for itself (superuser, or SET granted on 15+).
	Track string `json:"track"`
	// Added counts the entries of the audit's role in the audited database
	// that appeared during the audit (a workload running as the same role at
	// the same time is counted too).
	Added int `json:"added"`
	// Evicted counts the entries present when the audit began and gone at
	// its end (evicted, or removed by pg_stat_statements_reset).
	Evicted int `json:"evicted"`
	// DeallocBefore and DeallocAfter are pg_stat_statements_info.dealloc at
	// the start and the end of the audit; nil before 1.9 (PostgreSQL 14).
	DeallocBefore *int64 `json:"dealloc_before,omitempty"`
	DeallocAfter  *int64 `json:"dealloc_after,omitempty"`
	// Entries is the number of entries at the end of the audit, Max is
	// pg_stat_statements.max.
	Entries int `json:"entries"`
	Max     int `json:"max,omitempty"`
}

// Untracked reports whether the audit's session was not tracked.
func (f *Footprint) Untracked() bool { return f.Track == "none" }

// Deallocations is how many times pg_stat_statements evicted entries during
// the audit (the rise of dealloc), 0 when unknown.
func (f *Footprint) Deallocations() int64 {
	if f.DeallocBefore == nil || f.DeallocAfter == nil {
		return 0
	}
	return max(*f.DeallocAfter-*f.DeallocBefore, 0)
}

// CausedEvictions reports whether entries were evicted while the audit ran.
func (f *Footprint) CausedEvictions() bool { return f.Deallocations() > 0 || f.Evicted > 0 }

// Summary is the footprint as one sentence for reports.
func (f *Footprint) Summary() string {
	s := fmt.Sprintf("The audit added %d pg_stat_statements entries", f.Added)
	if f.Added == 1 {
		s = "The audit added 1 pg_stat_statements entry"
	}
	if f.Untracked() {
		s += " (its session was not tracked)"
	}
	switch {
	case f.Deallocations() > 0:
		s += fmt.Sprintf(" and caused evictions: dealloc %d → %d, %d earlier entries lost", *f.DeallocBefore, *f.DeallocAfter, f.Evicted)
	case f.Evicted > 0:
		s += fmt.Sprintf("; %d earlier entries are gone (evicted or reset)", f.Evicted)
	default:
		s += " and caused no evictions"
	}
	if f.Max > 0 {
		s += fmt.Sprintf(" (%d of pg_stat_statements.max %d entries in use)", f.Entries, f.Max)
	}
	return s
}

// entryKey identifies a pg_stat_statements entry (with toplevel, 1.9+, two
// entries may share it: keys are counted).
type entryKey struct {
	user, db uint32
	queryID  int64
	hidden   bool // queryid not shown (another role's entry, no pg_read_all_stats)
}

// FootprintProbe is the state of pg_stat_statements when an audit began.
type FootprintProbe struct {
	user, db uint32
	track    string
	info     bool // pg_stat_statements_info exists (1.9+)
	keys     map[entryKey]int
	dealloc  *int64
}

// StartFootprint records the entries of pg_stat_statements and its dealloc
// counter before an audit; Finish compares. It fails when
// pg_stat_statements is not installed in the database.
func StartFootprint(ctx context.Context, conn *pgx.Conn) (*FootprintProbe, error) {
	p := &FootprintProbe{}
	var version *string
	var user, db int64
	err := conn.QueryRow(ctx, Marker+` SELECT (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)::int8,
  (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())::int8,
  COALESCE(pg_catalog.current_setting('pg_stat_statements.track', true), ''),
  (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pg_stat_statements')`).Scan(&user, &db, &p.track, &version)
	if err != nil {
		return nil, fmt.Errorf("read pg_stat_statements footprint: %w", err)
	}
	if version == nil {
		return nil, fmt.Errorf("read pg_stat_statements footprint: pg_stat_statements is not installed")
	}
	p.user, p.db = uint32(user), uint32(db)
	if v, ok := parseExtVersion(*version); !ok || v.atLeast(1, 9) {
		p.info = true
	}
	if p.keys, p.dealloc, err = p.read(ctx, conn); err != nil {
		return nil, err
	}
	return p, nil
}

// read returns the entry keys and dealloc.
func (p *FootprintProbe) read(ctx context.Context, conn *pgx.Conn) (map[entryKey]int, *int64, error) {
	rows, err := conn.Query(ctx, Marker+` SELECT userid::int8, dbid::int8, queryid FROM pg_stat_statements(false)`)
	if err != nil {
		return nil, nil, fmt.Errorf("read pg_stat_statements entries: %w", err)
	}
	keys := map[entryKey]int{}
	for rows.Next() {
		var user, db int64
		var queryID *int64
		if err := rows.Scan(&user, &db, &queryID); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("read pg_stat_statements entries: %w", err)
		}
		k := entryKey{user: uint32(user), db: uint32(db), hidden: queryID == nil}
		if queryID != nil {
			k.queryID = *queryID
		}
		keys[k]++
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read pg_stat_statements entries: %w", err)
	}
	if !p.info {
		return keys, nil, nil
	}
	var dealloc int64
	if err := conn.QueryRow(ctx, Marker+` SELECT dealloc FROM pg_stat_statements_info`).Scan(&dealloc); err != nil {
		return nil, nil, fmt.Errorf("read pg_stat_statements_info: %w", err)
	}
	return keys, &dealloc, nil
}

// Finish compares pg_stat_statements with its state when the audit began.
// maxEntries is pg_stat_statements.max (0 when unknown).
func (p *FootprintProbe) Finish(ctx context.Context, conn *pgx.Conn, maxEntries int) (*Footprint, error) {
	keys, dealloc, err := p.read(ctx, conn)
	if err != nil {
		return nil, err
	}
	f := &Footprint{Track: p.track, DeallocBefore: p.dealloc, DeallocAfter: dealloc, Max: maxEntries}
	for k, n := range keys {
		f.Entries += n
		if k.user == p.user && k.db == p.db && !k.hidden && n > p.keys[k] {
			f.Added += n - p.keys[k]
		}
	}
	for k, n := range p.keys {
		if n > keys[k] {
			f.Evicted += n - keys[k]
		}
	}
	return f, nil
}
