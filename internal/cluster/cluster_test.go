package cluster

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestWithDatabase(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"host=/tmp port=5 dbname=postgres", "host=/tmp port=5 dbname=x"},
		{"postgres://u@h:5/postgres?sslmode=disable", "postgres://u@h:5/x?sslmode=disable"},
		{"postgres://u@h:5", "postgres://u@h:5/x"},
	} {
		if got := withDatabase(c.in, "x"); got != c.want {
			t.Errorf("withDatabase(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// start starts a cluster or, without PostgreSQL, skips locally and fails
// under CI=true (this package cannot import pgtest, which wraps it).
func start(t *testing.T) *Cluster {
	t.Helper()
	c, err := Start(context.Background(), Options{})
	if err != nil {
		if v := strings.ToLower(os.Getenv("CI")); v == "true" || v == "1" {
			t.Fatalf("PostgreSQL is required under CI=true: %v", err)
		}
		t.Skipf("PostgreSQL not available, skipping (set CI=true to make this a failure): %v", err)
	}
	t.Cleanup(func() { c.Stop() })
	return c
}

func TestReapOrphans(t *testing.T) {
	live := start(t)
	orphan := start(t)
	// Pretend the orphan's owner died: a pid that cannot exist.
	if err := os.WriteFile(orphan.Dir+"/"+ownerFile, []byte("999999999"), 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := start(t)
	if _, err := os.Stat(orphan.Dir); !os.IsNotExist(err) {
		t.Errorf("orphan cluster %s was not removed", orphan.Dir)
	}
	for _, c := range []*Cluster{live, fresh} {
		if _, err := os.Stat(c.Dir); err != nil {
			t.Errorf("a live cluster's directory %s is gone: %v", c.Dir, err)
		}
	}
}
