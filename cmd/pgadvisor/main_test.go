package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// cli runs the program like a user would and returns exit code, stdout, stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"pgadvisor"}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"audit", "--format", "yaml", "--snapshot", "x.json"}, "unknown --format"},
		{[]string{"audit", "--fail-on", "sometimes"}, "unknown --fail-on"},
		{[]string{"audit", "--no-such-flag"}, "flag provided but not defined"},
		{[]string{"audit", "extra"}, "takes no arguments"},
		{[]string{"explain"}, "no statement"},
		{[]string{"rules", "no-such-rule"}, "unknown rule"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", c.args, code, exitUsage, stderr)
		}
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%v: stderr %q does not say %q", c.args, stderr, c.want)
		}
	}
}

func TestSnapshotFileErrors(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "notes.txt")
	os.WriteFile(notJSON, []byte("hello"), 0o644)
	otherJSON := filepath.Join(dir, "other.json")
	os.WriteFile(otherJSON, []byte(`{"findings": []}`), 0o644)
	for _, path := range []string{notJSON, otherJSON, filepath.Join(dir, "missing.json")} {
		code, _, stderr := runCLI(t, "audit", "--snapshot", path)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want %d", path, code, exitUsage)
		}
		if !strings.Contains(stderr, "snapshot") {
			t.Errorf("%s: stderr %q does not mention the snapshot", path, stderr)
		}
	}
}

func TestRulesCatalog(t *testing.T) {
	code, out, _ := runCLI(t, "rules")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, id := range []string{"seq-scan", "missing-index"} {
		if !strings.Contains(out, id) {
			t.Errorf("rules does not list %s", id)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if len([]rune(line)) > 100 {
			t.Errorf("rules line wider than 100 columns: %q", line)
		}
	}
	code, out, _ = runCLI(t, "rules", "--format", "json")
	var rules []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &rules) != nil || len(rules) < 2 {
		t.Errorf("rules --format json: exit %d, %d rules", code, len(rules))
	}
}

func TestConnectionFailures(t *testing.T) {
	admin := pgtest.AdminDSN(t)
	_ = admin
	sock := t.TempDir()
	for _, c := range []struct {
		name string
		dsn  string
		want string
	}{
		{"unreachable", "host=" + sock + " port=1 user=nobody password=s3cret dbname=x connect_timeout=2", ""},
		{"bad url", "postgres://nobody:s3cret@[::1", ""},
	} {
		code, _, stderr := runCLI(t, "audit", "--dsn", c.dsn, "--sample-window", "0")
		if code != exitFailure && code != exitUsage {
			t.Errorf("%s: exit %d, want %d", c.name, code, exitFailure)
		}
		if strings.Contains(stderr, "s3cret") {
			t.Errorf("%s: password leaked: %q", c.name, stderr)
		}
		if strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%s: want a one-line message, got %q", c.name, stderr)
		}
		if !strings.Contains(stderr, "fix") {
			t.Errorf("%s: message names no fix: %q", c.name, stderr)
		}
	}
}

var updateDocs = flag.Bool("update", false, "rewrite docs/rules.md from the rule catalog")

// TestRulesDoc keeps docs/rules.md (linked from the README) in step with the
// catalog: every rule, its documentation and thresholds.
func TestRulesDoc(t *testing.T) {
	code, out, stderr := runCLI(t, "rules", "--format", "markdown")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	path := filepath.Join("..", "..", "docs", "rules.md")
	if *updateDocs {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != out {
		t.Errorf("docs/rules.md is out of date: go test ./cmd/pgadvisor -run TestRulesDoc -update")
	}
	for _, r := range []string{"seq-scan", "missing-index", "n-plus-one", "pool-exhaustion"} {
		if !strings.Contains(out, "## "+r+"\n") {
			t.Errorf("rules doc has no section for %s", r)
		}
	}
}
