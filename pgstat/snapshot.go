// Package pgstat owns the Snapshot: everything pgadvisor reads from a server
// (version, settings, pg_stat_statements, tables, indexes, foreign keys,
// pg_stat_activity samples, recorded plans, what-if results and --verify
// measurements, the last two typed by package whatif/record), and the
// version-aware readers that fill it. Rules read a Snapshot; they never query.
package pgstat

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/strictjson"
	"github.com/pgadvisor/pgadvisor/pglog"
	"github.com/pgadvisor/pgadvisor/whatif/record"
)

// SchemaVersion is the version of the snapshot's JSON form. Bump it when a
// field changes meaning; adding a field does not need a bump. Read accepts
// every version from 1.
//
// Version 2 makes what_if and verify part of the snapshot's schema: they are
// decoded with it into record.Result and []record.Measured (in version 1 they
// were opaque JSON that the index advisor decoded itself). Their JSON form is
// the same in both versions, so a version-1 file reads as it is.
const SchemaVersion = 2

// Kind is the value of Snapshot.Kind, so that a file can be recognised.
const Kind = "pgadvisor-snapshot"

// Snapshot is everything collected from one database at one time.
type Snapshot struct {
	Kind          string    `json:"kind"`
	SchemaVersion int       `json:"schema_version"`
	CollectedAt   time.Time `json:"collected_at"`
	Database      string    `json:"database"`
	Server        Server    `json:"server"`
	// Settings holds the relevant server settings by name (value as shown by
	// pg_settings.setting, with unit in SettingUnits when it has one).
	Settings     map[string]string `json:"settings"`
	SettingUnits map[string]string `json:"setting_units,omitempty"`
	// RoleSettings holds, by role name and setting name, the settings of
	// RoleSettingNames that a role's sessions get in this database from
	// ALTER ROLE … [IN DATABASE …] SET, as written there (e.g. "64kB"; a
	// value without unit is in the unit of SettingUnits). Nil when none.
	RoleSettings map[string]map[string]string `json:"role_settings,omitempty"`
	// StatStatements describes pg_stat_statements; nil when it is not installed.
	StatStatements *StatStatementsInfo `json:"pg_stat_statements,omitempty"`
	Statements     []Statement         `json:"statements"`
	Tables         []Table             `json:"tables"`
	Indexes        []Index             `json:"indexes"`
	ForeignKeys    []ForeignKey        `json:"foreign_keys"`
	// Views are the user views with their definitions (CollectViews), so
	// that index candidates resolve a view to its base tables.
	Views    []View           `json:"views,omitempty"`
	Activity []ActivitySample `json:"activity,omitempty"`
	// Waits is the wait-event profile of the sampling window: pg_stat_activity
	// read every WaitInterval and aggregated; nil when not sampled.
	Waits *WaitProfile `json:"waits,omitempty"`
	// PgBouncer holds the pooler's SHOW POOLS / SHOW STATS, when --pgbouncer was given.
	PgBouncer *PgBouncerStats `json:"pgbouncer,omitempty"`
	// Log is the statement-log summary (N+1 sequences), when --log was given.
	Log *pglog.Summary `json:"log,omitempty"`
	// Plans are the EXPLAIN results of the heaviest statements.
	Plans []explain.Result `json:"plans,omitempty"`
	// WhatIf holds hypothetical-index results (HypoPG) so offline runs
	// reproduce them; nil when the what-if did not run.
	WhatIf *record.Result `json:"what_if,omitempty"`
	// Verify holds the measured effect of the chosen indexes (audit --verify):
	// EXPLAIN ANALYZE before and after building them in a rolled-back transaction.
	Verify []record.Measured `json:"verify,omitempty"`
	// FixChecks are the rewritten statements a live audit PREPAREd (inside
	// a rolled-back transaction) before showing them, each with the server's
	// error when it failed; nil when none was checked.
	FixChecks []FixCheck `json:"fix_checks,omitempty"`
	// Observed are the predicate values pg_qualstats sampled for the
	// statements (only the columns' most common values); nil without it.
	Observed []ObservedValues `json:"observed,omitempty"`
	// Problems lists what could not be collected and why; collection goes on past them.
	Problems []Problem `json:"problems,omitempty"`
	// Timings records how long each collection phase took, milliseconds by phase name.
	Timings map[string]float64 `json:"timings_ms,omitempty"`
}

// FixCheck is one rewritten statement PREPAREd on the audited server.
type FixCheck struct {
	SQL   string `json:"sql"`             // the statement as the finding would show it, comments removed
	Error string `json:"error,omitempty"` // the server's message; empty when it prepared
}

