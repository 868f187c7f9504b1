// Package record holds what the index advisor (package whatif) records in a
// snapshot: index candidates and their keys, the options it ran with, the
// what-if results of HypoPG (Result) and the --verify measurements
// (Measured), with the pure methods that name and write an index. It is a
// leaf below pgstat, so that pgstat.Snapshot holds these types instead of
// raw JSON; whatif produces and reads them under its own names (whatif.Result
// is record.Result). It never talks to a server and imports neither pgstat
// nor whatif.
package record

import (
	"fmt"
	"hash/fnv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// Key is one key of an index: a column or an expression, with its direction
// and operator class.
type Key struct {
	Column     string `json:"column,omitempty"`
	Expression string `json:"expression,omitempty"` // e.g. "lower(email)", as written in the statement
	Desc       bool   `json:"desc,omitempty"`
	NullsFirst *bool  `json:"nulls_first,omitempty"` // nil: the direction's default
	Opclass    string `json:"opclass,omitempty"`     // e.g. "gin_trgm_ops"; "" = default
}

// SQL is the key as written in CREATE INDEX, identifiers quoted where needed.
func (k Key) SQL() string {
	var b strings.Builder
	if k.Expression != "" {
		b.WriteString("(" + k.Expression + ")")
	} else {
		b.WriteString(sqlfacts.QuoteIdent(k.Column))
	}
	if k.Opclass != "" {
		b.WriteString(" " + k.Opclass)
	}
	if k.Desc {
		b.WriteString(" DESC")
	}
	if k.NullsFirst != nil && *k.NullsFirst != k.Desc {
		if *k.NullsFirst {
			b.WriteString(" NULLS FIRST")
		} else {
			b.WriteString(" NULLS LAST")
		}
	}
	return b.String()
}

// Candidate is a possible new index.
type Candidate struct {
	Schema string `json:"schema"`
	Table  string `json:"table"`
	Method string `json:"method"` // btree or gin
	Keys   []Key  `json:"keys"`
	// EqualityKeys is the number of leading keys that serve equality
	// predicates (their order does not matter to the statements served).
	EqualityKeys int `json:"equality_keys,omitempty"`
	// Extensions the index needs, e.g. pg_trgm.
	Extensions []string `json:"extensions,omitempty"`
	// Partitioned is set when Table is a partitioned table: the index is
	// created on the parent, and CREATE INDEX CONCURRENTLY is not possible there.
	Partitioned bool `json:"partitioned,omitempty"`
	// IndexName, when set, is the name of an existing index the candidate
	// stands for (an invalid partitioned index to complete); Name returns it.
	IndexName string `json:"index_name,omitempty"`
	// Partitions are the steps of the online recipe on a partitioned table
	// (whatif.WithPartitions), one per partition; nil when they are not known.
	Partitions []PartitionStep `json:"partitions,omitempty"`
	// QueryIDs are the statements the candidate was built for.
	QueryIDs []string `json:"queryids"`
	Reason   string   `json:"reason"`
	// Alternative marks a second shape for the same statement and table
	// (e.g. the ORDER BY index next to the range index); the unverified
	// selection skips alternatives, the what-if lets the planner choose.
	Alternative bool `json:"alternative,omitempty"`
	// RowsEstimate is the table's row estimate, used for an unverified size estimate.
	RowsEstimate float64 `json:"rows_estimate,omitempty"`
	// KeyWidth is the summed average width of the keys (and INCLUDE
	// columns) from pg_stats, bytes (0 unknown).
	KeyWidth int `json:"key_width,omitempty"`
	// Include are the INCLUDE columns of a covering index: stored in the
	// leaf entries, not keys, so that the statements served read them from
	// the index alone (an index-only scan).
	Include []string `json:"include,omitempty"`
	// Where is a partial index's predicate as written after WHERE, e.g.
	// "return_date IS NULL" (identifiers quoted where needed): a conjunct
	// every statement the candidate serves has, with the same constant.
	Where string `json:"where,omitempty"`
	// WhereColumn is the column Where tests.
	WhereColumn string `json:"where_column,omitempty"`
	// Fraction is the share of the table's rows the predicate selects
	// (pg_stats), for the size estimate; 0 when the index is not partial.
	Fraction float64 `json:"fraction,omitempty"`
	// FromObserved is set on a partial candidate whose predicate lists the
	// values a parameter was run with (pg_qualstats samples): the what-if
	// costs its statements with a custom plan for those values.
	FromObserved bool `json:"from_observed,omitempty"`
	// Extends, for a covering candidate whose keys an existing index already
	// serves, is that index's name when it has exactly these keys and no
	// INCLUDE or predicate: the candidate does everything it does, so it
	// can be dropped once the candidate is built.
	Extends string `json:"extends,omitempty"`
	// SizeDedup, when set, says how the size estimate accounts for btree
	// deduplication (set by the what-if; nil when it was not considered).
	SizeDedup *SizeDedup `json:"size_dedup,omitempty"`
}

// Partial reports whether the candidate is a partial index (WHERE).
func (c Candidate) Partial() bool { return c.Where != "" }

// Covering reports whether the candidate has INCLUDE columns.
func (c Candidate) Covering() bool { return len(c.Include) > 0 }

// Tail is what CREATE INDEX writes after the keys: " INCLUDE (…)" and
// " WHERE …", each when set.
func (c Candidate) Tail() string {
	var b strings.Builder
	if len(c.Include) > 0 {
		cols := make([]string, len(c.Include))
		for i, col := range c.Include {
			cols[i] = sqlfacts.QuoteIdent(col)
		}
		b.WriteString(" INCLUDE (" + strings.Join(cols, ", ") + ")")
	}
	if c.Where != "" {
		b.WriteString(" WHERE " + c.Where)
	}
	return b.String()
}

// QualifiedTable is schema.table, quoted where needed.
func (c Candidate) QualifiedTable() string { return sqlfacts.QuoteQualified(c.Schema, c.Table) }

// ID identifies the candidate: table, method and keys, then its INCLUDE
// columns and predicate when it has them.
func (c Candidate) ID() string {
	var b strings.Builder
	b.WriteString(c.Schema + "." + c.Table + " " + c.Method + " (")
	for i, k := range c.Keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k.SQL())
	}
	b.WriteString(")")
	b.WriteString(c.Tail())
	return b.String()
}

