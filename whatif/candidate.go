package whatif

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/pgstat"
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
		b.WriteString(pgstat.QuoteIdent(k.Column))
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

// target is the key without direction: what it indexes.
func (k Key) target() string {
	if k.Expression != "" {
		return "expr:" + normExpr(k.Expression) + "/" + k.Opclass
	}
	return "col:" + k.Column + "/" + k.Opclass
}

// same reports whether two keys are identical, direction included.
func (k Key) same(o Key) bool {
	return k.target() == o.target() && k.Desc == o.Desc && nullsFirst(k) == nullsFirst(o)
}

func nullsFirst(k Key) bool {
	if k.NullsFirst != nil {
		return *k.NullsFirst
	}
	return k.Desc
}

// normExpr normalises an expression for comparison with an index's expression
// text: lower case, without white space, quotes, parentheses and ::text casts.
func normExpr(s string) string {
	s = strings.ToLower(s)
	s = strings.ReplaceAll(s, "::text", "")
	s = strings.ReplaceAll(s, "::character varying", "")
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '"', '(', ')':
			return -1
		}
		return r
	}, s)
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
	// (WithPartitions), one per partition; nil when they are not known.
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
	// KeyWidth is the summed average width of the keys from pg_stats, bytes (0 unknown).
	KeyWidth int `json:"key_width,omitempty"`
}

// QualifiedTable is schema.table, quoted where needed.
func (c Candidate) QualifiedTable() string { return pgstat.QuoteQualified(c.Schema, c.Table) }

// ID identifies the candidate: table, method and keys.
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
	return b.String()
}

// Name is the index name: readable, deterministic, lower case and at most 63
// bytes, e.g. orders_customer_id_status_created_at_idx.
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

func (c Candidate) keyList() string {
	keys := make([]string, len(c.Keys))
	for i, k := range c.Keys {
		keys[i] = k.SQL()
	}
	return strings.Join(keys, ", ")
}

// CreateSQL is the statement that creates the index: CREATE INDEX
// CONCURRENTLY IF NOT EXISTS name ON schema.table USING method (keys), every
// identifier quoted where needed. IF NOT EXISTS makes the fixes of several
// findings that propose the same index safe to apply together. A partitioned table cannot be indexed concurrently,
// so its index is a plain CREATE INDEX on the parent (it locks writes while
// it builds; build it per partition with CONCURRENTLY and ATTACH to avoid that).
func (c Candidate) CreateSQL() string {
	conc := "CONCURRENTLY "
	if c.Partitioned {
		conc = ""
	}
	return fmt.Sprintf("CREATE INDEX %sIF NOT EXISTS %s ON %s USING %s (%s)", conc, pgstat.QuoteIdent(c.Name()), c.QualifiedTable(), c.Method, c.keyList())
}

// FixSQL is what to run, in order: the CREATE EXTENSION IF NOT EXISTS of
// each extension the index needs, then CreateSQL, or for a partitioned table
// with known partitions the online recipe (CREATE INDEX … ON ONLY the
// parent, CREATE INDEX CONCURRENTLY per partition that needs one, ALTER
// INDEX … ATTACH PARTITION for each).
func (c Candidate) FixSQL() []string {
	var out []string
	for _, e := range c.Extensions {
		out = append(out, "CREATE EXTENSION IF NOT EXISTS "+pgstat.QuoteIdent(e))
	}
	if c.Partitioned && len(c.Partitions) > 0 {
		return append(out, c.partitionSQL()...)
	}
	return append(out, c.CreateSQL())
}

// hypoSQL is the statement given to hypopg_create_index.
func (c Candidate) hypoSQL() string {
	return fmt.Sprintf("CREATE INDEX ON %s USING %s (%s)", c.QualifiedTable(), c.Method, c.keyList())
}

// EstimatedSize is a rough size of the index without HypoPG, bytes: rows ×
// (tuple header + key widths, 8-byte aligned, + line pointer) / 90% fill for
// btree; three times the key width per row for a trigram GIN index. On a
// partitioned table the rows are those of the partitions that need a build
// (BuildRows).
func (c Candidate) EstimatedSize() int64 {
	rows := c.BuildRows()
	if rows <= 0 {
		return 0
	}
	width := c.KeyWidth
	if width <= 0 {
		width = 8 * len(c.Keys)
	}
	if c.Method == "gin" {
		return num.Int64(rows * float64(3*width+16))
	}
	tuple := (8 + width + 7) / 8 * 8
	return num.Int64(rows * float64(tuple+4) / 0.9)
}

// hypoSupported reports whether HypoPG can build the candidate hypothetically.
func (c Candidate) hypoSupported() bool {
	switch c.Method {
	case "btree", "hash", "brin":
		return true
	}
	return false
}

