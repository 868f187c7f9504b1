package pgstat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// selectedColumns returns the output column aliases of a statementsQuery and
// the source expression of each.
func selectedColumns(t *testing.T, q string) map[string]string {
	t.Helper()
	sel := q[strings.Index(q, "SELECT ")+len("SELECT ") : strings.Index(q, "\nFROM pg_stat_statements")]
	out := map[string]string{}
	for _, item := range strings.Split(sel, ",\n  ") {
		expr, alias, ok := strings.Cut(item, " AS ")
		if !ok {
			alias = item
		}
		out[alias] = expr
	}
	return out
}

func TestStatementsQueryByVersion(t *testing.T) {
	// Source columns per version, from the extension's upgrade scripts
	// (pg_stat_statements--1.7--1.8.sql … --1.10--1.11.sql).
	cases := []struct {
		version string
		want    map[string]string // alias → source expression
		mustUse []string          // source columns that must appear
		mustNot []string          // source columns that must not appear
		orderBy string
	}{
		{version: "1.7",
			want:    map[string]string{"total_exec_time": "total_time", "mean_exec_time": "mean_time", "toplevel": "true", "plans": "0::int8", "blk_read_time": "blk_read_time", "wal_bytes": "0::float8", "jit_total_time": "0::float8", "stats_since": "NULL::timestamptz"},
			mustNot: []string{"total_exec_time", "toplevel,", "plans,", "jit_", "shared_blk_read_time"},
			orderBy: "ORDER BY total_time DESC"},
		{version: "1.8",
			want:    map[string]string{"total_exec_time": "total_exec_time", "total_plan_time": "total_plan_time", "plans": "plans", "toplevel": "true", "wal_bytes": "wal_bytes::float8", "blk_read_time": "blk_read_time", "jit_total_time": "0::float8"},
			mustNot: []string{"total_time,", "jit_", "shared_blk_read_time", "stats_since,"},
			orderBy: "ORDER BY total_exec_time + total_plan_time DESC"},
		{version: "1.9",
			want:    map[string]string{"toplevel": "toplevel", "blk_write_time": "blk_write_time", "jit_total_time": "0::float8"},
			mustNot: []string{"jit_generation_time", "shared_blk_write_time"}},
		{version: "1.10",
			want:    map[string]string{"toplevel": "toplevel", "blk_read_time": "blk_read_time", "jit_total_time": "jit_generation_time + jit_inlining_time + jit_optimization_time + jit_emission_time", "stats_since": "NULL::timestamptz"},
			mustNot: []string{"shared_blk_read_time"}},
		{version: "1.11",
			want:    map[string]string{"blk_read_time": "shared_blk_read_time", "blk_write_time": "shared_blk_write_time", "stats_since": "stats_since", "toplevel": "toplevel"},
			mustNot: []string{"\nblk_read_time,", "\nblk_write_time,"}},
		{version: "1.12", // PG 18 keeps the 1.11 columns
			want: map[string]string{"blk_read_time": "shared_blk_read_time", "stats_since": "stats_since"}},
	}
	var aliases []string
	for _, c := range cases {
		t.Run(c.version, func(t *testing.T) {
			q := statementsQuery(c.version)
			if !strings.HasPrefix(q, Marker+" ") {
				t.Errorf("query does not start with the marker: %.40q", q)
			}
			cols := selectedColumns(t, q)
			for alias, expr := range c.want {
				if cols[alias] != expr {
					t.Errorf("%s = %q, want %q", alias, cols[alias], expr)
				}
			}
			var sources strings.Builder
			for _, expr := range cols {
				sources.WriteString(expr + ",\n")
			}
			sources.WriteString(q[strings.Index(q, "ORDER BY"):])
			for _, s := range c.mustNot {
				if strings.Contains(sources.String(), s) {
					t.Errorf("query for %s contains %q", c.version, s)
				}
			}
			if c.orderBy != "" && !strings.Contains(q, c.orderBy) {
				t.Errorf("query lacks %q", c.orderBy)
			}
			for _, s := range []string{"dbid = (SELECT oid FROM pg_database WHERE datname = current_database())", "calls >= $1", "LIMIT $2",
				"NOT LIKE '%" + Marker + "%'", "<> '<insufficient privilege>'"} {
				if !strings.Contains(q, s) {
					t.Errorf("query lacks %q", s)
				}
			}
			// The scan order is the same for every version.
			var got []string
			for _, item := range strings.Split(q[strings.Index(q, "SELECT ")+7:strings.Index(q, "\nFROM")], ",\n  ") {
				_, alias, ok := strings.Cut(item, " AS ")
				if !ok {
					alias = item
				}
				got = append(got, alias)
			}
			if aliases == nil {
				aliases = got
			} else if strings.Join(got, ",") != strings.Join(aliases, ",") {
				t.Errorf("output columns differ between versions:\n%v\n%v", got, aliases)
			}
			if len(got) != 27 {
				t.Errorf("%d output columns, scanStatements reads 27", len(got))
			}
		})
	}
}