// Name is the index name: readable, deterministic, lower case and at most 63
// bytes, e.g. orders_customer_id_status_created_at_idx; a covering index
// adds incl and its INCLUDE columns, a partial one where and its predicate
// (rental_rental_date_where_return_date_is_null_idx), so that it never takes
// the name of the plain index on the same keys.
func (c Candidate) Name() string {
	if c.IndexName != "" {
		return c.IndexName
	}
	parts := []string{c.Table}
	for _, k := range c.Keys {
		if k.Expression != "" {
			parts = append(parts, k.Expression)
		} else {
			parts = append(parts, k.Column)
		}
	}
	if c.Method == "gin" && len(c.Keys) > 0 && c.Keys[0].Opclass == "gin_trgm_ops" {
		parts = append(parts, "trgm")
	}
	if len(c.Include) > 0 {
		parts = append(append(parts, "incl"), c.Include...)
	}
	if c.Where != "" {
		parts = append(parts, "where", c.Where)
	}
	parts = append(parts, "idx")
	name := sanitizeName(strings.Join(parts, "_"))
	if len(name) > 63 {
		h := fnv.New32a()
		h.Write([]byte(c.ID()))
		cut := 54
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut-- // never split a multi-byte character
		}
		name = strings.TrimRight(name[:cut], "_") + fmt.Sprintf("_%08x", h.Sum32())
	}
	return name
}

// sanitizeName keeps lower-case letters, digits and single underscores.
func sanitizeName(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			under = false
		} else if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	return strings.Trim(b.String(), "_")
}

// KeyList is the keys as written in CREATE INDEX, comma-separated.
func (c Candidate) KeyList() string {
	keys := make([]string, len(c.Keys))
	for i, k := range c.Keys {
		keys[i] = k.SQL()
	}
	return strings.Join(keys, ", ")
}

