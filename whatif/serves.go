package whatif

import (
	"strings"

	"github.com/pgadvisor/pgadvisor/pgstat"
)

// IndexServes is the one answer to "does an existing index serve these
// keys", for the what-if (is a candidate already covered) and for the rules
// (is a foreign key indexed, does an index lead with this column or
// expression, is an index redundant). A read asks keys of an index of
// method, the first equality of them compared with = (in any order), the
// others in order (a range, an ORDER BY). ix serves it when it is valid and
// not partial and its keys serve them (KeysServe).
func IndexServes(ix *pgstat.Index, method string, keys []Key, equality int) bool {
	return ix.Valid && ix.Predicate == "" && KeysServe(ix.Method, IndexKeys(ix), ix.Unique, method, keys, equality)
}

// KeysServe reports whether an index of method haveMethod on the keys have
// (unique: a unique index) serves a read asking keys want of an index of
// method, its first equality keys compared with =:
//
//   - btree for btree: have's leading keys are want's equality keys in any
//     order, then want's other keys in order with their directions, or all
//     of those reversed (a backward scan); an equality key is served by any
//     btree operator class of its column (they all have =), an ordered key
//     only by its own; or, when unique, have's keys are all among want's
//     equality keys (at most one row matches);
//   - hash for btree: a one-key hash index serves equality on that key alone;
//   - gin or gist for gin or gist (trigram searches): every key of want is
//     one of have's, at any position, with the same operator class or both a
//     pg_trgm one;
//   - any other method for the same method: want's keys are have's leading
//     keys, one for one.
//
// Expressions are compared normalised (NormalizeExpression).
func KeysServe(haveMethod string, have []Key, unique bool, method string, want []Key, equality int) bool {
	equality = min(equality, len(want))
	switch {
	case method == "btree" && haveMethod == "btree":
		return btreeServes(have, unique, want, equality)
	case method == "btree" && haveMethod == "hash":
		return len(have) == 1 && len(want) == 1 && equality == 1 && keyTarget(have[0]) == keyTarget(want[0])
	case (method == "gin" || method == "gist") && (haveMethod == "gin" || haveMethod == "gist"):
		for _, w := range want {
			found := false
			for _, h := range have {
				if h.Column == w.Column && NormalizeExpression(h.Expression) == NormalizeExpression(w.Expression) && sameOpclass(h.Opclass, w.Opclass) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return len(want) > 0
	case method == haveMethod:
		if len(want) == 0 || len(want) > len(have) {
			return false
		}
		for i := range want {
			if !sameKey(want[i], have[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// btreeServes is KeysServe for a btree index and a btree read.
func btreeServes(have []Key, unique bool, want []Key, equality int) bool {
	eq := map[string]bool{}
	for _, k := range want[:equality] {
		eq[columnTarget(k)] = true
	}
	if unique && len(have) > 0 && len(have) <= equality {
		all := true
		for _, k := range have {
			if !eq[columnTarget(k)] {
				all = false
			}
		}
		if all {
			return true
		}
	}
	if len(have) < len(want) || len(want) == 0 {
		return false
	}
	for _, k := range have[:equality] {
		if !eq[columnTarget(k)] {
			return false
		}
	}
	rest, hrest := want[equality:], have[equality:len(want)]
	forward, backward := true, true
	for i := range rest {
		if keyTarget(rest[i]) != keyTarget(hrest[i]) {
			return false
		}
		if !sameKey(rest[i], hrest[i]) {
			forward = false
		}
		rev := hrest[i]
		rev.Desc = !rev.Desc
		nf := !nullsFirst(hrest[i])
		rev.NullsFirst = &nf
		if !sameKey(rest[i], rev) {
			backward = false
		}
	}
	return forward || backward
}

// columnTarget is what an equality key compares: its column or expression,
// and its operator class only when that is not a btree one (every btree
// operator class has =).
func columnTarget(k Key) string {
	if strings.Contains(k.Opclass, "trgm") {
		return keyTarget(k)
	}
	k.Opclass = ""
	return keyTarget(k)
}

// sameOpclass reports whether two operator classes are the same, taking
// pg_trgm's gin_trgm_ops and gist_trgm_ops as one.
func sameOpclass(a, b string) bool {
	return a == b || strings.Contains(a, "trgm_ops") && strings.Contains(b, "trgm_ops")
}