func TestParseExtVersion(t *testing.T) {
	for _, c := range []struct {
		in         string
		major, min int
		ok         bool
	}{{"1.10", 1, 10, true}, {"1.9", 1, 9, true}, {" 1.11 ", 1, 11, true}, {"2", 0, 0, false}, {"x.y", 0, 0, false}} {
		v, ok := parseExtVersion(c.in)
		if ok != c.ok || v.major != c.major || v.minor != c.min {
			t.Errorf("parseExtVersion(%q) = %v %v", c.in, v, ok)
		}
	}
	if !(extVersion{1, 10}).atLeast(1, 9) || (extVersion{1, 9}).atLeast(1, 10) || !(extVersion{2, 0}).atLeast(1, 11) {
		t.Error("atLeast compares minor versions numerically")
	}
}

func TestDescribe(t *testing.T) {
	pg := func(code, msg string) error {
		return fmt.Errorf("read pg_stat_statements: %w", &pgconn.PgError{Severity: "ERROR", Code: code, Message: msg})
	}
	cases := []struct {
		name    string
		err     error
		msg     string // substring of the message
		fix     string // substring of the fix
		noFix   bool
		exactly string
	}{
		{name: "wrong password", err: pg("28P01", `password authentication failed for user "app"`), msg: "password authentication failed", fix: "PGPASSWORD"},
		{name: "wrong password pgpass", err: pg("28P01", `password authentication failed for user "app"`), fix: ".pgpass"},
		{name: "unknown database", err: pg("3D000", `database "nope" does not exist`), msg: `database "nope" does not exist`, fix: "database name"},
		{name: "unknown role", err: pg("28000", `role "nobody" does not exist`), msg: "nobody", fix: "user name"},
		{name: "pg_hba", err: pg("28000", `no pg_hba.conf entry for host "1.2.3.4"`), fix: "pg_hba.conf"},
		{name: "privilege", err: pg("42501", "permission denied for function pg_stat_statements_reset"), msg: "permission denied", fix: "GRANT pg_read_all_stats TO <user>"},
		{name: "no extension", err: pg("42P01", `relation "pg_stat_statements" does not exist`), fix: "CREATE EXTENSION pg_stat_statements"},
		{name: "no extension preload hint", err: pg("42P01", `relation "pg_stat_statements" does not exist`), fix: "shared_preload_libraries"},
		{name: "not preloaded", err: pg("55000", `pg_stat_statements must be loaded via "shared_preload_libraries"`), msg: "shared_preload_libraries", fix: "shared_preload_libraries = 'pg_stat_statements'"},
		{name: "not preloaded restart", err: pg("55000", `pg_stat_statements must be loaded via "shared_preload_libraries"`), fix: "restart"},
		{name: "statement timeout", err: pg("57014", "canceling statement due to statement timeout"), msg: "statement timeout", fix: "--statement-timeout"},
		{name: "lock timeout", err: pg("55P03", "canceling statement due to lock timeout"), msg: "lock", fix: "--lock-timeout"},
		{name: "admin shutdown", err: pg("57P01", "terminating connection due to administrator command"), msg: "shutting down", fix: "server is running"},
		{name: "too many connections", err: pg("53300", "sorry, too many clients already"), fix: "max_connections"},
		{name: "EOF", err: fmt.Errorf("read tables: %w", io.EOF), msg: "connection to the server was lost", fix: "server is running"},
		{name: "unexpected EOF", err: fmt.Errorf("read tables: %w", io.ErrUnexpectedEOF), msg: "lost", fix: "server is running"},
		{name: "conn closed", err: fmt.Errorf("read tables: %w", pgconn.ErrConnClosed), msg: "lost"},
		{name: "cancelled", err: fmt.Errorf("read tables: %w", context.Canceled), exactly: "interrupted", noFix: true},
		{name: "other server error", err: pg("XX000", "something odd"), msg: "something odd (SQLSTATE XX000)", noFix: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg, fix := Describe(c.err)
			if c.exactly != "" && msg != c.exactly {
				t.Errorf("message = %q, want %q", msg, c.exactly)
			}
			if !strings.Contains(msg, c.msg) {
				t.Errorf("message = %q, want it to contain %q", msg, c.msg)
			}
			if c.noFix && fix != "" {
				t.Errorf("fix = %q, want none", fix)
			}
			if !c.noFix && (fix == "" || !strings.Contains(fix, c.fix)) {
				t.Errorf("fix = %q, want it to contain %q", fix, c.fix)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("message has several lines: %q", msg)
			}
		})
	}
	if m, f := Describe(nil); m != "" || f != "" {
		t.Errorf("Describe(nil) = %q, %q", m, f)
	}
	if _, f := describe(pg("42501", "permission denied"), "Report User"); !strings.Contains(f, `GRANT pg_read_all_stats TO "Report User"`) {
		t.Errorf("fix does not name the quoted user: %q", f)
	}
}