// CreateSQL is the statement that creates the index: CREATE INDEX
// CONCURRENTLY IF NOT EXISTS name ON schema.table USING method (keys)
// [INCLUDE (columns)] [WHERE predicate], every
// identifier quoted where needed. IF NOT EXISTS makes the fixes of several
// findings that propose the same index safe to apply together. A partitioned table cannot be indexed concurrently,
// so its index is a plain CREATE INDEX on the parent (it locks writes while
// it builds; build it per partition with CONCURRENTLY and ATTACH to avoid that).
func (c Candidate) CreateSQL() string {
	conc := "CONCURRENTLY "
	if c.Partitioned {
		conc = ""
	}
	return fmt.Sprintf("CREATE INDEX %sIF NOT EXISTS %s ON %s USING %s (%s)%s", conc, sqlfacts.QuoteIdent(c.Name()), c.QualifiedTable(), c.Method, c.KeyList(), c.Tail())
}

// FixSQL is what to run, in order: the CREATE EXTENSION IF NOT EXISTS of
// each extension the index needs, then CreateSQL, or for a partitioned table
// with known partitions the online recipe (CREATE INDEX … ON ONLY the
// parent, CREATE INDEX CONCURRENTLY per partition that needs one, ALTER
// INDEX … ATTACH PARTITION for each).
func (c Candidate) FixSQL() []string {
	var out []string
	for _, e := range c.Extensions {
		out = append(out, "CREATE EXTENSION IF NOT EXISTS "+sqlfacts.QuoteIdent(e))
	}
	if c.Partitioned && len(c.Partitions) > 0 {
		return append(out, c.partitionSQL()...)
	}
	return append(out, c.CreateSQL())
}

// EstimatedSize is a rough size of the index without HypoPG, bytes: rows ×
// (tuple header + key widths, 8-byte aligned, + line pointer) / 90% fill for
// btree; three times the key width per row for a trigram GIN index. On a
// partitioned table the rows are those of the partitions that need a build
// (BuildRows); a partial index counts the Fraction of them its predicate
// selects.
func (c Candidate) EstimatedSize() int64 {
	rows := c.BuildRows()
	if c.Where != "" && c.Fraction > 0 {
		rows *= c.Fraction
	}
	if rows <= 0 {
		return 0
	}
	width := c.KeyWidth
	if width <= 0 {
		width = 8 * (len(c.Keys) + len(c.Include))
	}
	if c.Method == "gin" {
		return num.Int64(rows * float64(3*width+16))
	}
	tuple := (8 + width + 7) / 8 * 8
	return num.Int64(rows * float64(tuple+4) / 0.9)
}

