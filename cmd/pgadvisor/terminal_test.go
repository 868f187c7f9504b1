package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const auditUsageLine = "usage: pgadvisor audit [flags]; see pgadvisor audit --help"

// TestFlagErrors: a bad flag value names the expected form, then one usage
// line, on stderr; never the whole help; exit 2.
func TestFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args      []string
		want      string
		usageLine string
	}{
		{[]string{"audit", "--sample-window", "5"}, `invalid value "5" for --sample-window: use a duration such as 5s`, auditUsageLine},
		{[]string{"audit", "--timeout", "soon"}, `invalid value "soon" for --timeout: use a duration such as 5s`, auditUsageLine},
		{[]string{"audit", "--top", "many"}, `invalid value "many" for --top: use a whole number such as 20`, auditUsageLine},
		{[]string{"audit", "--min-calls", "1.5"}, `invalid value "1.5" for --min-calls: use a whole number such as 20`, auditUsageLine},
		{[]string{"audit", "--no-such-flag"}, "flag provided but not defined: -no-such-flag", auditUsageLine},
		{[]string{"audit", "--format"}, "flag needs an argument", auditUsageLine},
		{[]string{"explain", "--statement-timeout", "10"}, `invalid value "10" for --statement-timeout: use a duration such as 5s`,
			`usage: pgadvisor explain [flags] "SQL"; see pgadvisor explain --help`},
		{[]string{"--bogus"}, "flag provided but not defined", "usage: pgadvisor [flags]; see pgadvisor --help"},
	} {
		code, stdout, stderr := runCLI(t, c.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", c.args, code, exitUsage)
		}
		if stdout != "" {
			t.Errorf("%v: stdout is not empty (help?): %q", c.args, stdout)
		}
		lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
		if len(lines) != 2 || !strings.Contains(lines[0], c.want) || lines[1] != c.usageLine {
			t.Errorf("%v: stderr %q, want %q then %q", c.args, stderr, c.want, c.usageLine)
		}
	}
}

// TestRulesDidYouMean: an unknown rule id names the closest one when it is
// close enough to be a typo.
func TestRulesDidYouMean(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
		not  string
	}{
		{[]string{"audit", "--snapshot", recordedSnapshot, "--rules", "seq-scna"}, `--rules: unknown rule "seq-scna"; did you mean seq-scan?`, ""},
		{[]string{"audit", "--snapshot", recordedSnapshot, "--skip-rules", "seq-scan,missing-indx"}, `--skip-rules: unknown rule "missing-indx"; did you mean missing-index?`, ""},
		{[]string{"rules", "n-plus-on"}, `unknown rule "n-plus-on"; did you mean n-plus-one?`, ""},
		{[]string{"audit", "--snapshot", recordedSnapshot, "--rules", "zzzzzzzzzz"}, `unknown rule "zzzzzzzzzz"`, "did you mean"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", c.args, code, exitUsage)
		}
		if !strings.Contains(stderr, c.want) || (c.not != "" && strings.Contains(stderr, c.not)) {
			t.Errorf("%v: stderr %q, want %q", c.args, stderr, c.want)
		}
	}
}

func TestClosest(t *testing.T) {
	ids := []string{"seq-scan", "missing-index", "n-plus-one"}
	for in, want := range map[string]string{
		"seq-scan": "seq-scan", "seqscan": "seq-scan", "Seq-Scan": "seq-scan",
		"missing_index": "missing-index", "n+1": "", "": "", "pool": "",
	} {
		if got := closest(in, ids); got != want {
			t.Errorf("closest(%q) = %q, want %q", in, got, want)
		}
	}
}

// pretendTerminal makes isTerminal true for the duration of a test.
func pretendTerminal(t *testing.T) {
	saved := isTerminal
	isTerminal = func(io.Writer) bool { return true }
	t.Cleanup(func() { isTerminal = saved })
}

// TestTerminalOutput: colour for severities only on a terminal without
// NO_COLOR, never in a file or a pipe; no escapes and no progress on a
// stderr that is not a terminal.
func TestTerminalOutput(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name     string
		terminal bool
		noColor  string
		args     []string
		colour   bool
	}{
		{"piped", false, "", nil, false},
		{"piped json", false, "", []string{"--format", "json"}, false},
		{"terminal", true, "", nil, true},
		{"terminal NO_COLOR", true, "1", nil, false},
		{"terminal json", true, "", []string{"--format", "json"}, false},
		{"terminal markdown", true, "", []string{"--format", "markdown"}, false},
		{"terminal to a file", true, "", []string{"--output", filepath.Join(dir, "r.txt")}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.terminal {
				pretendTerminal(t)
			}
			t.Setenv("NO_COLOR", c.noColor)
			args := append([]string{"audit", "--snapshot", recordedSnapshot}, c.args...)
			code, stdout, stderr := runCLI(t, args...)
			if code != exitClean {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if out := filepath.Join(dir, "r.txt"); strings.Contains(strings.Join(c.args, " "), out) {
				data, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				stdout = string(data)
			}
			if got := strings.Contains(stdout, "\x1b["); got != c.colour {
				t.Errorf("ANSI escapes in the report: %v, want %v", got, c.colour)
			}
			if strings.Contains(stderr, "\x1b[") || strings.Contains(stderr, "\r") || strings.Contains(stderr, "pgadvisor: collecting") {
				t.Errorf("stderr has escapes or progress: %q", stderr)
			}
		})
	}
}

// TestTerminalProgress: the status line appears only after the delay, is
// overwritten in place and is cleared at the end.
func TestTerminalProgress(t *testing.T) {
	var quick bytes.Buffer
	p := newProgress(&quick, time.Hour)
	p.update("collect", 0, 0)
	p.update("explain", 0, 3)
	p.clear()
	if quick.Len() != 0 {
		t.Errorf("work shorter than the delay printed %q", quick.String())
	}

	var slow syncBuffer
	p = newProgress(&slow, 0)
	p.update("collect", 0, 0)
	deadline := time.Now().Add(5 * time.Second)
	for slow.String() == "" && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	p.update("explain", 1, 20)
	p.update("what-if", 0, 0)
	p.clear()
	p.update("verify", 0, 0) // after clear: nothing more
	out := slow.String()
	for _, want := range []string{"\rpgadvisor: collecting statistics…", "\rpgadvisor: explaining statement 2/20…", "\rpgadvisor: what-if"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "\n") || strings.Contains(out, "verify") {
		t.Errorf("progress %q: a new line, or drawn after clear", out)
	}
	last := out[strings.LastIndex(out[:len(out)-1], "\r"):]
	if strings.TrimSpace(last) != "" || !strings.HasSuffix(out, "\r") {
		t.Errorf("progress not cleared at the end: %q", last)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
