package history

import (
	"testing"
	"time"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/report"
)

func TestParseSettingFix(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want settingFix
		ok   bool
	}{
		{"ALTER ROLE app SET work_mem = '64MB'", settingFix{"app", "work_mem", "64MB"}, true},
		{`ALTER ROLE "App-1" IN DATABASE "shop" SET work_mem TO '8MB';`, settingFix{"App-1", "work_mem", "8MB"}, true},
		{`ALTER ROLE "a""b" SET jit = off`, settingFix{`a"b`, "jit", "off"}, true},
		{"ALTER USER App SET JIT = off", settingFix{"app", "jit", "off"}, true},
		{"-- a comment line\nALTER SYSTEM SET idle_session_timeout = '10min'", settingFix{"", "idle_session_timeout", "10min"}, true},
		{"ALTER SYSTEM SET max_parallel_workers = 8", settingFix{"", "max_parallel_workers", "8"}, true},
		{"SET work_mem = '64MB'", settingFix{}, false}, // a session's: nothing a snapshot can see
		{"SELECT pg_reload_conf()", settingFix{}, false},
		{"ALTER TABLE t ALTER COLUMN c SET STATISTICS 1000", settingFix{}, false},
	} {
		got, ok := parseSettingFix(c.sql)
		if ok != c.ok || got != c.want {
			t.Errorf("%q: %+v %v, want %+v %v", c.sql, got, ok, c.want, c.ok)
		}
	}
}

