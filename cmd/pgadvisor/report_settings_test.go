package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/pgadvisor/pgadvisor/history"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
)

// sqlSpill sorts 60,000 rows by a text column: it fits in pgadvisor's
// work_mem (4MB) but spills to disk in the sessions of a role whose
// work_mem is 64kB.
const sqlSpill = "SELECT max(r) FROM (SELECT row_number() OVER (ORDER BY pad) AS r FROM public.spill) s"

// TestReportSettingEffect: a role's sessions sort on disk (work_mem 64kB);
// run 1 reports the spill with ALTER ROLE … SET work_mem as its fix; the
// test runs that fix as printed and the same statement again in new
// sessions of the role; run 2 links the setting, now in effect, to the
// statement: the values before and after, its mean time and temporary
// blocks per call in the two intervals, no temporary block after; the
// finding the audit still reports from its cumulative counters is
// fixed-awaiting-reset.
func TestReportSettingEffect(t *testing.T) {
	dsn := pgtest.DB(t)
	role := fmt.Sprintf("report_app_%d", os.Getpid())
	execSQL(t, pgtest.AdminDSN(t), "DROP ROLE IF EXISTS "+role, "CREATE ROLE "+role+" LOGIN")
	t.Cleanup(func() {
		ctx := context.Background()
		if conn, err := pgx.Connect(ctx, dsn); err == nil {
			_, _ = conn.Exec(ctx, "DROP OWNED BY "+role)
			conn.Close(ctx)
		}
		if conn, err := pgx.Connect(ctx, pgtest.AdminDSN(t)); err == nil {
			_, _ = conn.Exec(ctx, "DROP ROLE IF EXISTS "+role)
			conn.Close(ctx)
		}
	})
	execSQL(t, dsn,
		"CREATE TABLE public.spill (id int, pad text)",
		"INSERT INTO public.spill SELECT g, md5(g::text) FROM generate_series(1, 60000) g",
		"ANALYZE public.spill",
		"GRANT SELECT ON public.spill TO "+role,
		"ALTER ROLE "+role+" SET work_mem = '64kB'")
	const calls = 15
	work := func() {
		t.Helper()
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, withUser(dsn, role, "")) // a new session: the role's settings now
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		for i := 0; i < calls; i++ {
			if _, err := conn.Exec(ctx, sqlSpill); err != nil {
				t.Fatal(err)
			}
		}
	}
	work()
	dir := t.TempDir()
	hist := filepath.Join(dir, "history")
	runReport := func(n int) *history.Report {
		t.Helper()
		out := filepath.Join(dir, fmt.Sprintf("run%d.json", n))
		code, _, stderr := runCLI(t, "report", "--dsn", dsn, "--history", hist, "--target", "spill", "--format", "json", "--output", out, "--sample-window", "0")
		if code != exitClean && code != exitFindings {
			t.Fatalf("run %d: exit %d: %s", n, code, stderr)
		}
		return readJSON[history.Report](t, out)
	}
	r1 := runReport(1)
	var fix string
	var finding history.FindingStatus
	for _, f := range r1.Findings {
		if f.Rule == "sort-spill" && f.Fix != nil && strings.Contains(f.Query, "row_number()") {
			for _, sql := range f.Fix.SQL {
				if strings.HasPrefix(sql, "ALTER ROLE "+role+" SET work_mem = ") {
					fix, finding = sql, f
				}
			}
		}
	}
	if fix == "" {
		t.Fatalf("run 1 proposes no ALTER ROLE %s SET work_mem for the spilling sort: %+v", role, r1.Findings)
	}
	spill := statementOf(r1, "row_number()")
	if spill == nil || spill.TempBlks == 0 || spill.Calls != calls {
		t.Fatalf("run 1: the spilling statement %+v, want %d calls with temporary blocks", spill, calls)
	}

	execSQL(t, dsn, fix) // the fix, as printed
	work()
	r2 := runReport(2)
	var effect *history.AdviceEffect
	for i, e := range r2.AdviceEffects {
		if e.Applied == "set" {
			effect = &r2.AdviceEffects[i]
		}
	}
	if effect == nil {
		t.Fatalf("run 2: no setting effect after %q: %+v", fix, r2.AdviceEffects)
	}
	proposed := strings.Trim(strings.TrimPrefix(fix, "ALTER ROLE "+role+" SET work_mem = "), "'")
	after := statementOf(r2, "row_number()")
	if effect.Setting != "work_mem" || effect.Role != role || effect.ValueBefore != "64kB" || effect.ValueAfter != proposed ||
		effect.Fix != fix || effect.FindingID != finding.ID || effect.Rule != "sort-spill" || effect.Index != "" {
		t.Errorf("effect %+v, want work_mem 64kB → %s for %s from finding %s", effect, proposed, role, finding.ID)
	}
	if len(effect.Statements) != 1 || effect.Statements[0] != spill.QueryID || after == nil || after.Calls != calls {
		t.Fatalf("effect statements %v, want [%s]; statement in run 2: %+v", effect.Statements, spill.QueryID, after)
	}
	if effect.TempBlksBefore == nil || *effect.TempBlksBefore != float64(spill.TempBlks)/calls ||
		effect.TempBlksAfter == nil || *effect.TempBlksAfter != 0 || after.TempBlks != 0 {
		t.Errorf("temporary blocks per call %v → %v (run 1 %d, run 2 interval %d), want the spill before and none after",
			deref(effect.TempBlksBefore), deref(effect.TempBlksAfter), spill.TempBlks, after.TempBlks)
	}
	if effect.MeanMSBefore == nil || effect.MeanMSAfter == nil || *effect.MeanMSBefore <= 0 || *effect.MeanMSAfter <= 0 {
		t.Errorf("mean before %v, after %v: want both measured", deref(effect.MeanMSBefore), deref(effect.MeanMSAfter))
	}
	// The audit still reports the spill: the measured plan ran with
	// pgadvisor's work_mem, and pg_stat_statements' temp_blks_written since
	// the reset is not zero (the sessions before the fix). The interval has
	// no temporary block and the fix is in effect: fixed, awaiting a reset.
	var still *history.FindingStatus
	for i, f := range r2.Findings {
		if f.ID == finding.ID {
			still = &r2.Findings[i]
		}
	}
	switch {
	case still == nil:
		t.Logf("run 2: the audit no longer reports the spill") // a rule that reads the interval would do this
	case still.Status != history.StatusAwaitingReset || !still.FirstSeen.Equal(finding.FirstSeen):
		t.Errorf("run 2: the spill finding is %s (first seen %s), want %s since %s", still.Status, still.FirstSeen, history.StatusAwaitingReset, finding.FirstSeen)
	}
	// The printers show it.
	for _, format := range []string{"table", "markdown", "html"} {
		var b strings.Builder
		if err := history.Printers[format](&b, r2); err != nil {
			t.Fatal(err)
		}
		if want := "work_mem 64kB → " + proposed + " for role " + role; !strings.Contains(b.String(), want) {
			t.Errorf("%s output does not say %q", format, want)
		}
	}
}

func statementOf(r *history.Report, substr string) *history.StatementDelta {
	for i, d := range r.Statements {
		if strings.Contains(d.Query, substr) {
			return &r.Statements[i]
		}
	}
	return nil
}

func deref(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}
