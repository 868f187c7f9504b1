package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/audit"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/report"
	"github.com/pgadvisor/pgadvisor/whatif"
)

// Exit codes.
const (
	exitClean    = 0 // no finding at or above --fail-on
	exitFindings = 1 // findings at or above --fail-on
	exitUsage    = 2 // usage or configuration error
	exitFailure  = 3 // runtime or database failure
)

// exitError carries an exit code through urfave/cli.
type exitError struct {
	code  int
	err   error
	usage string // a usage line printed after the message (flag errors)
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

func failure(err error) error { return &exitError{code: exitFailure, err: err} }

// run is the whole program behind main, testable end to end.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	err := app.RunContext(ctx, args)
	if err == nil {
		return exitClean
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.code != exitFindings {
			fmt.Fprintf(stderr, "pgadvisor: %v\n", ee.err)
		}
		if ee.usage != "" {
			fmt.Fprintln(stderr, ee.usage)
		}
		return ee.code
	}
	// Errors from urfave/cli itself are flag and argument errors.
	fmt.Fprintf(stderr, "pgadvisor: %v\n", err)
	return exitUsage
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "pgadvisor",
		Usage:   "find why a PostgreSQL-backed API is slow, and what to change",
		Version: audit.Version,
		Description: `pgadvisor reads pg_stat_statements, table and index statistics and pg_stat_activity,
explains the heaviest statements (EXPLAIN ANALYZE only where provably read-only), and
reports ranked findings, each with its evidence and the SQL that fixes it.
It never writes to the audited database unless a flag says so.`,
		Reader:          stdin,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError:    onUsageError,
		Flags:           []cli.Flag{configFlag()},
		Commands: []*cli.Command{
			auditCommand(),
			reportCommand(),
			explainCommand(),
			reviewCommand(),
			demoCommand(),
			rulesCommand(),
			configCommand(),
			{
				Name:  "version",
				Usage: "print the version",
				Action: func(c *cli.Context) error {
					fmt.Fprintf(c.App.Writer, "pgadvisor %s (%s, %s/%s)\n", audit.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
					return nil
				},
			},
		},
	}
	// Without their own handler, commands print the whole help on a flag error.
	for _, cmd := range app.Commands {
		cmd.OnUsageError = onUsageError
	}
	return app
}

// outputFlags are shared by the commands that print a report.
func outputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "output format: " + strings.Join(report.Formats(), ", ")},
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the report to `FILE` instead of standard output"},
		&cli.StringFlag{Name: "fail-on", Value: "never", Usage: "exit 1 when a finding has this severity or worse: never, notice, warning, error"},
	}
}

func checkOutputFlags(c *cli.Context) error {
	if _, ok := report.Printers[c.String("format")]; !ok {
		return usageErr("unknown --format %q: use one of %s", c.String("format"), strings.Join(report.Formats(), ", "))
	}
	switch c.String("fail-on") {
	case "never", "notice", "warning", "error":
	default:
		return usageErr("unknown --fail-on %q: use never, notice, warning or error", c.String("fail-on"))
	}
	return nil
}

// emit prints the report in the chosen format and returns the exit status
// --fail-on asks for.
func emit(c *cli.Context, r *report.Report) error {
	print := report.Printers[c.String("format")]
	path := c.String("output")
	if c.String("format") == "table" && path == "" && colourWanted(c.App.Writer) {
		print = report.TableWith(report.TableOptions{Colour: true})
	}
	if path != "" {
		if err := writeFileAtomic(path, func(w io.Writer) error { return print(w, r) }); err != nil {
			return failure(fmt.Errorf("write report: %w", err))
		}
	} else if err := print(c.App.Writer, r); err != nil {
		return failure(err)
	}
	if failOn := advisor.Severity(c.String("fail-on")); failOn.Rank() > 0 {
		for _, f := range r.Findings {
			if f.Severity.Rank() >= failOn.Rank() {
				return &exitError{code: exitFindings}
			}
		}
	}
	return nil
}

// writeFileAtomic writes through a temporary file in the same directory, so a
// failure never leaves a half-written report or snapshot behind.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func saveSnapshot(path string, snap *pgstat.Snapshot) error {
	if err := writeFileAtomic(path, snap.Write); err != nil {
		return fmt.Errorf("save snapshot %s: %w", path, err)
	}
	return nil
}

func loadSnapshot(path string) (*pgstat.Snapshot, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErr("read snapshot: %v", err)
	}
	if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
		// A snapshot of a report history (DIR/<target>/….snapshot.json.gz).
		if data, err = gunzip(data); err != nil {
			return nil, usageErr("snapshot %s: %v", path, err)
		}
	}
	snap, err := pgstat.Read(data)
	if err == nil {
		err = whatif.ValidateRecorded(snap)
	}
	if err != nil {
		return nil, usageErr("snapshot %s: %v", path, err)
	}
	return snap, nil
}

// gunzip decompresses a gzip file's contents, at most maxSnapshotBytes.
func gunzip(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxSnapshotBytes+1))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	if len(out) > maxSnapshotBytes {
		return nil, fmt.Errorf("gunzip: more than %d MB uncompressed", maxSnapshotBytes>>20)
	}
	return out, nil
}

// maxSnapshotBytes bounds a decompressed snapshot (a 5,000-statement one is
// a few MB).
const maxSnapshotBytes = 1 << 30
