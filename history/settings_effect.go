package history

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/pgadvisor/pgadvisor/pgstat"
)

// The setting fixes the rules print: ALTER ROLE r [IN DATABASE d] SET name =
// value (sort-spill, hash-spill, jit-dominates) and ALTER SYSTEM SET name =
// value (pool-exhaustion, parallel-workers), maybe after a comment line.
var (
	alterRoleSet   = regexp.MustCompile(`(?is)^\s*(?:--[^\n]*\n\s*)*ALTER\s+(?:ROLE|USER)\s+("(?:[^"]|"")+"|[\w$]+)(?:\s+IN\s+DATABASE\s+(?:"(?:[^"]|"")+"|[\w$]+))?\s+SET\s+([\w.]+)\s*(?:=|\s+TO)\s*(.+?)\s*;?\s*$`)
	alterSystemSet = regexp.MustCompile(`(?is)^\s*(?:--[^\n]*\n\s*)*ALTER\s+SYSTEM\s+SET\s+([\w.]+)\s*(?:=|\s+TO)\s*(.+?)\s*;?\s*$`)
)

// settingFix is a setting change a fix proposes.
type settingFix struct {
	role  string // "" for ALTER SYSTEM
	name  string // lower case
	value string // as proposed, without quotes
}

func parseSettingFix(sql string) (settingFix, bool) {
	if m := alterRoleSet.FindStringSubmatch(sql); m != nil {
		role := m[1]
		if strings.HasPrefix(role, `"`) {
			role = strings.ReplaceAll(role[1:len(role)-1], `""`, `"`)
		} else {
			role = strings.ToLower(role)
		}
		return settingFix{role: role, name: strings.ToLower(m[2]), value: unquoteValue(m[3])}, true
	}
	if m := alterSystemSet.FindStringSubmatch(sql); m != nil {
		return settingFix{name: strings.ToLower(m[1]), value: unquoteValue(m[2])}, true
	}
	return settingFix{}, false
}

func unquoteValue(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		v = strings.ReplaceAll(v[1:len(v)-1], "''", "'")
	}
	return v
}

// in is what a snapshot says about the setting of fix: the role's value
// (ALTER ROLE … SET, as written) or, without one, the server's (pg_settings
// with its unit), and whether the snapshot knows it at all.
func (fix settingFix) in(s *pgstat.Snapshot) (shown, normal string, ok bool) {
	unit := s.SettingUnits[fix.name]
	if fix.role != "" {
		if !roleSettingsRead(s) {
			return "", "", false
		}
		if v, found := s.RoleSettings[fix.role][fix.name]; found {
			return v, normalSetting(v, unit), true
		}
	}
	v, found := s.Settings[fix.name]
	if !found {
		return "", "", false
	}
	shown = v
	if _, err := strconv.ParseFloat(v, 64); err == nil && unit != "" {
		shown = v + unit
		if unit == "8kB" {
			shown = v + " × 8kB"
		}
	}
	return shown, normalSetting(v, unit), true
}

// roleSettingsRead reports whether the snapshot read the roles' settings
// (so that a role without one has none), as the rules' check does.
func roleSettingsRead(s *pgstat.Snapshot) bool {
	if _, ok := s.Timings[pgstat.PhaseRoles]; !ok {
		return false
	}
	for _, p := range s.Problems {
		if p.Phase == pgstat.PhaseRoles {
			return false
		}
	}
	return true
}

// normalSetting is a setting value in a form equal values share: sizes in
// kB, durations in ms (a bare number is in unit, pg_settings' unit of the
// setting), booleans on or off, anything else lower case.
func normalSetting(v, unit string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	switch v {
	case "on", "true", "yes":
		return "on"
	case "off", "false", "no":
		return "off"
	}
	num := v
	if i := strings.IndexFunc(num, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.' || r == '-') }); i > 0 {
		num, unit = num[:i], strings.TrimSpace(v[i:])
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return v
	}
	factor := map[string]float64{
		"b": 1.0 / 1024, "kb": 1, "8kb": 8, "mb": 1024, "gb": 1024 * 1024, "tb": 1024 * 1024 * 1024,
		"us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000, "": 1,
	}[strings.ToLower(unit)]
	if factor == 0 {
		return v
	}
	return strconv.FormatFloat(f*factor, 'g', -1, 64)
}

// applied reports whether the setting moved from before to after as fix
// proposed: to the proposed value, or for a number past it in the same
// direction (a team that gives 128MB where 64MB was proposed applied the
// advice; one that lowers it did not).
func (fix settingFix) applied(before, after, unit string) bool {
	want := normalSetting(fix.value, unit)
	if before == after {
		return false
	}
	if after == want {
		return true
	}
	b, errB := strconv.ParseFloat(before, 64)
	a, errA := strconv.ParseFloat(after, 64)
	w, errW := strconv.ParseFloat(want, 64)
	if errB != nil || errA != nil || errW != nil || w == b {
		return false
	}
	return math.Signbit(w-b) == math.Signbit(a-b) && math.Abs(a-b) >= math.Abs(w-b)
}

// settingEffects are the setting fixes of the previous run's findings now
// in effect: the role's (or the server's) value changed as proposed between
// the two snapshots. Each is linked to its finding's statements.
func settingEffects(prev []FindingStatus, ps, cur *pgstat.Snapshot, link func(*AdviceEffect, []string)) []AdviceEffect {
	var out []AdviceEffect
	done := map[string]bool{}
	for _, f := range prev {
		if f.Fix == nil || f.Status == StatusFixed {
			continue
		}
		for _, sql := range f.Fix.SQL {
			fix, ok := parseSettingFix(sql)
			if !ok {
				continue
			}
			shownBefore, before, okB := fix.in(ps)
			shownAfter, after, okA := fix.in(cur)
			if !okB || !okA || !fix.applied(before, after, cur.SettingUnits[fix.name]) {
				continue
			}
			k := f.ID + "\x00" + fix.role + "\x00" + fix.name
			if done[k] {
				continue
			}
			done[k] = true
			e := AdviceEffect{Fix: sql, Applied: "set", FindingID: f.ID, Rule: f.Rule, Statements: []string{},
				Setting: fix.name, Role: fix.role, ValueBefore: shownBefore, ValueAfter: shownAfter}
			link(&e, findingStatements(f))
			out = append(out, e)
		}
	}
	return out
}

// findingStatements are the queryids a finding is about, its own first.
func findingStatements(f FindingStatus) []string {
	ids := append([]string{}, f.QueryIDs...)
	if f.QueryID != "" {
		ids = append([]string{f.QueryID}, ids...)
	}
	return ids
}
