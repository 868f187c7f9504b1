package whatif

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// notImmutable returns the IDs of the candidates with an expression key
// PostgreSQL would refuse to index: one that calls a function, or casts with
// a cast, that is not IMMUTABLE (date(timestamptz), to_char, ::date of a
// timestamptz). HypoPG refuses them too; without HypoPG this check keeps
// them out of the unverified advice. The check is conservative: a function
// name with any non-immutable overload, or a cast it cannot identify, counts
// as not immutable.
func notImmutable(ctx context.Context, conn *pgx.Conn, snap *pgstat.Snapshot, cands []Candidate) ([]string, error) {
	var out []string
	for _, c := range cands {
		for _, k := range c.Keys {
			if k.Expression == "" {
				continue
			}
			ok, err := immutableExpression(ctx, conn, snap.Table(c.Schema, c.Table), k.Expression)
			if err != nil {
				return out, err
			}
			if !ok {
				out = append(out, c.ID())
				break
			}
		}
	}
	return out, nil
}

const functionVolatilityQuery = ownMarker + `SELECT coalesce(bool_and(p.provolatile = 'i'), false)
FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE p.proname = $1 AND ($2 = '' AND n.nspname = ANY(current_schemas(true)) OR n.nspname = $2)`

const castVolatilityQuery = ownMarker + `SELECT CASE c.castmethod WHEN 'b' THEN 'i' WHEN 'f' THEN p.provolatile::text ELSE 's' END
FROM pg_catalog.pg_cast c LEFT JOIN pg_catalog.pg_proc p ON p.oid = c.castfunc
WHERE c.castsource = $1::regtype AND c.casttarget = $2::regtype`

func immutableExpression(ctx context.Context, conn *pgx.Conn, t *pgstat.Table, expr string) (bool, error) {
	facts, err := sqlfacts.Analyze("SELECT 1 FROM t WHERE (" + expr + ") IS NOT NULL")
	if err != nil || len(facts.Predicates) == 0 {
		return false, nil
	}
	for _, fn := range facts.Functions {
		schema, name := "", fn
		if i := strings.LastIndex(fn, "."); i >= 0 {
			schema, name = fn[:i], fn[i+1:]
		}
		var ok bool
		if err := conn.QueryRow(ctx, functionVolatilityQuery, name, schema).Scan(&ok); err != nil {
			return false, fmt.Errorf("check volatility of %s: %w", fn, err)
		}
		if !ok {
			return false, nil
		}
	}
	if !strings.Contains(expr, "::") && !strings.Contains(strings.ToUpper(expr), "CAST") {
		return true, nil
	}
	pr := facts.Predicates[0]
	if pr.Cast == "" || t == nil || pr.Function != "" {
		return false, nil // a cast inside a function call: not identified
	}
	colType := ""
	for _, col := range t.Columns {
		if col.Name == pr.Column.Column {
			colType = col.Type
		}
	}
	if colType == "" {
		return false, nil
	}
	var volatility string
	err = conn.QueryRow(ctx, castVolatilityQuery, colType, pr.Cast).Scan(&volatility)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // an I/O conversion cast: not immutable in general
	}
	if err != nil {
		return false, fmt.Errorf("check the cast of %s: %w", expr, err)
	}
	return volatility == "i", nil
}
