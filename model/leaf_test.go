package model

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLeaves: model and whatif/record stay leaves, so that every command
// can read statements and pgstat can hold the what-if record without an
// import cycle.
func TestLeaves(t *testing.T) {
	const module = "github.com/pgadvisor/pgadvisor/"
	for _, c := range []struct {
		dir       string
		forbidden []string
	}{
		{".", []string{"advisor", "audit", "whatif", "report", "cmd/pgadvisor"}},
		{"../whatif/record", []string{"pgstat", "whatif", "model", "advisor", "audit", "report"}},
	} {
		out, err := exec.Command("go", "list", "-deps", c.dir).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", c.dir, err)
		}
		deps := map[string]bool{}
		for _, pkg := range strings.Fields(string(out)) {
			deps[strings.TrimPrefix(pkg, module)] = true
		}
		if len(deps) < 5 {
			t.Fatalf("go list -deps %s listed only %v", c.dir, deps)
		}
		for _, f := range c.forbidden {
			if deps[f] {
				t.Errorf("%s imports %s (directly or not)", c.dir, f)
			}
		}
	}
}
