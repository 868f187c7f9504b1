package pgtest

import (
	"github.com/pgadvisor/pgadvisor/internal/cluster"

	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	shared     *Cluster
	sharedErr  error
	sharedOnce sync.Once
	dbCounter  int
	dbMu       sync.Mutex
)

// Main runs a package's tests and stops the shared cluster afterwards. Use it
// from TestMain: func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	return code
}

// InCI reports whether the tests run under CI=true, where a missing server is a failure.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// Unavailable skips the test locally and fails it under CI=true.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("PostgreSQL is required under CI=true: %s", msg)
	}
	t.Skipf("PostgreSQL not available, skipping (set CI=true to make this a failure): %s", msg)
}

// AdminDSN returns the DSN of a superuser connection to the test server: the
// PGADVISOR_TEST_DSN server, or the shared throwaway cluster started on first use.
func AdminDSN(t testing.TB) string {
	t.Helper()
	if dsn := os.Getenv("PGADVISOR_TEST_DSN"); dsn != "" {
		return dsn
	}
	sharedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		shared, sharedErr = Start(ctx, Options{})
	})
	if sharedErr != nil {
		Unavailable(t, "%v", sharedErr)
	}
	return shared.DSN("postgres")
}

// Shared returns the shared throwaway cluster, or nil with PGADVISOR_TEST_DSN.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	AdminDSN(t)
	return shared
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

// DB creates a fresh database for the test (pg_stat_statements and, where
// installed, hypopg in it) and returns its DSN. The database is dropped when
// the test ends.
func DB(t testing.TB) string {
	t.Helper()
	return dbOn(t, AdminDSN(t))
}

// dbOn creates a fresh database for the test on the server of admin and
// drops it when the test ends.
func dbOn(t testing.TB, admin string) string {
	t.Helper()
	dbMu.Lock()
	dbCounter++
	n := dbCounter
	dbMu.Unlock()
	name := unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_")
	if len(name) > 40 {
		name = name[:40]
	}
	name = fmt.Sprintf("t%d_%d_%s", os.Getpid()%100000, n, name)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn, err := CreateDatabase(ctx, admin, name)
	if err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cluster.DropDatabase(ctx, admin, name)
	})
	return dsn
}
