package audit

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// fixStatementName is the name CheckFixes prepares each rewrite under.
const fixStatementName = "pgadvisor_fix"

// CheckFixes PREPAREs every rewritten statement a rule would show as its fix
// (advisor.Rewrites: the batched forms of unbatched-writes, the N+1 child for
// all parents, the keyset page, …),
// each in its own transaction that is rolled back, and records the outcome
// in snap.FixChecks: a rewrite that failed to prepare is not shown as SQL
// (the findings pipeline's fixcheck processor), the fix gives the server's reason. PREPARE only parses and analyses
// the statement (it is planned at EXECUTE, which never runs here): it
// executes no user code and writes nothing, and the transaction is READ
// ONLY. It takes the target table's ROW EXCLUSIVE lock for the moment of
// the check (lock_timeout bounds a wait). A statement's failure is recorded;
// only a cancelled context or a lost connection is returned.
func CheckFixes(ctx context.Context, conn *pgx.Conn, snap *pgstat.Snapshot, opts advisor.Options) error {
	start := time.Now()
	defer func() { snap.Timings["fix_checks"] = ms(time.Since(start)) }()
	for _, sql := range advisor.Rewrites(snap, opts) {
		if err := ctx.Err(); err != nil {
			return fail("fix checks", err)
		}
		msg, err := prepareRolledBack(ctx, conn, sql)
		if err != nil {
			return fail("fix checks", err)
		}
		snap.FixChecks = append(snap.FixChecks, pgstat.FixCheck{SQL: sql, Error: msg})
	}
	return nil
}

// prepareRolledBack prepares sql inside BEGIN READ ONLY … ROLLBACK (and
// deallocates it: prepared statements outlive a rollback) and returns the
// server's message when it failed; err is a lost connection or a cancelled
// context.
func prepareRolledBack(ctx context.Context, conn *pgx.Conn, sql string) (msg string, err error) {
	simple := pgx.QueryExecModeSimpleProtocol
	if _, err := conn.Exec(ctx, pgstat.Marker+"BEGIN READ ONLY", simple); err != nil {
		return "", err
	}
	cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, perr := conn.Exec(ctx, pgstat.Marker+" PREPARE "+fixStatementName+" AS "+sql, simple)
	if _, rerr := conn.Exec(cleanup, pgstat.Marker+"ROLLBACK", simple); rerr != nil {
		return "", rerr
	}
	if perr == nil {
		if _, derr := conn.Exec(cleanup, pgstat.Marker+" DEALLOCATE "+fixStatementName, simple); derr != nil {
			return "", derr
		}
		return "", nil
	}
	var pgErr *pgconn.PgError
	if errors.As(perr, &pgErr) {
		return pgErr.Message, nil
	}
	if ctx.Err() != nil || conn.IsClosed() {
		return "", perr
	}
	return perr.Error(), nil
}