// coveredBy reports whether an existing index already serves what c would: a
// valid, non-partial index of the same method whose leading keys are c's
// equality keys (in any order) followed by c's other keys in order (all
// directions reversed also counts: a backward scan), or a unique btree index
// whose keys are all among c's equality columns (at most one row matches).
func (c Candidate) coveredBy(ix *pgstat.Index) bool {
	if !ix.Valid || ix.Predicate != "" {
		return false
	}
	keys := indexKeys(ix)
	if ix.Unique && ix.Method == "btree" && c.Method == "btree" && len(keys) > 0 && len(keys) <= c.EqualityKeys {
		eq := map[string]bool{}
		for _, k := range c.Keys[:c.EqualityKeys] {
			eq[k.target()] = true
		}
		all := true
		for _, k := range keys {
			if !eq[k.target()] {
				all = false
			}
		}
		if all {
			return true
		}
	}
	if ix.Method != c.Method || len(keys) < len(c.Keys) {
		return false
	}
	n := c.EqualityKeys
	if n > len(c.Keys) {
		n = len(c.Keys)
	}
	eq := map[string]bool{}
	for _, k := range c.Keys[:n] {
		eq[k.target()] = true
	}
	for _, k := range keys[:n] {
		if !eq[k.target()] {
			return false
		}
	}
	rest, irest := c.Keys[n:], keys[n:len(c.Keys)]
	forward, backward := true, true
	for i := range rest {
		if rest[i].target() != irest[i].target() {
			return false
		}
		if !rest[i].same(irest[i]) {
			forward = false
		}
		rev := irest[i]
		rev.Desc = !rev.Desc
		nf := !nullsFirst(irest[i])
		rev.NullsFirst = &nf
		if !rest[i].same(rev) {
			backward = false
		}
	}
	return forward || backward
}

// indexKeys converts an existing index's key columns to Keys.
func indexKeys(ix *pgstat.Index) []Key {
	out := make([]Key, len(ix.Columns))
	for i, col := range ix.Columns {
		k := Key{Column: col}
		if i < len(ix.Expressions) && ix.Expressions[i] {
			k = Key{Expression: col}
		}
		if i < len(ix.Descending) {
			k.Desc = ix.Descending[i]
		}
		if i < len(ix.Opclasses) {
			k.Opclass = ix.Opclasses[i]
		}
		out[i] = k
	}
	return out
}

// prefixOf reports whether small's keys are served by big: same table and
// method, small's equality keys are big's leading keys as a set and small's
// other keys follow in order. It returns big possibly reordered so that
// small's equality keys lead it, in small's order (ok false when they cannot).
func prefixOf(small, big Candidate) (Candidate, bool) {
	if small.Schema != big.Schema || small.Table != big.Table || small.Method != big.Method || small.Method != "btree" ||
		len(small.Keys) > len(big.Keys) || small.EqualityKeys > big.EqualityKeys {
		return big, false
	}
	// small's equality keys must all be among big's equality keys.
	bigEq := map[string]int{}
	for i, k := range big.Keys[:big.EqualityKeys] {
		bigEq[k.target()] = i
	}
	for _, k := range small.Keys[:small.EqualityKeys] {
		if _, ok := bigEq[k.target()]; !ok {
			return big, false
		}
	}
	// small's other keys must follow exactly; when small has any, its
	// equality set must be all of big's.
	if len(small.Keys) > small.EqualityKeys {
		if small.EqualityKeys != big.EqualityKeys {
			return big, false
		}
		for i := small.EqualityKeys; i < len(small.Keys); i++ {
			if !small.Keys[i].same(big.Keys[i]) {
				return big, false
			}
		}
	}
	// Reorder big: small's equality keys first, in small's order.
	out := big
	out.Keys = append([]Key(nil), small.Keys[:small.EqualityKeys]...)
	used := map[string]bool{}
	for _, k := range out.Keys {
		used[k.target()] = true
	}
	for _, k := range big.Keys {
		if !used[k.target()] {
			out.Keys = append(out.Keys, k)
			used[k.target()] = true
		}
	}
	return out, true
}

// sortCandidates orders candidates deterministically: most weight first,
// then by table and keys.
func sortCandidates(cs []Candidate, weight map[string]float64) {
	w := func(c Candidate) float64 {
		s := 0.0
		for _, q := range c.QueryIDs {
			s += weight[q]
		}
		return s
	}
	sort.SliceStable(cs, func(i, j int) bool {
		wi, wj := w(cs[i]), w(cs[j])
		if wi != wj {
			return wi > wj
		}
		if cs[i].Alternative != cs[j].Alternative {
			return !cs[i].Alternative
		}
		return cs[i].ID() < cs[j].ID()
	})
}
