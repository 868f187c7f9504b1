package explain

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// harmlessVolatile are the pg_catalog functions that pg_proc marks volatile
// but that neither write nor have effects outside the statement; a SELECT
// calling them may still be analysed. setseed (changes the session's random
// sequence) and nextval (advances a sequence, never rolled back) are not here.
var harmlessVolatile = map[string]bool{
	"random":          true,
	"random_normal":   true, // 16+
	"clock_timestamp": true,
	"timeofday":       true,
	"gen_random_uuid": true,
}

// CheckStatement is the part of the safety gate that needs only the text: it
// reports whether facts describe a single plain SELECT (no FOR UPDATE/SHARE,
// no SELECT INTO, no data-modifying WITH). When it does not, reason is a short
// sentence saying why, ending in what is done instead.
func CheckStatement(facts *sqlfacts.Facts) (ok bool, reason string) {
	switch {
	case facts == nil:
		return false, "statement could not be parsed: plain EXPLAIN only"
	case facts.Statements != 1:
		return false, fmt.Sprintf("text holds %d statements, not one: plain EXPLAIN only", facts.Statements)
	case facts.Kind != sqlfacts.KindSelect:
		return false, fmt.Sprintf("not a plain SELECT (%s): plain EXPLAIN only", strings.ToUpper(string(facts.Kind)))
	case facts.ModifyingCTE:
		return false, "WITH clause modifies data: plain EXPLAIN only"
	case facts.Locking:
		return false, "SELECT … FOR UPDATE/SHARE locks rows: plain EXPLAIN only"
	case facts.SelectInto:
		return false, "SELECT INTO creates a table: plain EXPLAIN only"
	}
	return true, ""
}

// Gate reports whether EXPLAIN ANALYZE may execute query: Check's verdict
// without the detail. reason says why not (or, when even planning is
// refused, that it is). trusted are the names of user functions to trust
// (--trust-functions). err is set only when the catalog could not be read;
// analyzeOK is then false.
func Gate(ctx context.Context, conn *pgx.Conn, query string, facts *sqlfacts.Facts, trusted ...string) (analyzeOK bool, reason string, err error) {
	v, err := Check(ctx, conn, query, facts, trusted)
	if err != nil {
		return false, "could not check what the statement may run: plain EXPLAIN only", err
	}
	return v.Analyze, v.Reason, nil
}

// splitFuncName splits a function name as sqlfacts writes it ("f",
// "schema.f", possibly quoted) into schema ("" when unqualified) and name.
func splitFuncName(s string) (schema, name string) {
	parts := splitQualified(s)
	switch len(parts) {
	case 0:
		return "", ""
	case 1:
		return "", parts[0]
	default:
		// catalog.schema.name: the catalog is the current database.
		return parts[len(parts)-2], parts[len(parts)-1]
	}
}

// splitQualified splits a dotted name, honouring double quotes; unquoted parts
// are folded to lower case as PostgreSQL does.
func splitQualified(s string) []string {
	var parts []string
	var cur strings.Builder
	quoted, wasQuoted := false, false
	flush := func() {
		p := cur.String()
		if !wasQuoted {
			p = strings.ToLower(strings.TrimSpace(p))
		}
		parts = append(parts, p)
		cur.Reset()
		wasQuoted = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' && quoted && i+1 < len(s) && s[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			quoted = !quoted
			wasQuoted = true
		case c == '.' && !quoted:
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() > 0 || wasQuoted || len(parts) > 0 {
		flush()
	}
	return parts
}