// Options tune candidate generation, what-if evaluation and selection.
type Options struct {
	// MinCostReduction: an index counts for a statement only when the planner's
	// cost with it is at most (1 - MinCostReduction) of the cost without.
	MinCostReduction float64 `json:"min_cost_reduction"`
	// MinCostSaved: an index counts for a statement only when it also saves
	// at least this many planner cost units (a statement an index already
	// serves well is not worth another one).
	MinCostSaved float64 `json:"min_cost_saved"`
	// MaxNewIndexes caps the recommendations; 0 means no cap.
	MaxNewIndexes int `json:"max_new_indexes"`
	// StorageBudgetBytes caps the summed estimated size of the recommendations; 0 means no cap.
	StorageBudgetBytes int64 `json:"storage_budget_bytes"`
	// MinTableRows: tables with fewer rows (the larger of reltuples and n_live_tup, a partitioned table's summed over its partitions) get no index.
	MinTableRows float64 `json:"min_table_rows"`
	// MinTableBytes: a table never analysed (no row estimate) gets no index below this size, bytes.
	MinTableBytes int64 `json:"min_table_bytes"`
	// MinRowsToExtend: a candidate that only adds range or ORDER BY keys to an
	// existing index on its equality columns is kept only when the equality
	// match is estimated at this many rows or more (fewer are cheap to filter or sort).
	MinRowsToExtend float64 `json:"min_rows_to_extend"`
	// PartialMaxFraction: a constant predicate (IS NULL, IS NOT NULL, = a
	// constant, a boolean column) that selects at most this fraction of its
	// table's rows (pg_stats) yields a partial-index candidate WHERE it.
	PartialMaxFraction float64 `json:"partial_max_fraction,omitempty"`
	// BulkReadFraction: a SELECT of one table that returns at least this
	// fraction of the table's rows per call (pg_stat_statements rows / calls
	// against the row estimate) gets no index candidate: its time goes into
	// producing those rows, which an index only reorders (unbounded-result
	// is the advice for it).
	BulkReadFraction float64 `json:"bulk_read_fraction,omitempty"`
	// CoveringMaxColumns caps the INCLUDE columns of a covering candidate.
	CoveringMaxColumns int `json:"covering_max_columns,omitempty"`
	// CoveringMaxWidth caps the summed average width of the INCLUDE columns, bytes.
	CoveringMaxWidth int `json:"covering_max_width,omitempty"`
	// CoveringMinAllVisible: a covering candidate needs at least this
	// fraction of the table's pages all-visible (relallvisible / relpages),
	// else an index-only scan still visits the heap.
	CoveringMinAllVisible float64 `json:"covering_min_all_visible,omitempty"`
	// BatchSize is the number of hypothetical indexes created before a hypopg_reset.
	BatchSize int `json:"batch_size"`
	// MaxCandidates caps the candidates evaluated, the heaviest statements' first.
	MaxCandidates int `json:"max_candidates"`
	// InstallHypoPG allows Evaluate to run CREATE EXTENSION hypopg.
	InstallHypoPG bool `json:"install_hypopg"`
	// TrustFunctions are the user functions the safety gate trusts
	// (--trust-functions), for planning and for --verify's ANALYZE.
	TrustFunctions []string `json:"trust_functions,omitempty"`
	// CustomPlanMisestimate: when the generic plan's row estimate of a
	// statement with $n parameters and its observed rows per call
	// (pg_stat_statements) differ by this factor or more, the statement is
	// costed with a custom plan for representative values instead
	// (Representative).
	CustomPlanMisestimate float64 `json:"custom_plan_misestimate,omitempty"`
	// WriteHeavyShare: a table whose written rows are at least this fraction of
	// rows written plus read is write-heavy, and a new index's write cost is
	// subtracted from its benefit.
	WriteHeavyShare float64 `json:"write_heavy_share"`
	// Guard, when set, plans every statement through it and skips the
	// statements and candidates on relations it found locked earlier in the
	// audit; it records the failures. Not part of the recorded options.
	Guard *explain.Guard `json:"-"`
}

// Result is the recorded outcome of whatif.Evaluate: everything whatif.Select
// needs to choose again offline. The snapshot holds it (Snapshot.WhatIf).
type Result struct {
	// HypoPG is the HypoPG version used; empty when the what-if did not run.
	HypoPG string `json:"hypopg,omitempty"`
	// Unavailable says why the candidates could not be verified, and Install how to fix it.
	Unavailable string `json:"unavailable,omitempty"`
	// NotImmutable are the candidates whose expression PostgreSQL would refuse
	// to index (not IMMUTABLE); they are never recommended.
	NotImmutable []string `json:"not_immutable,omitempty"`
	Install      string   `json:"install,omitempty"`
	// Options are the options Evaluate ran with.
	Options     Options         `json:"options"`
	Statements  []StatementCost `json:"statements"`
	Candidates  []CandidateCost `json:"candidates"`
	Evaluations []Evaluation    `json:"evaluations"`
	// Chosen are the IDs of the candidates chosen for the workload during Evaluate.
	Chosen []string `json:"chosen,omitempty"`
	// CandidatesTried is the number of candidates built hypothetically.
	CandidatesTried int `json:"candidates_tried"`
	// PlannerCalls is the number of statements planned.
	PlannerCalls int     `json:"planner_calls"`
	DurationMS   float64 `json:"duration_ms"` // wall time of Evaluate, milliseconds
}

// StatementCost is a statement's planner cost without any new index.
type StatementCost struct {
	QueryID string       `json:"queryid"`
	Cost    float64      `json:"cost"` // planner total cost
	Mode    explain.Mode `json:"mode,omitempty"`
	Error   string       `json:"error,omitempty"`
	// Representative is set when the generic plan misjudged the statement's
	// rows per call (Options.CustomPlanMisestimate): the values the
	// statement was costed with instead (Mode custom), or why it could not be.
	Representative *Representative `json:"representative,omitempty"`
}