// Problem is a part of the collection that failed, with the fix for it.
type Problem struct {
	Phase   string `json:"phase"`   // e.g. "statements", "activity", "explain"
	Message string `json:"message"` // one line, never a password
	Fix     string `json:"fix,omitempty"`
	// Objects are the schema-qualified relations the problem is about.
	Objects []string `json:"objects,omitempty"`
	// QueryIDs are (the first ten of) the statements the problem kept from
	// being planned, and Statements how many there were in all.
	QueryIDs   []string `json:"queryids,omitempty"`
	Statements int      `json:"statements,omitempty"`
	// LockWaits is how many times the audit waited a whole --lock-timeout
	// for the locked relation of the problem.
	LockWaits int `json:"lock_waits,omitempty"`
	// Severity is SeverityWarning for a problem that leaves the audit
	// complete (some statements were not planned, others were); empty means
	// what was collected is incomplete.
	Severity string `json:"severity,omitempty"`
}

// SeverityWarning marks a Problem that does not make the audit incomplete.
const SeverityWarning = "warning"

// Server identifies the server.
type Server struct {
	Version         string     `json:"version"`     // e.g. "15.18"
	VersionNum      int        `json:"version_num"` // server_version_num, e.g. 150018
	CurrentUser     string     `json:"current_user,omitempty"`
	StatsResetAt    *time.Time `json:"stats_reset_at,omitempty"`   // pg_stat_database.stats_reset of this database
	StartedAt       *time.Time `json:"started_at,omitempty"`       // pg_postmaster_start_time()
	HypoPG          string     `json:"hypopg,omitempty"`           // installed HypoPG version in this database, if any
	HypoPGAvailable bool       `json:"hypopg_available,omitempty"` // pg_available_extensions lists hypopg
	// InRecovery is pg_is_in_recovery(): the server is a standby, its
	// statistics (index scans, table reads, pg_stat_statements) are its own
	// and it accepts no writes.
	InRecovery bool `json:"in_recovery,omitempty"`
	// Transactions is xact_commit + xact_rollback of this database in
	// pg_stat_database (since StatsResetAt, or since the database's
	// statistics began when that is nil), read just before the statements;
	// nil in snapshots from before it was recorded.
	Transactions *int64 `json:"transactions,omitempty"`
}

// StatStatementsInfo describes the installed pg_stat_statements.
type StatStatementsInfo struct {
	Version    string     `json:"version"`               // extension version, e.g. "1.10"
	StatsReset *time.Time `json:"stats_reset,omitempty"` // pg_stat_statements_info.stats_reset, 1.9+
	Dealloc    int64      `json:"dealloc,omitempty"`     // entries evicted, 1.9+
	Max        int        `json:"max,omitempty"`         // pg_stat_statements.max
	// HiddenRows counts entries of the current database shown as
	// <insufficient privilege> (other users' statements, without
	// pg_read_all_stats); they are not in Statements.
	HiddenRows int `json:"hidden_rows,omitempty"`
	// OmittedRows counts entries left out because only the heaviest
	// CollectOptions.MaxStatements are kept.
	OmittedRows int `json:"omitted_rows,omitempty"`
	// TotalTime is the time (execution and planning, milliseconds) of every
	// entry of the current database except pgadvisor's own, whether kept in
	// Statements or left out (beyond MaxStatements, below MinCalls, hidden),
	// and Entries is how many entries that is: shares are fractions of it.
	// Both are nil in snapshots from before they were recorded; totals then
	// come from the kept statements.
	TotalTime *float64 `json:"total_time_ms,omitempty"`
	Entries   *int     `json:"entries,omitempty"`
	// Footprint is what the audit did to pg_stat_statements: entries its own
	// statements added, evictions while it ran (live audits only).
	Footprint *Footprint `json:"audit_footprint,omitempty"`
}

