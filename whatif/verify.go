package whatif

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

var verifyCounter atomic.Uint64

// Verify builds the recommended indexes for real and measures the
// statements they serve with EXPLAIN ANALYZE before and after, all inside
// one transaction that is always rolled back. The index builds hold a SHARE
// lock on their tables (writes wait) until the rollback: use it on staging,
// behind an explicit flag (--verify). Only plain SELECTs that pass the
// explain gate are executed; $n values are sampled from the column each is
// compared with (LIMIT $n gets 100, OFFSET $n 0); other statements are
// reported with Skipped.
func Verify(ctx context.Context, conn *pgx.Conn, recs []Recommendation, inputs []Input, opts Options) ([]Measured, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	if conn.PgConn().TxStatus() != 'I' {
		return nil, errors.New("verify indexes: the connection is inside a transaction")
	}
	byID := inputsByID(inputs)
	var qs []string
	serving := map[string][]string{}
	estimate := map[string]float64{}
	for _, r := range recs {
		for _, g := range r.Statements {
			if _, ok := serving[g.QueryID]; !ok {
				qs = append(qs, g.QueryID)
			}
			serving[g.QueryID] = append(serving[g.QueryID], r.Name())
			estimate[g.QueryID] = g.Reduction
		}
	}
	sort.Strings(qs)
	out := make([]Measured, len(qs))
	runnable := map[string]bool{}
	for i, q := range qs {
		out[i] = Measured{QueryID: q, Indexes: serving[q], EstimatedReduction: estimate[q]}
		in, ok := byID[q]
		switch {
		case !ok || in.Facts == nil:
			out[i].Skipped = "statement text not available or does not parse"
			continue
		}
		ok, why, err := explain.Gate(ctx, conn, in.Query, in.Facts, opts.TrustFunctions...)
		if err != nil {
			out[i].Skipped = "could not check the statement: " + err.Error()
			continue
		}
		if !ok {
			out[i].Skipped = why
			continue
		}
		runnable[q] = true
	}
	if len(runnable) == 0 {
		return out, nil
	}
	// Every EXPLAIN ANALYZE runs in a read-only transaction, the backstop
	// for what the gate cannot see: the "before" runs in one that is rolled
	// back, the "after" runs in the transaction that builds the indexes,
	// switched to READ ONLY once they are built, then rolled back.
	if _, err := conn.Exec(ctx, ownMarker+"BEGIN READ ONLY"); err != nil {
		return out, fmt.Errorf("verify indexes: begin: %w", err)
	}
	var prepared []string
	defer func() {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = conn.Exec(c, ownMarker+"ROLLBACK")
		for _, p := range prepared {
			_, _ = conn.Exec(c, ownMarker+"DEALLOCATE "+p)
		}
	}()
	exec := map[string]string{} // queryid → the statement to EXPLAIN ANALYZE
	for i, q := range qs {
		if !runnable[q] {
			continue
		}
		in := byID[q]
		sql, name, why, err := verifyStatement(ctx, conn, in)
		if err != nil {
			return out, err
		}
		if why != "" {
			out[i].Skipped = why
			continue
		}
		if name != "" {
			prepared = append(prepared, name)
		}
		exec[q] = sql
		ms, _, err := analyzeMS(ctx, conn, sql, nil)
		if err != nil {
			return out, fmt.Errorf("verify indexes: EXPLAIN ANALYZE before: %w", err)
		}
		out[i].BeforeMS = round2(ms)
	}
	names := map[string]bool{}
	if _, err := conn.Exec(ctx, ownMarker+"ROLLBACK"); err != nil {
		return out, fmt.Errorf("verify indexes: rollback: %w", err)
	}
	if _, err := conn.Exec(ctx, ownMarker+"BEGIN READ WRITE"); err != nil {
		return out, fmt.Errorf("verify indexes: begin: %w", err)
	}
	for _, r := range recs {
		c := r.Candidate
		c.Partitioned = true // no CONCURRENTLY inside a transaction
		if _, err := conn.Exec(ctx, ownMarker+c.CreateSQL()); err != nil {
			return out, fmt.Errorf("verify indexes: %s: %w", c.CreateSQL(), err)
		}
		names[c.Name()] = true
	}
	if _, err := conn.Exec(ctx, ownMarker+"SET TRANSACTION READ ONLY"); err != nil {
		return out, fmt.Errorf("verify indexes: read only: %w", err)
	}
	for i, q := range qs {
		sql, ok := exec[q]
		if !ok {
			continue
		}
		ms, used, err := analyzeMS(ctx, conn, sql, names)
		if err != nil {
			return out, fmt.Errorf("verify indexes: EXPLAIN ANALYZE after: %w", err)
		}
		out[i].AfterMS = round2(ms)
		out[i].UsedIndex = used
		if ms > 0 {
			out[i].Speedup = round2(out[i].BeforeMS / ms)
		}
	}
	return out, nil
}

