package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// flagMention is a long flag written in a message: --name, --name=value.
// "-- " (an SQL comment) is no flag.
var flagMention = regexp.MustCompile(`(?:^|[^-\w])--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)`)

// definedFlags are the names (and aliases) of every flag of every command.
func definedFlags(t *testing.T) map[string][]string {
	t.Helper()
	app := newApp(strings.NewReader(""), io.Discard, io.Discard)
	defined := map[string][]string{"help": {"*"}, "version": {"*"}}
	var add func(prefix string, cmds []*cli.Command, flags []cli.Flag)
	add = func(prefix string, cmds []*cli.Command, flags []cli.Flag) {
		for _, f := range flags {
			for _, n := range f.Names() {
				defined[n] = append(defined[n], prefix)
			}
		}
		for _, c := range cmds {
			add(strings.TrimSpace(prefix+" "+c.Name), c.Subcommands, c.Flags)
		}
	}
	add("", app.Commands, app.Flags)
	return defined
}

// TestEveryHintNamesARealFlag collects every string literal of the
// program's source (messages, fixes, hints, rule docs, flag usages: every
// text pgadvisor can print) and checks that each --flag it mentions is a
// flag of the CLI. A hint that names a flag that does not exist sends the
// user nowhere (it once said --analyze).
func TestEveryHintNamesARealFlag(t *testing.T) {
	defined := definedFlags(t)
	if len(defined["dsn"]) == 0 || len(defined["snapshot"]) == 0 {
		t.Fatalf("flag collection is broken: %v", defined)
	}
	root := "../.."
	fset := token.NewFileSet()
	mentions, files := 0, 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			// internal/cluster and internal/pgtest start PostgreSQL: their strings are initdb, pg_ctl and pg_basebackup options.
			if rel != "." && strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || rel == filepath.Join("internal", "pgtest") || rel == filepath.Join("internal", "cluster") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Logf("skip %s: %v", rel, err) // someone's half-written file; the build catches it
			return nil
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, m := range flagMention.FindAllStringSubmatch(s, -1) {
				mentions++
				name := m[1]
				if len(defined[name]) == 0 {
					t.Errorf("%s: %q names --%s, which is no flag of pgadvisor", fset.Position(lit.Pos()), s, name)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 || mentions < 20 {
		t.Errorf("scanned %d files and %d flag mentions: the scan missed the source", files, mentions)
	}
	t.Logf("%d flag mentions in %d files", mentions, files)
}

// TestFlagMention: what counts as naming a flag.
func TestFlagMention(t *testing.T) {
	for in, want := range map[string]string{
		"raise --statement-timeout, or": "statement-timeout",
		"(--max-new-indexes)":           "max-new-indexes",
		"--thresholds=FILE":             "thresholds",
		"-- a blocker is idle":          "",
		"a--b":                          "",
		"---x":                          "",
	} {
		var got []string
		for _, m := range flagMention.FindAllStringSubmatch(in, -1) {
			got = append(got, m[1])
		}
		sort.Strings(got)
		if strings.Join(got, ",") != want {
			t.Errorf("%q: got %v, want %q", in, got, want)
		}
	}
}
