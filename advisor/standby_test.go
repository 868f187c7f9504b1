package advisor

import (
	"strings"
	"testing"
)

func TestMarkStandbyFixes(t *testing.T) {
	for _, c := range []struct {
		name  string
		fix   *Fix
		runOn string
		says  string
	}{
		{"create index", &Fix{Summary: "Create an index", SQL: []string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON s.t (a)"}}, RunOnPrimary, "run on the primary"},
		{"alter role", &Fix{Summary: "Raise work_mem", SQL: []string{"ALTER ROLE app SET work_mem = '64MB'"}}, RunOnPrimary, "run on the primary"},
		{"analyze", &Fix{Summary: "Analyze", SQL: []string{"ANALYZE s.t"}}, RunOnPrimary, "run on the primary"},
		{"extension then index", &Fix{Summary: "Trigram", SQL: []string{"CREATE EXTENSION IF NOT EXISTS pg_trgm", "CREATE INDEX ON t USING gin (a gin_trgm_ops)"}}, RunOnPrimary, "run on the primary"},
		{"alter system and reload", &Fix{Summary: "Time out idle transactions", SQL: []string{"ALTER SYSTEM SET idle_in_transaction_session_timeout = '60s'", "SELECT pg_reload_conf()"}}, RunOnStandby, "run on this standby"},
		{"session set", &Fix{Summary: "More memory", SQL: []string{"SET work_mem = '64MB'"}}, RunOnStandby, "run on this standby"},
		{"alter system then create", &Fix{Summary: "Mixed", SQL: []string{"ALTER SYSTEM SET jit = off", "CREATE INDEX ON t (a)"}}, RunOnPrimary, "run on the primary"},
		{"no sql", &Fix{Summary: "Rewrite the query", Advisory: true}, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := c.fix.Summary
			// Two findings sharing one Fix must each be marked once.
			fs := []Finding{{Fix: c.fix}, {Fix: c.fix}, {}}
			MarkStandbyFixes(fs)
			for i, f := range fs[:2] {
				if f.Fix.RunOn != c.runOn {
					t.Errorf("finding %d: run_on %q, want %q", i, f.Fix.RunOn, c.runOn)
				}
				if c.says == "" && f.Fix.Summary != before {
					t.Errorf("finding %d: summary changed to %q", i, f.Fix.Summary)
				}
				if c.says != "" && strings.Count(f.Fix.Summary, c.says) != 1 {
					t.Errorf("finding %d: summary %q does not say %q once", i, f.Fix.Summary, c.says)
				}
			}
			if c.fix.Summary != before || c.fix.RunOn != "" {
				t.Errorf("the rule's own Fix was changed: %+v", c.fix)
			}
			if fs[2].Fix != nil {
				t.Errorf("a finding without a fix got one")
			}
		})
	}
}