// Statement is one row of pg_stat_statements for the current database. Times
// are milliseconds. Fields the installed version lacks are zero.
type Statement struct {
	QueryID           int64   `json:"queryid,string"`
	UserID            uint32  `json:"userid"`
	User              string  `json:"user,omitempty"`
	TopLevel          bool    `json:"toplevel"` // 1.9+; true before
	Query             string  `json:"query"`
	Calls             int64   `json:"calls"`
	Rows              int64   `json:"rows"`
	TotalExecTime     float64 `json:"total_exec_time"`
	MeanExecTime      float64 `json:"mean_exec_time"`
	MinExecTime       float64 `json:"min_exec_time"`
	MaxExecTime       float64 `json:"max_exec_time"`
	StddevExecTime    float64 `json:"stddev_exec_time"`
	Plans             int64   `json:"plans,omitempty"`           // 1.8+
	TotalPlanTime     float64 `json:"total_plan_time,omitempty"` // 1.8+
	SharedBlksHit     int64   `json:"shared_blks_hit"`
	SharedBlksRead    int64   `json:"shared_blks_read"`
	SharedBlksDirtied int64   `json:"shared_blks_dirtied"`
	SharedBlksWritten int64   `json:"shared_blks_written"`
	LocalBlksHit      int64   `json:"local_blks_hit"`
	LocalBlksRead     int64   `json:"local_blks_read"`
	TempBlksRead      int64   `json:"temp_blks_read"`
	TempBlksWritten   int64   `json:"temp_blks_written"`
	BlkReadTime       float64 `json:"blk_read_time"`            // shared_blk_read_time in 1.11
	BlkWriteTime      float64 `json:"blk_write_time"`           // shared_blk_write_time in 1.11
	WALBytes          float64 `json:"wal_bytes,omitempty"`      // 1.8+
	JITTotalTime      float64 `json:"jit_total_time,omitempty"` // 1.10+, sum of generation/inlining/optimization/emission
	// StatsSince is when the entry's statistics started (1.11+).
	StatsSince *time.Time `json:"stats_since,omitempty"`
}

// TotalTime is execution plus planning time, milliseconds.
func (s Statement) TotalTime() float64 { return s.TotalExecTime + s.TotalPlanTime }

// Column is one column of a table, with its planner statistics where pg_stats has them.
type Column struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"` // format_type
	NotNull     bool     `json:"not_null,omitempty"`
	NullFrac    *float64 `json:"null_frac,omitempty"`
	NDistinct   *float64 `json:"n_distinct,omitempty"` // negative: fraction of rows
	Correlation *float64 `json:"correlation,omitempty"`
	AvgWidth    int      `json:"avg_width,omitempty"`
	// MostCommonValue is the first most-common value, as text, used for ANALYZE parameter sampling.
	MostCommonValue *string `json:"most_common_value,omitempty"`
	// MostCommonValues and MostCommonFreqs are pg_stats most_common_vals (as
	// text, built-in types only, columns of average width up to 64 bytes)
	// and most_common_freqs, in the same order: the selectivity of a
	// constant predicate (a partial-index candidate's WHERE).
	MostCommonValues []string  `json:"most_common_values,omitempty"`
	MostCommonFreqs  []float64 `json:"most_common_freqs,omitempty"`
}

// Table is a user table (ordinary, partitioned, materialized view or foreign)
// with its statistics from pg_stat_user_tables.
type Table struct {
	OID        uint32 `json:"oid"`
	Schema     string `json:"schema"`
	Name       string `json:"name"`
	Kind       string `json:"kind"`                 // pg_class.relkind: r, p, m, f
	Parent     string `json:"parent,omitempty"`     // schema.name of the partitioned parent
	Partitions int    `json:"partitions,omitempty"` // number of partitions of a partitioned table
	// PartitionBound is a partition's bound as pg_get_expr(relpartbound)
	// writes it, e.g. FOR VALUES FROM ('2026-01-01') TO ('2026-02-01').
	PartitionBound string  `json:"partition_bound,omitempty"`
	Rows           float64 `json:"rows"`  // reltuples (estimate; -1 never analysed on 14+)
	Pages          int64   `json:"pages"` // relpages
	// AllVisiblePages is relallvisible: the pages the visibility map marks
	// all-visible (an index-only scan skips the heap there).
	AllVisiblePages  int64      `json:"all_visible_pages,omitempty"`
	SizeBytes        int64      `json:"size_bytes"`  // pg_table_size
	TotalBytes       int64      `json:"total_bytes"` // pg_total_relation_size
	SeqScan          int64      `json:"seq_scan"`
	SeqTupRead       int64      `json:"seq_tup_read"`
	IdxScan          int64      `json:"idx_scan"`
	IdxTupFetch      int64      `json:"idx_tup_fetch"`
	NTupIns          int64      `json:"n_tup_ins"`
	NTupUpd          int64      `json:"n_tup_upd"`
	NTupDel          int64      `json:"n_tup_del"`
	NTupHotUpd       int64      `json:"n_tup_hot_upd"`
	NLiveTup         int64      `json:"n_live_tup"`
	NDeadTup         int64      `json:"n_dead_tup"`
	NModSinceAnalyze int64      `json:"n_mod_since_analyze"`
	LastAnalyze      *time.Time `json:"last_analyze,omitempty"` // the later of manual and auto analyze
	Columns          []Column   `json:"columns"`
}