func TestNormalSettingAndApplied(t *testing.T) {
	for _, c := range []struct{ v, unit, want string }{
		{"64kB", "kB", "64"}, {"8MB", "kB", "8192"}, {"8192", "kB", "8192"}, {"1GB", "", "1.048576e+06"},
		{"16384", "8kB", "131072"}, {"10min", "ms", "600000"}, {"600000", "ms", "600000"}, {"30s", "ms", "30000"},
		{"off", "", "off"}, {"False", "", "off"}, {"on", "", "on"}, {"2", "", "2"}, {"abc", "", "abc"},
	} {
		if got := normalSetting(c.v, c.unit); got != c.want {
			t.Errorf("normalSetting(%q, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
	mem := settingFix{"app", "work_mem", "64MB"}
	for _, c := range []struct {
		before, after string
		want          bool
	}{
		{"4096", "65536", true},   // 4MB → 64MB as proposed
		{"4096", "131072", true},  // past it
		{"4096", "16384", false},  // only part of the way
		{"4096", "2048", false},   // the other way
		{"65536", "65536", false}, // already so before
	} {
		if got := mem.applied(c.before, c.after, "kB"); got != c.want {
			t.Errorf("work_mem %s → %s: applied %v, want %v", c.before, c.after, got, c.want)
		}
	}
	jit := settingFix{"app", "jit", "off"}
	if !jit.applied("on", "off", "") || jit.applied("off", "off", "") || jit.applied("off", "on", "") {
		t.Error("jit = off: applied wrongly")
	}
}

// TestAdviceSettingEffect: an ALTER ROLE … SET work_mem an earlier report
// proposed, now the role's setting, is linked to the finding's statement
// with its mean and temporary blocks before and after; a setting that did
// not move, moved the other way, or that the snapshot could not read is not.
func TestAdviceSettingEffect(t *testing.T) {
	th := advisor.DefaultOptions().Report
	q := stmt(1, "SELECT row_number() OVER (ORDER BY pad) FROM t", 100, 30, 2)
	q.User = "app"
	q.TempBlksWritten, q.TempBlksRead = 400, 400 // 8 per call
	roles := func(s *pgstat.Snapshot, workMem string) *pgstat.Snapshot {
		s.Timings = map[string]float64{pgstat.PhaseRoles: 1}
		s.Settings = map[string]string{"work_mem": "4096", "jit": "on"}
		s.SettingUnits = map[string]string{"work_mem": "kB"}
		if workMem != "" {
			s.RoleSettings = map[string]map[string]string{"app": {"work_mem": workMem}}
		}
		return s
	}
	prev := roles(snapshotAt(t0, q), "64kB")
	f := advisor.Finding{Rule: "sort-spill", Severity: advisor.SeverityWarning, QueryID: "1", Fingerprint: "bb", Objects: []string{"public.t"},
		Fix: &advisor.Fix{SQL: []string{"ALTER ROLE app SET work_mem = '8MB'"}}}
	jitF := advisor.Finding{Rule: "jit-dominates", Severity: advisor.SeverityWarning, QueryID: "1", Fingerprint: "bb", Objects: []string{},
		Fix: &advisor.Fix{SQL: []string{"ALTER ROLE app SET jit = off"}}}
	base := Compare("shop", prev, &report.Report{Findings: []advisor.Finding{f, jitF}}, nil, th)
	after := grow(q, 100, 10, 1) // no temporary blocks in the interval
	cur := roles(snapshotAt(t0.Add(time.Hour), after), "8MB")
	r := Compare("shop", cur, &report.Report{Findings: []advisor.Finding{f, jitF}}, &Previous{Snapshot: prev, Report: base}, th)
	if len(r.AdviceEffects) != 1 {
		t.Fatalf("effects %+v, want the work_mem one (jit did not change)", r.AdviceEffects)
	}
	e := r.AdviceEffects[0]
	if e.Applied != "set" || e.Setting != "work_mem" || e.Role != "app" || e.ValueBefore != "64kB" || e.ValueAfter != "8MB" || e.Index != "" ||
		len(e.Statements) != 1 || e.Statements[0] != "1" || *e.MeanMSBefore != 30 || *e.MeanMSAfter != 10 || *e.TempBlksBefore != 8 || *e.TempBlksAfter != 0 {
		t.Errorf("effect %+v", e)
	}
	if got := e.Change(); got != "work_mem 64kB → 8MB for role app" {
		t.Errorf("Change() = %q", got)
	}
	noNegative(t, r)
	// The audit still reports the spill (its cumulative temp_blks_written),
	// but the fix is in effect and the interval has no temporary block.
	status := func(r *Report, rule string) string {
		for _, f := range r.Findings {
			if f.Rule == rule {
				return f.Status
			}
		}
		return ""
	}
	if s := status(r, "sort-spill"); s != StatusAwaitingReset {
		t.Errorf("sort-spill is %q, want %s", s, StatusAwaitingReset)
	}
	if s := status(r, "jit-dominates"); s != StatusPersisting {
		t.Errorf("jit-dominates (no effect) is %q, want persisting", s)
	}
	if r.Summary.Findings[StatusAwaitingReset] != 1 || r.Summary.Findings[StatusPersisting] != 1 {
		t.Errorf("summary %v", r.Summary.Findings)
	}
	// Next run: no effect any more (the setting was already so), the status
	// carries over while the interval stays clean, even without a call...
	cur3 := roles(snapshotAt(t0.Add(2*time.Hour), after), "8MB")
	r3 := Compare("shop", cur3, &report.Report{Findings: []advisor.Finding{f, jitF}}, &Previous{Snapshot: cur, Report: r}, th)
	if s := status(r3, "sort-spill"); len(r3.AdviceEffects) != 0 || s != StatusAwaitingReset {
		t.Errorf("run 3: sort-spill %q, effects %+v", s, r3.AdviceEffects)
	}
	// ...and is persisting again once the statement spills again.
	dirty := after
	dirty.Calls += 10
	dirty.TotalExecTime += 100
	dirty.TempBlksWritten += 50
	cur4 := roles(snapshotAt(t0.Add(3*time.Hour), dirty), "8MB")
	r4 := Compare("shop", cur4, &report.Report{Findings: []advisor.Finding{f, jitF}}, &Previous{Snapshot: cur3, Report: r3}, th)
	if s := status(r4, "sort-spill"); s != StatusPersisting {
		t.Errorf("run 4 (temporary blocks again): sort-spill %q, want persisting", s)
	}
	// Once the audit stops reporting it (statistics reset): fixed.
	r5 := Compare("shop", cur3, &report.Report{Findings: []advisor.Finding{jitF}}, &Previous{Snapshot: cur, Report: r}, th)
	if s := status(r5, "sort-spill"); s != StatusFixed {
		t.Errorf("gone from the audit: sort-spill %q, want fixed", s)
	}
	// Lowered instead, or role settings not read this time: no effect.
	for name, c := range map[string]*pgstat.Snapshot{
		"lowered": roles(snapshotAt(t0.Add(time.Hour), after), "32kB"),
		"unread": func() *pgstat.Snapshot {
			s := roles(snapshotAt(t0.Add(time.Hour), after), "8MB")
			s.Timings = nil
			return s
		}(),
		"same":     roles(snapshotAt(t0.Add(time.Hour), after), "64kB"),
		"no entry": roles(snapshotAt(t0.Add(time.Hour), after), ""), // the role's setting removed: the server's 4MB, less than proposed
	} {
		if r := Compare("shop", c, &report.Report{}, &Previous{Snapshot: prev, Report: base}, th); len(r.AdviceEffects) != 0 {
			t.Errorf("%s: effects %+v", name, r.AdviceEffects)
		}
	}
	// A server-wide ALTER SYSTEM SET, read from pg_settings with its unit.
	sys := advisor.Finding{Rule: "pool-exhaustion", Severity: advisor.SeverityWarning, Objects: []string{},
		Fix: &advisor.Fix{SQL: []string{"ALTER SYSTEM SET idle_in_transaction_session_timeout = '60s'", "SELECT pg_reload_conf()"}}}
	p2 := snapshotAt(t0)
	p2.Settings, p2.SettingUnits = map[string]string{"idle_in_transaction_session_timeout": "0"}, map[string]string{"idle_in_transaction_session_timeout": "ms"}
	b2 := Compare("shop", p2, &report.Report{Findings: []advisor.Finding{sys}}, nil, th)
	c2 := snapshotAt(t0.Add(time.Hour))
	c2.Settings, c2.SettingUnits = map[string]string{"idle_in_transaction_session_timeout": "60000"}, p2.SettingUnits
	r2 := Compare("shop", c2, &report.Report{}, &Previous{Snapshot: p2, Report: b2}, th)
	if len(r2.AdviceEffects) != 1 || r2.AdviceEffects[0].Role != "" || r2.AdviceEffects[0].ValueAfter != "60000ms" || r2.AdviceEffects[0].Change() != "idle_in_transaction_session_timeout 0ms → 60000ms server-wide" {
		t.Errorf("ALTER SYSTEM effect: %+v", r2.AdviceEffects)
	}
}
