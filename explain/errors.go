package explain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SQLSTATE codes Run turns into advice.
const (
	sqlstateQueryCanceled        = "57014"
	sqlstateLockNotAvailable     = "55P03"
	sqlstateInsufficientPrivs    = "42501"
	sqlstateReadOnlyTransaction  = "25006"
	sqlstateIndeterminateType    = "42P18"
	sqlstateAdminShutdown        = "57P01"
	sqlstateCrashShutdown        = "57P02"
	sqlstateCannotConnectNow     = "57P03"
	sqlstateIdleSessionTimeout   = "57P05"
	sqlstateIdleInTransactionEnd = "25P03"
)

// describeError turns an error met while doing what into the one-line
// message stored in Result.Error, naming the fix where there is one.
func describeError(ctx context.Context, conn *pgx.Conn, what string, err error, opts Options) string {
	if ctx.Err() != nil {
		return fmt.Sprintf("cancelled while %s (%v): nothing was kept", what, context.Cause(ctx))
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		msg := oneLine(pgErr.Message)
		switch pgErr.Code {
		case sqlstateQueryCanceled:
			return fmt.Sprintf("statement timeout%s while %s: raise --statement-timeout, or use --no-analyze to plan without executing", durationNote(opts.StatementTimeout), what)
		case sqlstateLockNotAvailable:
			return fmt.Sprintf("lock timeout%s while %s: another session holds a conflicting lock on a table of this statement; retry later or raise --lock-timeout", durationNote(opts.LockTimeout), what)
		case sqlstateInsufficientPrivs:
			return fmt.Sprintf("permission denied while %s: %s; grant the role pgadvisor connects as SELECT on the tables concerned (or pg_read_all_data)", what, msg)
		case sqlstateReadOnlyTransaction:
			return fmt.Sprintf("the statement tried to write while %s inside a read-only transaction (%s); nothing was written: explain it with --no-analyze", what, msg)
		case sqlstateAdminShutdown, sqlstateCrashShutdown, sqlstateCannotConnectNow, sqlstateIdleSessionTimeout, sqlstateIdleInTransactionEnd:
			return fmt.Sprintf("connection lost while %s: %s; check that the server is up and run again", what, msg)
		}
		return fmt.Sprintf("%s failed: %s (SQLSTATE %s)", what, msg, pgErr.Code)
	}
	if conn == nil || conn.IsClosed() || pgconn.Timeout(err) {
		return fmt.Sprintf("connection lost while %s: %s; check that the server is up and run again", what, oneLine(err.Error()))
	}
	return fmt.Sprintf("%s failed: %s", what, oneLine(err.Error()))
}

// isServerError reports whether err is an ordinary error the server raised
// for the statement (not a timeout, lock timeout, permission or connection
// problem), after which a cheaper fallback is worth trying.
func isServerError(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case sqlstateQueryCanceled, sqlstateLockNotAvailable, sqlstateInsufficientPrivs,
		sqlstateAdminShutdown, sqlstateCrashShutdown, sqlstateCannotConnectNow,
		sqlstateIdleSessionTimeout, sqlstateIdleInTransactionEnd:
		return false
	}
	return !strings.HasPrefix(pgErr.Code, "08") && !strings.HasPrefix(pgErr.Code, "53") && !strings.HasPrefix(pgErr.Code, "57")
}

func sqlstate(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

func durationNote(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return " (" + d.String() + ")"
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