// QualifiedName is schema.name, quoted where needed.
func (t Table) QualifiedName() string { return QuoteQualified(t.Schema, t.Name) }

// Index is an index of a user table with its statistics from pg_stat_user_indexes.
type Index struct {
	OID        uint32 `json:"oid"`
	Schema     string `json:"schema"`
	Table      string `json:"table"`
	Name       string `json:"name"`
	Definition string `json:"definition"` // pg_get_indexdef
	Method     string `json:"method"`     // btree, hash, gin, gist, brin, spgist
	// Columns are the key columns in order: a column name, or the expression text
	// (pg_get_indexdef(oid, n, true)) for an expression key.
	Columns     []string `json:"columns"`
	Expressions []bool   `json:"expressions,omitempty"` // per key column: true when it is an expression
	Descending  []bool   `json:"descending,omitempty"`  // per key column
	Opclasses   []string `json:"opclasses,omitempty"`   // per key column, non-default ones only ("" = default)
	Include     []string `json:"include,omitempty"`     // INCLUDE columns
	Predicate   string   `json:"predicate,omitempty"`   // partial index WHERE
	Unique      bool     `json:"unique,omitempty"`
	Primary     bool     `json:"primary,omitempty"`
	Constraint  string   `json:"constraint,omitempty"` // name of the constraint it backs (PK, UNIQUE, EXCLUDE)
	Valid       bool     `json:"valid"`
	Ready       bool     `json:"ready"`
	// Parent is the partitioned index (schema.name) this index of a
	// partition is attached to (pg_inherits); "" for an index of the
	// partition's own, which can be dropped on its own.
	Parent      string `json:"parent,omitempty"`
	SizeBytes   int64  `json:"size_bytes"`
	IdxScan     int64  `json:"idx_scan"`
	IdxTupRead  int64  `json:"idx_tup_read"`
	IdxTupFetch int64  `json:"idx_tup_fetch"`
}

// ForeignKey is a foreign-key constraint.
type ForeignKey struct {
	Schema     string   `json:"schema"`
	Table      string   `json:"table"`
	Name       string   `json:"name"`
	Columns    []string `json:"columns"`
	RefSchema  string   `json:"ref_schema"`
	RefTable   string   `json:"ref_table"`
	RefColumns []string `json:"ref_columns"`
}

// View is a user view (pg_views) with its definition (pg_get_viewdef).
type View struct {
	Schema     string `json:"schema"`
	Name       string `json:"name"`
	Definition string `json:"definition"` // the SELECT, without CREATE VIEW
}

// ActivitySample is one reading of pg_stat_activity (client backends of all databases).
type ActivitySample struct {
	At       time.Time `json:"at"`
	Sessions []Session `json:"sessions"`
}

// Session is one row of pg_stat_activity.
type Session struct {
	PID             int        `json:"pid"`
	Database        string     `json:"database,omitempty"`
	User            string     `json:"user,omitempty"`
	ApplicationName string     `json:"application_name,omitempty"`
	ClientAddr      string     `json:"client_addr,omitempty"`
	BackendType     string     `json:"backend_type,omitempty"`
	BackendStart    *time.Time `json:"backend_start,omitempty"`
	XactStart       *time.Time `json:"xact_start,omitempty"`
	QueryStart      *time.Time `json:"query_start,omitempty"`
	StateChange     *time.Time `json:"state_change,omitempty"`
	State           string     `json:"state,omitempty"` // active, idle, idle in transaction, ...
	WaitEventType   string     `json:"wait_event_type,omitempty"`
	WaitEvent       string     `json:"wait_event,omitempty"`
	BlockedBy       []int      `json:"blocked_by,omitempty"` // pg_blocking_pids
	// LockRelation is, for a Lock wait, the schema-qualified table pg_locks
	// names (see WaitEntry.Relation); empty otherwise.
	LockRelation string `json:"lock_relation,omitempty"`
	// QueryID is pg_stat_activity.query_id (14+), 0 when not computed.
	QueryID int64  `json:"queryid,string,omitempty"`
	Query   string `json:"query,omitempty"` // truncated to 200 characters
}

