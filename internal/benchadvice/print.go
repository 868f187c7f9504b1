package benchadvice

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/pgadvisor/pgadvisor/internal/num"
)

// PrintOptions tune Print.
type PrintOptions struct {
	// Statements is how many of each arm's heaviest statements to list (0: none).
	Statements int
}

// Print writes the result: per fixture a table of the arms (median server
// time, its cut against the baseline, median wall time, index count, total
// size), the indexes of each set, and a PASS/FAIL line per criterion.
func Print(w io.Writer, r *Result, opts PrintOptions) error {
	ew := &errWriter{w: w}
	ew.printf("pgadvisor advice benchmark, PostgreSQL %s, %s\n", r.Server, r.StartedAt.Format("2006-01-02 15:04 UTC"))
	ew.printf("time = median over the rounds of the workload's server time (pg_stat_statements total_exec_time + total_plan_time, top-level statements);\n")
	ew.printf("buffers = median of the blocks its statements touched (hit, read, dirtied, written; not inflated by the machine's load)\n")
	for _, f := range r.Fixtures {
		ew.printf("\n== %s", f.Fixture)
		if f.Scale > 0 {
			ew.printf(" (scale %g)", f.Scale)
		}
		unit := "requests"
		if f.Fixture == "rental" {
			unit = "passes of the 1,154-statement workload"
		}
		ew.printf(": %d rounds after %d warm-up, %d %s per run, arms alternating\n", f.Rounds, f.Warmup, f.Requests, unit)
		tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "arm\tmedian ms\tcut\twall ms\tbuffers\tindexes\tsize\tserver ms per round\t\n")
		for _, a := range f.Arms {
			cut := "—"
			if a.Name != ArmBaseline {
				cut = fmt.Sprintf("%.1f%%", a.CutPct)
			}
			fmt.Fprintf(tw, "%s\t%.1f\t%s\t%.1f\t%s\t%d\t%s\t%s\t\n", a.Name, a.MedianServerMS, cut, a.MedianWallMS, num.Thousands(int64(a.MedianBuffers)), len(a.Indexes), num.Bytes(float64(a.SizeBytes)), rounds(a.ServerMS))
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("write benchmark table: %w", err)
		}
		for _, a := range f.Arms {
			if a.Name == ArmBaseline {
				continue
			}
			ew.printf("%s indexes:\n", a.Name)
			for _, ix := range a.Indexes {
				parts := ""
				if ix.Partitions > 0 {
					parts = fmt.Sprintf(", %d partitions", ix.Partitions)
				}
				ew.printf("  %9s  %s%s\n", num.Bytes(float64(ix.SizeBytes)), ix.Definition, parts)
			}
		}
		if opts.Statements > 0 {
			for _, fix := range f.PgadvisorFixes {
				est := ""
				if fix.EstimatedBytes > 0 {
					est = ", estimated " + num.Bytes(float64(fix.EstimatedBytes))
				}
				ew.printf("pgadvisor %s (%s%s): %s\n", fix.Label, strings.Join(fix.Rules, ", "), est, oneLine(strings.Join(fix.SQL, "; ")))
			}
		}
		for _, sql := range f.NotApplied {
			ew.printf("pgadvisor fix not part of its index set (not run): %s\n", oneLine(sql))
		}
		if opts.Statements > 0 {
			for _, a := range f.Arms {
				ew.printf("%s: heaviest statements (mean per run)\n", a.Name)
				for i, st := range a.Statements {
					if i >= opts.Statements {
						break
					}
					ew.printf("  %9.1f ms %6.0f calls  %s\n", st.MS, st.Calls, shorten(oneLine(st.Query), 110))
				}
			}
		}
		pg, ex := f.arm(ArmPgadvisor), f.arm(ArmExpert)
		tol := ""
		if f.Tolerance > 0 {
			tol = fmt.Sprintf(" + %g%% of the baseline's %.1f ms (noise tolerance)", 100*f.Tolerance, f.arm(ArmBaseline).MedianServerMS)
		}
		ew.printf("%s time: pgadvisor %.1f ms %s expert %.1f ms%s; cut %.1f%% against %.1f%%; ratio %.2f, per round %s\n",
			verdict(f.TimePass), pg.MedianServerMS, relation(f.TimePass), ex.MedianServerMS, tol, pg.CutPct, ex.CutPct, f.TimeRatio, ratios(f.RoundRatios))
		if ex.MedianBuffers > 0 {
			ew.printf("blocks touched: pgadvisor %s, expert %s (ratio %.2f)\n", num.Thousands(int64(pg.MedianBuffers)), num.Thousands(int64(ex.MedianBuffers)), pg.MedianBuffers/ex.MedianBuffers)
		}
		ew.printf("%s size: pgadvisor %s %s expert %s\n", verdict(f.SizePass), num.Bytes(float64(pg.SizeBytes)), relation(f.SizePass), num.Bytes(float64(ex.SizeBytes)))
	}
	return ew.err
}

// Passed reports whether every fixture passed both criteria.
func (r *Result) Passed() bool {
	for _, f := range r.Fixtures {
		if !f.TimePass || !f.SizePass {
			return false
		}
	}
	return len(r.Fixtures) > 0
}

func (f FixtureResult) arm(name string) Arm {
	for _, a := range f.Arms {
		if a.Name == name {
			return a
		}
	}
	return Arm{Name: name}
}

func verdict(pass bool) string {
	if pass {
		return "PASS"
	}
	return "FAIL"
}

func relation(pass bool) string {
	if pass {
		return "≤"
	}
	return ">"
}

func ratios(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, " ")
}

func rounds(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(parts, " ")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func shorten(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