// Representative says how a statement whose generic plan misjudges its rows
// was costed: with a custom plan for values of its $n parameters chosen from
// pg_stats so that the estimate matches the rows per call pg_stat_statements
// observed. Every evaluation of the statement (with and without
// hypothetical indexes) then uses those values.
type Representative struct {
	RowsPerCall float64 `json:"rows_per_call"` // pg_stat_statements rows / calls
	GenericRows float64 `json:"generic_rows"`  // the generic plan's estimate of the statement's rows
	// CustomRows is the custom plan's estimate (0 when none was made).
	CustomRows  float64 `json:"custom_rows,omitempty"`
	GenericCost float64 `json:"generic_cost"` // the generic plan's total cost
	// TableRows is the row count of the table whose column the chosen value filters.
	TableRows float64 `json:"table_rows,omitempty"`
	// Values are the parameters' values as costed, one per $n.
	Values []RepresentativeValue `json:"values,omitempty"`
	// Summary is the sentence for a finding's evidence, e.g. "costed with
	// created_at >= '2026-11-24 00:00:00+00' (pg_stats histogram: 0.21% of
	// rows, matching 412 rows per call) instead of the generic plan's 33%".
	Summary string `json:"summary"`
	// Skipped, when set, says why the generic plan was kept (no value could
	// be chosen, or the custom plan's estimate did not match either).
	Skipped string `json:"skipped,omitempty"`
}

// RepresentativeValue is the value one $n was costed with.
type RepresentativeValue struct {
	Param int `json:"param"`
	// Predicate is the condition as costed, e.g. "status = 'cancelled'"; a
	// value that may be personal data (text of a column with many distinct
	// values) is shown as <value>.
	Predicate string `json:"predicate"`
	// Source is where the value came from: "pg_stats histogram", "pg_stats
	// most common values", or "typical value" for a parameter left at what
	// the generic plan assumes.
	Source string `json:"source"`
	// Fraction is the fraction of the table's rows the condition selects by pg_stats.
	Fraction float64 `json:"fraction"`
}

// CandidateCost is a candidate with its hypothetical size.
type CandidateCost struct {
	Candidate
	ID        string `json:"id"`
	SizeBytes int64  `json:"size_bytes"` // hypopg_relation_size, corrected for btree deduplication (Candidate.SizeDedup)
	// Unsupported is set when HypoPG cannot build the method (GIN): the
	// candidate can only be recommended unverified.
	Unsupported bool   `json:"unsupported,omitempty"`
	Error       string `json:"error,omitempty"`
}

// Evaluation is a statement's planner cost with a set of hypothetical indexes.
type Evaluation struct {
	QueryID string   `json:"queryid"`
	Set     []string `json:"set"` // candidate IDs, sorted
	Cost    float64  `json:"cost"`
	// Used are the IDs of the candidates of Set that the plan uses.
	Used  []string `json:"used,omitempty"`
	Error string   `json:"error,omitempty"`
}

// Measured is the real effect of the recommended indexes on one statement,
// from EXPLAIN ANALYZE before and after building them (whatif.Verify). The
// snapshot holds them (Snapshot.Verify).
type Measured struct {
	QueryID string   `json:"queryid"`
	Indexes []string `json:"indexes"` // names of the recommendations serving the statement
	// BeforeMS and AfterMS are the executions' times, milliseconds.
	BeforeMS float64 `json:"before_ms,omitempty"`
	AfterMS  float64 `json:"after_ms,omitempty"`
	// Speedup is BeforeMS / AfterMS.
	Speedup float64 `json:"speedup,omitempty"`
	// EstimatedReduction is the planner's cost reduction the what-if predicted (0..1).
	EstimatedReduction float64 `json:"estimated_reduction,omitempty"`
	// UsedIndex is set when the after-plan uses one of the indexes.
	UsedIndex bool `json:"used_index,omitempty"`
	// Skipped says why the statement was not measured.
	Skipped string `json:"skipped,omitempty"`
}