// Read decodes a snapshot file's contents and checks that it is one: a
// single JSON value without duplicate keys (strictjson), of this kind and a
// supported schema version, whose values pass Validate (the error is then
// an *InvalidError).
func Read(data []byte) (*Snapshot, error) {
	if err := strictjson.Check(data); err != nil {
		return nil, fmt.Errorf("not a pgadvisor snapshot (%v); create one with: pgadvisor audit --save-snapshot FILE", err)
	}
	// One decode: a snapshot is read whole, and the kind and version are
	// checked on it; only a file that does not decode is probed for them,
	// so that a file of another kind is named as such rather than by its
	// first field of the wrong type.
	var s Snapshot
	if err := strictjson.Decode(data, &s, false); err != nil {
		if err := checkKind(data); err != nil {
			return nil, err
		}
		if p := recordedDecodeProblem(err); p != "" {
			return nil, &InvalidError{Problems: []string{p}}
		}
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	if err := kindError(s.Kind, s.SchemaVersion); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// checkKind reads only the kind and schema_version of a file and says when
// it is not a snapshot this pgadvisor reads.
func checkKind(data []byte) error {
	var probe struct {
		Kind          string `json:"kind"`
		SchemaVersion int    `json:"schema_version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return fmt.Errorf("not a pgadvisor snapshot (invalid JSON: %v); create one with: pgadvisor audit --save-snapshot FILE", err)
	}
	return kindError(probe.Kind, probe.SchemaVersion)
}

func kindError(kind string, version int) error {
	if kind != Kind {
		return fmt.Errorf("not a pgadvisor snapshot (no \"kind\": %q); create one with: pgadvisor audit --save-snapshot FILE", Kind)
	}
	if version < 1 || version > SchemaVersion {
		return fmt.Errorf("snapshot schema_version %d is not supported by this pgadvisor (supports 1..%d)", version, SchemaVersion)
	}
	return nil
}

// recordedDecodeProblem names the field when err is a value of what_if or
// verify that does not decode into the index advisor's types, "" otherwise.
func recordedDecodeProblem(err error) string {
	var te *strictjson.TypeError
	if !errors.As(err, &te) {
		return ""
	}
	switch {
	case te.Field == "what_if" || strings.HasPrefix(te.Field, "what_if."):
		return fmt.Sprintf("what_if does not decode as what-if results: %v", te)
	case te.Field == "verify" || strings.HasPrefix(te.Field, "verify."):
		return fmt.Sprintf("verify does not decode as --verify measurements: %v", te)
	}
	return ""
}

// RowCount is the number of rows of t, the one definition every rule and the
// what-if use: the larger of reltuples and n_live_tup (reltuples is -1 before
// the first ANALYZE on 14+, and n_live_tup counts rows written since), and
// for a partitioned table the sum of that over its partitions at every
// level (its own reltuples is -1 or a stale figure until the parent itself
// is analysed, which autovacuum never does); its own count when none of its
// partitions is in the snapshot.
func (s *Snapshot) RowCount(t *Table) float64 {
	own := max(t.Rows, float64(t.NLiveTup))
	if t.Kind != "p" {
		return own
	}
	byName := make(map[string]*Table, len(s.Tables))
	for i := range s.Tables {
		byName[s.Tables[i].QualifiedName()] = &s.Tables[i]
	}
	root := t.QualifiedName()
	sum, found := 0.0, false
	for i := range s.Tables {
		p := &s.Tables[i]
		if p.Kind == "p" || p.Parent == "" {
			continue
		}
		// Walk up from the leaf (a few levels at most; a cycle in a
		// hand-edited snapshot stops at the bound).
		for up, depth := p.Parent, 0; up != "" && depth < 8; depth++ {
			if up == root {
				sum += max(p.Rows, float64(p.NLiveTup))
				found = true
				break
			}
			next := byName[up]
			if next == nil {
				break
			}
			up = next.Parent
		}
	}
	if !found {
		return own
	}
	return sum
}

// Table returns the table by schema and name; schema "" means unqualified:
// the table of that name in public, else the first of that name.
func (s *Snapshot) Table(schema, name string) *Table {
	var found *Table
	for i := range s.Tables {
		t := &s.Tables[i]
		if t.Name != name {
			continue
		}
		if schema != "" {
			if t.Schema == schema {
				return t
			}
			continue
		}
		if t.Schema == "public" {
			return t
		}
		if found == nil {
			found = t
		}
	}
	return found
}

// New returns an empty snapshot with its kind and version set.
func New() *Snapshot {
	return &Snapshot{Kind: Kind, SchemaVersion: SchemaVersion, Settings: map[string]string{}, Timings: map[string]float64{}}
}
