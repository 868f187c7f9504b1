package explain

import (
	"context"
	"fmt"
	"sort"
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

// Gate is the safety gate of DESIGN.md: it reports whether EXPLAIN ANALYZE may
// execute query. ANALYZE is allowed only for a single plain SELECT (see
// CheckStatement) whose called functions (facts.Functions) are all
// non-volatile per pg_proc on the server of conn, except for a short allowlist
// of harmless volatile pg_catalog functions (random, clock_timestamp,
// timeofday, gen_random_uuid). A function that does not resolve, or whose name
// has any volatile overload, counts as volatile. When analyzeOK is false,
// reason is a short sentence such as "calls volatile function f(): plain
// EXPLAIN only". err is set only when the catalog could not be read; analyzeOK
// is then false.
//
// Functions reached through views (and the operators views use) are followed
// in pg_rewrite/pg_depend and checked the same way, nested views included; a
// table with row-level security (whose policies may call anything) or a
// relation that does not resolve also means no ANALYZE. Run's BEGIN READ ONLY
// is the backstop for what remains (an operator's function in the statement
// itself): a read-only transaction refuses every write, nextval included.
func Gate(ctx context.Context, conn *pgx.Conn, query string, facts *sqlfacts.Facts) (analyzeOK bool, reason string, err error) {
	if ok, why := CheckStatement(facts); !ok {
		return false, why, nil
	}
	volatile, err := VolatileFunctions(ctx, conn, facts.Functions)
	if err != nil {
		return false, "could not check function volatility: plain EXPLAIN only", err
	}
	if len(volatile) > 0 {
		word := "function"
		if len(volatile) > 1 {
			word = "functions"
		}
		return false, fmt.Sprintf("calls volatile %s %s(): plain EXPLAIN only", word, strings.Join(volatile, "(), ")), nil
	}
	if why, err := relationsGate(ctx, conn, facts.Relations); err != nil {
		return false, "could not check the relations read: plain EXPLAIN only", err
	} else if why != "" {
		return false, why, nil
	}
	return true, "", nil
}

// relationsQuery describes each named relation: whether it resolves, its
// kind, row-level security, and a view's definition.
const relationsQuery = Marker + `SELECT n.name, c.oid IS NOT NULL, coalesce(c.relkind::text, ''), coalesce(c.relrowsecurity, false),
  CASE WHEN c.relkind = 'v' THEN pg_catalog.pg_get_viewdef(c.oid) END
FROM unnest($1::text[]) AS n(name)
LEFT JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(n.name)`

// maxViewDepth bounds how deep views over views are followed.
const maxViewDepth = 16

// relationsGate returns why the relations a statement reads rule out ANALYZE,
// or "" when they do not. Views are followed through their definitions
// (parsed like any statement, so built-in functions count too), nested views
// included; their functions go through the same volatility check.
func relationsGate(ctx context.Context, conn *pgx.Conn, rels []sqlfacts.Relation) (string, error) {
	seen := map[string]bool{}
	for depth := 0; len(rels) > 0; depth++ {
		if depth > maxViewDepth {
			return "views nest too deep to check: plain EXPLAIN only", nil
		}
		var names []string
		for _, r := range rels {
			name := pgx.Identifier{r.Name}.Sanitize()
			if r.Schema != "" {
				name = pgx.Identifier{r.Schema, r.Name}.Sanitize()
			}
			if !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
		if len(names) == 0 {
			break
		}
		rows, err := conn.Query(ctx, relationsQuery, pgx.QueryExecModeExec, names)
		if err != nil {
			return "", fmt.Errorf("check relations: %w", err)
		}
		var next []sqlfacts.Relation
		var funcs []string
		var why string
		for rows.Next() {
			var name, kind string
			var found, rls bool
			var def *string
			if err := rows.Scan(&name, &found, &kind, &rls, &def); err != nil {
				rows.Close()
				return "", fmt.Errorf("check relations: %w", err)
			}
			switch {
			case !found && why == "":
				why = "reads " + name + ", which does not resolve on this server: plain EXPLAIN only"
			case rls && why == "":
				why = "reads " + name + ", a table with row-level security (its policies are not checked): plain EXPLAIN only"
			case def != nil:
				facts, err := sqlfacts.Analyze(*def)
				if err != nil {
					if why == "" {
						why = "reads view " + name + ", whose definition could not be checked: plain EXPLAIN only"
					}
					continue
				}
				funcs = append(funcs, facts.Functions...)
				next = append(next, facts.Relations...)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return "", fmt.Errorf("check relations: %w", err)
		}
		if why != "" {
			return why, nil
		}
		volatile, err := VolatileFunctions(ctx, conn, funcs)
		if err != nil {
			return "", err
		}
		if len(volatile) > 0 {
			return fmt.Sprintf("reads a view that calls volatile function %s(): plain EXPLAIN only", strings.Join(volatile, "(), ")), nil
		}
		rels = next
	}
	return "", nil
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

// volatilityQuery returns one row per pg_proc entry matching each input name:
// unqualified names are looked up in every schema of the effective search
// path (pg_catalog and pg_temp included), qualified ones in their schema.
const volatilityQuery = Marker + `
SELECT f.i::int, n.nspname::text, p.provolatile::text
FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS f(sch, name, i)
JOIN pg_catalog.pg_namespace n
  ON (f.sch = '' AND n.nspname = ANY (pg_catalog.current_schemas(true))) OR n.nspname = f.sch
JOIN pg_catalog.pg_proc p ON p.pronamespace = n.oid AND p.proname = f.name`

// VolatileFunctions returns, sorted and without duplicates, the names among
// funcs that are volatile per pg_proc (any overload volatile) or that do not
// resolve on the server, leaving out the harmless allowlisted pg_catalog ones.
func VolatileFunctions(ctx context.Context, conn *pgx.Conn, funcs []string) ([]string, error) {
	if len(funcs) == 0 {
		return nil, nil
	}
	schemas := make([]string, len(funcs))
	names := make([]string, len(funcs))
	for i, f := range funcs {
		schemas[i], names[i] = splitFuncName(f)
	}
	rows, err := conn.Query(ctx, volatilityQuery, pgx.QueryExecModeExec, schemas, names)
	if err != nil {
		return nil, fmt.Errorf("read function volatility from pg_proc: %w", err)
	}
	found := make([]bool, len(funcs))
	bad := make([]bool, len(funcs))
	for rows.Next() {
		var i int
		var nsp, vol string
		if err := rows.Scan(&i, &nsp, &vol); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read function volatility from pg_proc: %w", err)
		}
		i-- // ordinality is 1-based
		if i < 0 || i >= len(funcs) {
			continue
		}
		found[i] = true
		if vol == "v" && !(nsp == "pg_catalog" && harmlessVolatile[names[i]]) {
			bad[i] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read function volatility from pg_proc: %w", err)
	}
	seen := map[string]bool{}
	var out []string
	for i, f := range funcs {
		if (bad[i] || !found[i]) && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out, nil
}
