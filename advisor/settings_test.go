package advisor

import (
	"os"
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/pgstat"
)

func TestSettingFor(t *testing.T) {
	p := &Pass{Snapshot: &pgstat.Snapshot{
		Settings:     map[string]string{"work_mem": "4096", "jit": "on"},
		SettingUnits: map[string]string{"work_mem": "kB"},
		RoleSettings: map[string]map[string]string{"app": {"work_mem": "64kB"}, "Report": {"jit": "off"}},
	}}
	for _, c := range []struct {
		user, name, want string
		fromRole         bool
	}{
		{"app", "work_mem", "64kB", true},         // the role's own
		{"app", "jit", "on", false},               // the role has no jit: the server's
		{"Report", "jit", "off", true},            // names are exact, not folded
		{"report", "jit", "on", false},            // another role
		{"", "work_mem", "4096", false},           // unknown user: the server's
		{"app", "hash_mem_multiplier", "", false}, // neither
	} {
		got, fromRole := p.SettingFor(c.user, c.name)
		if got != c.want || fromRole != c.fromRole {
			t.Errorf("SettingFor(%q, %q) = %q, %v; want %q, %v", c.user, c.name, got, fromRole, c.want, c.fromRole)
		}
	}
}

func TestParseKB(t *testing.T) {
	for _, c := range []struct {
		v, unit string
		want    float64
		ok      bool
	}{
		{"4096", "kB", 4096, true}, // pg_settings
		{"64kB", "kB", 64, true},   // ALTER ROLE … SET work_mem = '64kB'
		{"16MB", "kB", 16384, true},
		{"1GB", "", 1048576, true},
		{"65536", "kB", 65536, true}, // ALTER ROLE … SET work_mem = 65536
		{"16384", "8kB", 131072, true},
		{"lots", "kB", 0, false},
		{"5PB", "kB", 0, false},
	} {
		got, ok := parseKB(c.v, c.unit)
		if got != c.want || ok != c.ok {
			t.Errorf("parseKB(%q, %q) = %g, %v; want %g, %v", c.v, c.unit, got, ok, c.want, c.ok)
		}
	}
}

// TestSpillUsesRoleWorkMem runs the spill rules on recorded cases with a
// role setting added for the statements' user: the message states the
// role's work_mem, the fix is ALTER ROLE, sized from the role's value.
func TestSpillUsesRoleWorkMem(t *testing.T) {
	for _, c := range []struct {
		dir, rule, roleValue string
		wantMessage          []string
		wantSQL              string
	}{
		// Estimated: pg_stat_statements' spill against the role's 64kB.
		{"sort-spill-estimated-temp-blocks", "sort-spill", "64kB",
			[]string{"work_mem 64 kB (set for role postgres with ALTER ROLE), not pgadvisor's"}, "ALTER ROLE postgres SET work_mem = '"},
		// Measured with pgadvisor's 1MB; the role runs with 512kB.
		{"sort-spill-external-merge", "sort-spill", "512kB",
			[]string{"measured with pgadvisor's work_mem 1 MB; role postgres runs with work_mem 512 kB"}, "ALTER ROLE postgres SET work_mem = '16MB'"},
		{"hash-spill-join-batches", "hash-spill", "512kB",
			[]string{"role postgres runs with work_mem 512 kB"}, "ALTER ROLE postgres SET work_mem = '"},
	} {
		t.Run(c.dir, func(t *testing.T) {
			data, err := os.ReadFile("testdata/" + c.dir + "/snapshot.json")
			if err != nil {
				t.Fatal(err)
			}
			snap, err := pgstat.Read(data)
			if err != nil {
				t.Fatal(err)
			}
			snap.RoleSettings = map[string]map[string]string{"postgres": {"work_mem": c.roleValue}}
			res := Run(snap, []*Rule{Lookup(c.rule)}, DefaultOptions())
			if len(res.Findings) == 0 {
				t.Fatal("no finding")
			}
			f := res.Findings[0]
			for _, w := range c.wantMessage {
				if !strings.Contains(f.Message, w) {
					t.Errorf("message %q lacks %q", f.Message, w)
				}
			}
			if f.Fix == nil || len(f.Fix.SQL) != 1 || !strings.HasPrefix(f.Fix.SQL[0], c.wantSQL) {
				t.Errorf("fix = %+v, want SQL %q…", f.Fix, c.wantSQL)
			}
			if f.Evidence["role_work_mem"] != c.roleValue {
				t.Errorf("evidence role_work_mem = %v, want %q", f.Evidence["role_work_mem"], c.roleValue)
			}
		})
	}
}
