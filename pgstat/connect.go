package pgstat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// ApplicationName is the application_name of every pgadvisor session.
const ApplicationName = "pgadvisor"

// Marker starts every statement pgadvisor sends, so that pgadvisor's own
// statements can be told apart in pg_stat_statements (which has no
// application_name) and left out of the findings.
const Marker = "/* pgadvisor */"

// Defaults of ConnectOptions.
const (
	DefaultStatementTimeout = 30 * time.Second
	DefaultLockTimeout      = 2 * time.Second
	DefaultIdleInTxTimeout  = 60 * time.Second
	DefaultConnectTimeout   = 10 * time.Second
)

// redactedPasswordReplacer replaces passwords in messages.
const redactedPasswordReplacer = "xxxxx"

// ConnectOptions are the session limits Connect sets. Zero means the default
// (DefaultStatementTimeout, DefaultLockTimeout); a negative value means no limit.
type ConnectOptions struct {
	StatementTimeout time.Duration
	LockTimeout      time.Duration
}

// Connect opens a pgadvisor session: dsn is a connection string (keyword/value
// or URL); "" means DATABASE_URL when it is set, else the PG* environment
// variables, service file and .pgpass, as libpq does. The session sets
// application_name, statement_timeout, lock_timeout and
// idle_in_transaction_session_timeout, and turns pg_stat_statements tracking
// off for itself where the role may (untrackSession), so that pgadvisor's own
// statements do not evict the workload's entries. Errors never contain the password; pass
// them to Describe for a message naming the fix.
func Connect(ctx context.Context, dsn string, opts ConnectOptions) (*pgx.Conn, error) {
	if dsn == "" {
		dsn = os.Getenv("DATABASE_URL")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, redactError(fmt.Errorf("parse connection string: %w", err), secretsOf(dsn)...)
	}
	cfg.RuntimeParams["application_name"] = ApplicationName
	// The timeouts are SET after connecting rather than sent as startup
	// parameters, so that pg_settings.reset_val still shows the server's own
	// values to the settings reader.
	// They go through one fixed set_config text, after the session has
	// stopped pg_stat_statements from tracking it where the role may (see
	// untrackSession), so that they add no entry, or one shared entry.
	timeoutNames := []string{"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"}
	timeoutValues := []string{
		timeoutSetting(opts.StatementTimeout, DefaultStatementTimeout),
		timeoutSetting(opts.LockTimeout, DefaultLockTimeout),
		timeoutSetting(0, DefaultIdleInTxTimeout),
	}
	cfg.AfterConnect = func(ctx context.Context, pc *pgconn.PgConn) error {
		if err := untrackSession(ctx, pc); err != nil {
			return fmt.Errorf("stop tracking the session in pg_stat_statements: %w", err)
		}
		if err := setSession(ctx, pc, timeoutNames, timeoutValues, true); err != nil {
			return fmt.Errorf("set session timeouts: %w", err)
		}
		return nil
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	// On Ctrl-C (a cancelled context) send the server a cancel request, so the
	// running statement stops now and its transaction rolls back, rather than
	// only closing the socket, which a busy backend notices late.
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 5 * time.Second}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, redactError(fmt.Errorf("connect: %w", err), append(secretsOf(dsn), cfg.Password)...)
	}
	return conn, nil
}

// timeoutSetting is a duration GUC value in milliseconds: d, or def when d is
// zero, or "0" (no limit) when d is negative.
func timeoutSetting(d, def time.Duration) string {
	switch {
	case d < 0:
		return "0"
	case d == 0:
		d = def
	}
	ms := d.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	return strconv.FormatInt(ms, 10)
}

// redactedError is an error whose text has had passwords removed; it still
// unwraps to the original error for errors.Is and errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redactError(err error, secrets ...string) error {
	return &redactedError{msg: Redact(err.Error(), secrets...), err: err}
}

var (
	// keyword/value form and URL query parameters: password=secret, password='se cret'
	passwordKV = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+)`)
	// URL user info: scheme://user:secret@host
	passwordURL = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://[^:@/\s]*:)([^@\s]*)@`)
)

// secretsOf returns the passwords found in a connection string, and PGPASSWORD.
func secretsOf(dsn string) []string {
	var out []string
	for _, m := range passwordKV.FindAllStringSubmatch(dsn, -1) {
		out = append(out, strings.Trim(m[2], "'"))
	}
	for _, m := range passwordURL.FindAllStringSubmatch(dsn, -1) {
		out = append(out, m[2])
	}
	if p := os.Getenv("PGPASSWORD"); p != "" {
		out = append(out, p)
	}
	return out
}

// Redact removes anything that looks like a password from s: password=...
// settings, the password of URL user info, and every occurrence of the given
// secrets.
func Redact(s string, secrets ...string) string {
	s = passwordKV.ReplaceAllString(s, "${1}"+redactedPasswordReplacer)
	s = passwordURL.ReplaceAllString(s, "${1}"+redactedPasswordReplacer+"@")
	for _, sec := range secrets {
		if len(sec) >= 3 && sec != redactedPasswordReplacer {
			s = strings.ReplaceAll(s, sec, redactedPasswordReplacer)
		}
	}
	return s
}

// Describe turns a connection or server error into a one-line message and the
// fix for it. The message never contains a password.
func Describe(err error) (message, fix string) {
	return describe(err, "")
}

