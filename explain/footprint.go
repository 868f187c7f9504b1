package explain

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// pgadvisor's footprint in pg_stat_statements: every distinct text pgadvisor
// sends can become an entry there, and near pg_stat_statements.max each new
// entry evicts one of the workload's. So the texts Run sends do not depend on
// the statement being explained, except for the statement itself inside
// PREPARE (which pg_stat_statements does not track) and the parameter types
// of EXPLAIN EXECUTE: one prepared-statement name, settings and sampled
// values passed as parameters of one fixed set_config statement, and no
// constants in the texts sent before tracking is off (a constant makes
// pg_stat_statements store a normalised text while parsing, before the
// statement has run).

// SetConfigSQL sets settings with set_config: $1 the names, $2 the values,
// $3 is_local (true: until the end of the transaction, as SET LOCAL; false:
// for the session, as SET), $4 true to create placeholders for names the
// server does not know (else those are skipped), $5 must be true. It is one
// fixed text with no constants for every setting pgadvisor makes, so
// pg_stat_statements keeps at most one entry for all of them, and none when
// the statement itself turns tracking off.
const SetConfigSQL = Marker + "SELECT pg_catalog.set_config(s.name, s.value, $3) FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[])) AS s(name, value) WHERE $4 OR pg_catalog.current_setting(s.name, $5) IS NOT NULL"

// preparedName is the one name of the statement Run prepares: the EXPLAIN
// EXECUTE texts are then the same for every statement.
const preparedName = "pgadvisor"

// paramSetting is the placeholder setting holding the sampled value of $n
// while a statement is analysed (set transaction-local, gone at ROLLBACK).
func paramSetting(n int) string { return fmt.Sprintf("pgadvisor.p%d", n) }

// setLocal sets names to values until the end of the current transaction.
func (r *runner) setLocal(names, values []string, what string) error {
	if len(names) == 0 {
		return nil
	}
	if _, err := r.conn.Exec(r.ctx, SetConfigSQL, pgx.QueryExecModeExec, names, values, true, true, true); err != nil {
		return step(what, err)
	}
	return nil
}

// paramArgs is the argument list of EXECUTE that reads the sampled values
// from their placeholder settings, cast to the parameter types:
// (pg_catalog.current_setting('pgadvisor.p1')::integer, …). The values are
// evaluated before the plan is made, so the plan is a custom plan for them,
// yet they never appear in the text (nor in pg_stat_statements).
func paramArgs(types []string) string {
	a := make([]string, len(types))
	for i, t := range types {
		a[i] = "pg_catalog.current_setting('" + paramSetting(i+1) + "')::" + t
	}
	return args(a)
}

// preparable reports whether PREPARE takes the statement text: SELECT,
// VALUES, INSERT, UPDATE, DELETE and MERGE, and not SELECT INTO. Without
// facts the text's first keyword decides.
func (r *runner) preparable() bool {
	if r.facts != nil && r.facts.SelectInto {
		return false
	}
	first := strings.ToUpper(firstWord(r.text))
	switch first {
	case "SELECT", "VALUES", "INSERT", "UPDATE", "DELETE", "MERGE", "WITH", "TABLE", "(":
		return true
	}
	return false
}

// firstWord is the first keyword of a statement (or "(" for a parenthesised
// one), after comments.
func firstWord(text string) string {
	s := text[sqlfacts.SkipSpaceAndComments(text):]
	if strings.HasPrefix(s, "(") {
		return "("
	}
	end := strings.IndexFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_')
	})
	if end < 0 {
		return s
	}
	return s[:end]
}

// sqlstateDuplicatePrepared is duplicate_prepared_statement.
const sqlstateDuplicatePrepared = "42P05"