// TestConnectErrorsHidePassword connects with DSNs holding the password
// s3cret to servers that cannot be reached, or with invalid DSNs, and checks
// that neither the error text nor Describe's message contains it.
func TestConnectErrorsHidePassword(t *testing.T) {
	t.Setenv("PGPASSWORD", "")
	t.Setenv("PGCONNECT_TIMEOUT", "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	cases := []struct {
		dsn string
		msg string // substring of Describe's message
		fix string
	}{
		{dsn: "postgres://app:s3cret@127.0.0.1:1/shop?sslmode=disable", msg: "connection refused", fix: "check host and port"},
		{dsn: "host=127.0.0.1 port=1 user=app password=s3cret dbname=shop sslmode=disable", msg: "127.0.0.1:1", fix: "server is running"},
		{dsn: "host=" + dir + " port=5999 user=app password='s3cret' dbname=shop", msg: "no such socket", fix: "server is running"},
		{dsn: "postgres://app:s3cret@127.0.0.1:notaport/shop", msg: "invalid connection string", fix: "--dsn"},
		{dsn: "postgres://app:s3cret@[::1/shop", msg: "invalid connection string", fix: "--dsn"},
		{dsn: "host=x password=s3cret port=abc", msg: "invalid connection string", fix: "--dsn"},
		{dsn: "user=app password=s3cret connect_timeout=soon", msg: "invalid connection string"},
	}
	for _, c := range cases {
		conn, err := Connect(ctx, c.dsn, ConnectOptions{})
		if err == nil {
			conn.Close(ctx)
			t.Errorf("Connect(%q) succeeded", c.dsn)
			continue
		}
		msg, fix := Describe(err)
		for _, s := range []string{err.Error(), msg, fix, fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err)} {
			if strings.Contains(s, "s3cret") {
				t.Errorf("Connect(%q): password in %q", c.dsn, s)
			}
		}
		if !strings.Contains(msg, c.msg) || !strings.Contains(fix, c.fix) {
			t.Errorf("Connect(%q): Describe = %q / %q, want %q / %q", c.dsn, msg, fix, c.msg, c.fix)
		}
	}
	// Describe strips passwords even from errors that did not come through Connect.
	raw := errors.New(`failed: cannot parse "postgres://app:s3cret@host/db" and password=s3cret`)
	if msg, _ := Describe(raw); strings.Contains(msg, "s3cret") {
		t.Errorf("Describe kept the password: %q", msg)
	}
}