// verifyStatement returns the SQL to EXPLAIN ANALYZE for a statement: the
// statement itself, or EXECUTE of a prepared statement with sampled values.
func verifyStatement(ctx context.Context, conn *pgx.Conn, in Input) (sql, prepared, skipped string, err error) {
	text := strings.TrimRight(strings.TrimSpace(in.Query), "; \n\t")
	n := sqlfacts.MaxParam(text)
	if n == 0 {
		return text, "", "", nil
	}
	values := make([]string, n)
	for i := 1; i <= n; i++ {
		switch {
		case in.Facts.Limit != nil && in.Facts.Limit.Param == i:
			values[i-1] = "100"
			continue
		case in.Facts.Offset != nil && in.Facts.Offset.Param == i:
			values[i-1] = "0"
			continue
		}
		col, ok := in.Facts.ParamColumns[i]
		if !ok || col.Table == "" {
			return "", "", fmt.Sprintf("no value for $%d (not compared with a known column)", i), nil
		}
		var v *string
		q := fmt.Sprintf("%sSELECT %s::text FROM %s WHERE %s IS NOT NULL LIMIT 1", ownMarker, pgstat.QuoteIdent(col.Column),
			pgstat.QuoteQualified(col.Schema, col.Table), pgstat.QuoteIdent(col.Column))
		if err := conn.QueryRow(ctx, q).Scan(&v); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return "", "", "", fmt.Errorf("verify indexes: sample $%d: %w", i, err)
		}
		if v == nil {
			return "", "", fmt.Sprintf("no value for $%d (%s has no non-null value)", i, col.Column), nil
		}
		values[i-1] = "'" + strings.ReplaceAll(*v, "'", "''") + "'"
	}
	name := fmt.Sprintf("pgadvisor_verify_%d", verifyCounter.Add(1))
	// The extended protocol refuses a text holding several statements.
	if err := conn.PgConn().ExecParams(ctx, ownMarker+"PREPARE "+name+" AS "+text, nil, nil, nil, nil).Read().Err; err != nil {
		return "", "", "", fmt.Errorf("verify indexes: prepare: %w", err)
	}
	return "EXECUTE " + name + "(" + strings.Join(values, ", ") + ")", name, "", nil
}

// analyzeMS runs EXPLAIN ANALYZE and returns the execution time, and whether
// the plan uses one of the named indexes.
func analyzeMS(ctx context.Context, conn *pgx.Conn, sql string, names map[string]bool) (float64, bool, error) {
	rr := conn.PgConn().ExecParams(ctx, ownMarker+"EXPLAIN (ANALYZE, FORMAT JSON) "+sql, nil, nil, nil, nil).Read()
	if rr.Err != nil {
		return 0, false, rr.Err
	}
	if len(rr.Rows) == 0 || len(rr.Rows[0]) == 0 {
		return 0, false, errors.New("EXPLAIN returned no plan")
	}
	plan, err := explain.Parse(rr.Rows[0][0])
	if err != nil {
		return 0, false, err
	}
	used := false
	explain.Walk(plan.Plan, func(n *explain.Node, _ int) bool {
		if names[n.IndexName] {
			used = true
		}
		return true
	})
	return plan.ExecutionTime, used, nil
}