// describe is Describe with the name of the connected user, used in GRANT fixes.
func describe(err error, user string) (message, fix string) {
	if err == nil {
		return "", ""
	}
	if user == "" {
		user = "<user>"
	} else {
		user = QuoteIdent(user)
	}
	message, fix = classify(err, user)
	if i := strings.IndexByte(message, '\n'); i >= 0 {
		message = message[:i]
	}
	var secrets []string
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		secrets = secretsOf(pce.ConnString)
	} else {
		secrets = secretsOf("")
	}
	return Redact(message, secrets...), fix
}

func classify(err error, user string) (message, fix string) {
	if errors.Is(err, context.Canceled) {
		return "interrupted", ""
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return classifyServer(pgErr, user)
	}
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		msg := "invalid connection string"
		if inner := pce.Unwrap(); inner != nil {
			msg += ": " + inner.Error()
		}
		return msg, "check --dsn / DATABASE_URL (keyword=value pairs or postgres://user@host:port/database)"
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) {
			return "timed out connecting to " + serverOf(ce), "check host and port (PGHOST/PGPORT or --dsn), firewalls, and that the server is running"
		}
		return "timed out", "raise the time limit or retry when the server is less busy"
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		where := serverOf(ce)
		var dnsErr *net.DNSError
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return "cannot connect to " + where + ": connection refused", "check host and port (PGHOST/PGPORT or --dsn) and that the server is running"
		case errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOENT):
			return "cannot connect to " + where + ": no such socket", "check host and port (PGHOST/PGPORT or --dsn; for a socket, the directory) and that the server is running"
		case errors.As(err, &dnsErr):
			return "cannot connect to " + where + ": unknown host " + dnsErr.Name, "check the host name (PGHOST or --dsn)"
		case strings.Contains(err.Error(), "server refused TLS"):
			return "cannot connect to " + where + ": the server does not accept TLS", "use sslmode=disable or prefer, or enable ssl on the server"
		}
		return "cannot connect to " + where + ": " + innermost(err), "check host and port (PGHOST/PGPORT or --dsn) and that the server is running"
	}
	if lost(err) {
		return "the connection to the server was lost", "check that the server is running (and its log), then run pgadvisor again"
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return "network error: " + netErr.Error(), "check the network path to the server and that it is running"
	}
	return err.Error(), ""
}

func lost(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "unexpected EOF")
}

// serverOf names the server a connection attempt was for: host:port, or the socket directory.
func serverOf(ce *pgconn.ConnectError) string {
	if ce.Config == nil {
		return "the server"
	}
	host := ce.Config.Host
	if strings.HasPrefix(host, "/") {
		return fmt.Sprintf("socket %s/.s.PGSQL.%d", host, ce.Config.Port)
	}
	return net.JoinHostPort(host, strconv.Itoa(int(ce.Config.Port)))
}

// innermost is the text of the deepest wrapped error.
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

func classifyServer(e *pgconn.PgError, user string) (message, fix string) {
	msg := e.Message
	// A hot standby refuses writes: "cannot set transaction read-write mode
	// during recovery" (0A000), "cannot execute ANALYZE during recovery" (25006).
	if (e.Code == "0A000" || e.Code == "25006") && strings.Contains(msg, "during recovery") {
		return msg, "the server is a hot standby, which takes no writes: run --verify against a staging primary, and install extensions on the primary"
	}
	switch e.Code {
	case "28P01":
		return msg, "check the password: PGPASSWORD, ~/.pgpass, or the password in --dsn / DATABASE_URL"
	case "28000":
		if strings.Contains(msg, "pg_hba.conf") {
			return msg, "allow this user, database and host in the server's pg_hba.conf (then reload), or connect as another user"
		}
		return msg, "check the user name (PGUSER or --dsn); create the role with CREATE ROLE ... LOGIN"
	case "3D000":
		return msg, "check the database name (PGDATABASE or --dsn); list databases with psql -l"
	case "42501":
		return msg, "GRANT pg_read_all_stats TO " + user + " (or GRANT pg_monitor TO " + user + ")"
	case "42P01", "42883":
		if strings.Contains(msg, "pg_stat_statements") {
			return msg, "CREATE EXTENSION pg_stat_statements; in this database, with shared_preload_libraries = 'pg_stat_statements' in postgresql.conf (restart the server after changing it)"
		}
		return msg, ""
	case "55000":
		if strings.Contains(msg, "shared_preload_libraries") {
			return msg, "add shared_preload_libraries = 'pg_stat_statements' to postgresql.conf (keep the libraries already listed) and restart the server"
		}
		return msg, ""
	case "57014":
		return "a statement was cancelled: " + msg, "raise --statement-timeout (or run when the server is less busy)"
	case "55P03":
		return "a lock wait timed out: " + msg, "retry when the DDL holding the lock is done, or raise --lock-timeout"
	case "57P01", "57P02", "57P03":
		return "the server is shutting down or restarting: " + msg, "check that the server is running, then run pgadvisor again"
	case "53300":
		return msg, "wait for connections to be released, or raise max_connections; superusers can use the reserved connections"
	case "25006":
		return msg, ""
	}
	if strings.HasPrefix(e.Code, "08") {
		return "connection error: " + msg, "check that the server is running, then run pgadvisor again"
	}
	return fmt.Sprintf("%s (SQLSTATE %s)", msg, e.Code), ""
}
