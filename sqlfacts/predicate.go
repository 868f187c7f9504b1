package sqlfacts

import "strings"

// Sargable reports whether an index on the bare column could serve the
// predicate: false when the column is wrapped in a function, a cast or an
// expression, or for a LIKE/ILIKE whose constant pattern starts with a
// wildcard.
func (p Predicate) Sargable() bool {
	if p.Function != "" || p.Cast != "" || p.Expression != "" {
		return false
	}
	return !LeadingWildcard(p)
}

// LeadingWildcard reports whether p is a LIKE/ILIKE (or NOT LIKE/NOT ILIKE)
// whose constant pattern starts with % or _, which a btree index cannot serve.
func LeadingWildcard(p Predicate) bool {
	if !p.HasConst || !strings.Contains(p.Operator, "LIKE") {
		return false
	}
	return strings.HasPrefix(p.Const, "%") || strings.HasPrefix(p.Const, "_")
}