func TestRedact(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"host=h password=s3cret user=u", "host=h password=xxxxx user=u"},
		{"host=h password='s3 cret' user=u", "host=h password=xxxxx user=u"},
		{"postgres://u:s3cret@h:5/db", "postgres://u:xxxxx@h:5/db"},
		{"postgresql://u@h/db?password=s3cret&sslmode=disable", "postgresql://u@h/db?password=xxxxx&sslmode=disable"},
		{"nothing secret", "nothing secret"},
	} {
		if got := Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := Redact("the password is hunter2, hunter2!", "hunter2"); strings.Contains(got, "hunter2") {
		t.Errorf("Redact with secret = %q", got)
	}
}

func TestTimeoutSetting(t *testing.T) {
	for _, c := range []struct {
		d, def time.Duration
		want   string
	}{{0, 30 * time.Second, "30000"}, {-1, time.Second, "0"}, {1500 * time.Millisecond, 0, "1500"}, {time.Microsecond, 0, "1"}} {
		if got := timeoutSetting(c.d, c.def); got != c.want {
			t.Errorf("timeoutSetting(%v, %v) = %q, want %q", c.d, c.def, got, c.want)
		}
	}
}

func TestRowCount(t *testing.T) {
	s := &Snapshot{Tables: []Table{
		{Schema: "public", Name: "plain", Kind: "r", Rows: 100, NLiveTup: 250},
		{Schema: "public", Name: "never_analysed", Kind: "r", Rows: -1, NLiveTup: 40},
		{Schema: "public", Name: "events", Kind: "p", Rows: -1, Partitions: 2},
		{Schema: "public", Name: "events_2025", Kind: "r", Parent: "public.events", Rows: 1000, NLiveTup: 900},
		{Schema: "public", Name: "events_2026", Kind: "p", Parent: "public.events", Rows: 5, Partitions: 1},
		{Schema: "public", Name: "events_2026_01", Kind: "r", Parent: "public.events_2026", Rows: -1, NLiveTup: 300},
		{Schema: "Odd", Name: "Parent", Kind: "p", Rows: 7},
		{Schema: "public", Name: "loop_a", Kind: "p", Parent: "public.loop_b"},
		{Schema: "public", Name: "loop_b", Kind: "p", Parent: "public.loop_a"},
		{Schema: "public", Name: "orphan", Kind: "r", Parent: "public.loop_a", Rows: 3},
	}}
	for _, c := range []struct {
		name string
		want float64
	}{
		{"plain", 250},         // the larger of reltuples and n_live_tup
		{"never_analysed", 40}, // reltuples -1
		{"events", 1300},       // every leaf below it, at every level; not its own -1
		{"events_2026", 300},   // a sub-partitioned table: its own leaves
		{"events_2025", 1000},  // a partition counts alone
		{"Parent", 7},          // no partitions in the snapshot: its own
		{"loop_b", 3},          // a cycle in a hand-edited file ends
	} {
		tab := s.Table("", c.name)
		if tab == nil {
			t.Fatalf("no table %s", c.name)
		}
		if got := s.RowCount(tab); got != c.want {
			t.Errorf("RowCount(%s) = %g, want %g", c.name, got, c.want)
		}
	}
}
