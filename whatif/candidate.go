package whatif

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/pgadvisor/pgadvisor/pgstat"
)

// keyTarget is the key without direction: what it indexes.
func keyTarget(k Key) string {
	if k.Expression != "" {
		return "expr:" + NormalizeExpression(k.Expression) + "/" + k.Opclass
	}
	return "col:" + k.Column + "/" + k.Opclass
}

// sameKey reports whether two keys are identical, direction included.
func sameKey(k, o Key) bool {
	return keyTarget(k) == keyTarget(o) && k.Desc == o.Desc && nullsFirst(k) == nullsFirst(o)
}

func nullsFirst(k Key) bool {
	if k.NullsFirst != nil {
		return *k.NullsFirst
	}
	return k.Desc
}

// textCast matches the casts to text that pg_get_indexdef adds around
// varchar and char columns, e.g. lower((email)::text).
var textCast = regexp.MustCompile(`::\s*(text|character varying|varchar|bpchar)\b`)

// NormalizeExpression reduces an expression text so that a statement's and
// pg_get_indexdef's forms of one expression compare equal: lower case, text
// casts, quotes, parentheses and white space removed; other casts are kept
// (created_at::date is not created_at).
func NormalizeExpression(s string) string {
	s = textCast.ReplaceAllString(strings.ToLower(s), "")
	return strings.Map(func(r rune) rune {
		switch r {
		case '(', ')', ' ', '"', '\t', '\n':
			return -1
		}
		return r
	}, s)
}

// hypoSQL is the statement given to hypopg_create_index.
func hypoSQL(c Candidate) string {
	return fmt.Sprintf("CREATE INDEX ON %s USING %s (%s)%s", c.QualifiedTable(), c.Method, c.KeyList(), c.Tail())
}

// hypoSupported reports whether HypoPG can build the candidate hypothetically.
func hypoSupported(c Candidate) bool {
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
func coveredBy(c Candidate, ix *pgstat.Index) bool {
	return IndexServes(ix, c.Method, c.Keys, c.EqualityKeys)
}

// IndexKeys converts an existing index's key columns to Keys.
func IndexKeys(ix *pgstat.Index) []Key {
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

// prefixOf reports whether small's keys are served by big: same table,
// method and predicate (a partial index merges only with one of the same
// WHERE: it serves only statements that have it), neither covering (a
// covering candidate is an alternative of one plain candidate), small's equality keys are big's leading keys as a set and small's
// other keys follow in order. It returns big possibly reordered so that
// small's equality keys lead it, in small's order (ok false when they cannot).
func prefixOf(small, big Candidate) (Candidate, bool) {
	if small.Schema != big.Schema || small.Table != big.Table || small.Method != big.Method || small.Method != "btree" ||
		len(small.Keys) > len(big.Keys) || small.EqualityKeys > big.EqualityKeys ||
		small.Where != big.Where || small.Covering() || big.Covering() {
		return big, false
	}
	// small's equality keys must all be among big's equality keys.
	bigEq := map[string]int{}
	for i, k := range big.Keys[:big.EqualityKeys] {
		bigEq[keyTarget(k)] = i
	}
	for _, k := range small.Keys[:small.EqualityKeys] {
		if _, ok := bigEq[keyTarget(k)]; !ok {
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
			if !sameKey(small.Keys[i], big.Keys[i]) {
				return big, false
			}
		}
	}
	// Reorder big: small's equality keys first, in small's order.
	out := big
	out.Keys = append([]Key(nil), small.Keys[:small.EqualityKeys]...)
	used := map[string]bool{}
	for _, k := range out.Keys {
		used[keyTarget(k)] = true
	}
	for _, k := range big.Keys {
		if !used[keyTarget(k)] {
			out.Keys = append(out.Keys, k)
			used[keyTarget(k)] = true
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
