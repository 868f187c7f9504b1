package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestReleaseBinaryDoesNotLinkTesting: demo starts its cluster through
// internal/cluster, not the test helpers, so package testing (and its
// flags) stays out of the binary.
func TestReleaseBinaryDoesNotLinkTesting(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "testing" || strings.HasSuffix(pkg, "/internal/pgtest") {
			t.Errorf("the pgadvisor binary links %s", pkg)
		}
	}
}
