package advisor

import (
	"fmt"

	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// SettingFor returns the setting name as the statements of user run with it:
// the value ALTER ROLE … [IN DATABASE …] SET gives the role in this database
// (Snapshot.RoleSettings, as written there, e.g. "64kB"; fromRole is true),
// else the server's value (Snapshot.Settings, in its SettingUnits unit). The
// value is "" when the snapshot has neither.
func (p *Pass) SettingFor(user, name string) (value string, fromRole bool) {
	if user != "" {
		if v, ok := p.Snapshot.RoleSettings[user][name]; ok {
			return v, true
		}
	}
	return p.Snapshot.Settings[name], false
}

// roleSettingsCollected reports whether the snapshot read pg_db_role_setting
// (so that a role without a setting has none), rather than predating it or
// failing to.
func roleSettingsCollected(snap *pgstat.Snapshot) bool {
	if _, ok := snap.Timings[pgstat.PhaseRoles]; !ok {
		return false
	}
	for _, pr := range snap.Problems {
		if pr.Phase == pgstat.PhaseRoles {
			return false
		}
	}
	return true
}

// stmtWorkMem is the work_mem a statement runs with, beside the one its
// plan was measured with.
type stmtWorkMem struct {
	// KB is the statement's work_mem, kB: its role's when the role has one.
	KB float64
	// MeasuredKB is the snapshot's (pgadvisor's) work_mem, kB, which the
	// recorded plans ran with.
	MeasuredKB float64
	// Role is the statement's user when KB is that role's setting, else "".
	Role string
	// Value is the role's setting as written (e.g. "64kB"), when Role is set.
	Value string
	// NoRoleSetting is set when the role is known to have no work_mem of its own.
	NoRoleSetting bool
}

// workMemFor is the work_mem statement s runs with (SettingFor its user);
// its plan was measured with the work_mem the plan records for itself
// (EXPLAIN SETTINGS) when it does, else the snapshot's.
func workMemFor(p *Pass, s *model.Statement) stmtWorkMem {
	w := stmtWorkMem{MeasuredKB: workMemKB(p.Snapshot)}
	if kb, ok := planSettingKB(s, "work_mem"); ok {
		w.MeasuredKB = kb
	}
	w.KB = w.MeasuredKB
	v, fromRole := p.SettingFor(s.User, "work_mem")
	if !fromRole {
		w.NoRoleSetting = s.User != "" && roleSettingsCollected(p.Snapshot)
		return w
	}
	if kb, ok := parseKB(v, p.Snapshot.SettingUnits["work_mem"]); ok && kb > 0 {
		w.KB, w.Role, w.Value = kb, s.User, v
	}
	return w
}

// differs reports whether the statement's work_mem is not the measured one.
func (w stmtWorkMem) differs() bool { return w.Role != "" && w.KB != w.MeasuredKB }

// note states the statement's work_mem for a message: "work_mem 4 MB", or
// "work_mem 64 kB (role app, ALTER ROLE … SET)", with the measured one when
// it differs.
func (w stmtWorkMem) note() string {
	if w.Role == "" {
		return "work_mem " + num.Bytes(1024*w.KB)
	}
	s := fmt.Sprintf("work_mem %s (set for role %s with ALTER ROLE)", num.Bytes(1024*w.KB), pgstat.QuoteIdent(w.Role))
	if w.differs() {
		s += fmt.Sprintf(", not pgadvisor's %s", num.Bytes(1024*w.MeasuredKB))
	}
	return s
}

// evidence adds the work_mem facts to a finding's evidence: work_mem_kb is
// the statement's; the role's setting and the measured value when they apply.
func (w stmtWorkMem) evidence(ev map[string]any) {
	ev["work_mem_kb"] = w.KB
	if w.Role != "" {
		ev["role_work_mem"] = w.Value
		ev["measured_work_mem_kb"] = w.MeasuredKB
	}
}

// hashMemMultiplierFor is hash_mem_multiplier as statement s runs with it.
func hashMemMultiplierFor(p *Pass, s *model.Statement) float64 {
	def := hashMemMultiplier(p.Snapshot)
	if s.Plan != nil {
		if v, ok := s.Plan.Plan.Setting("hash_mem_multiplier"); ok {
			if m, ok := parseFloat(v); ok && m > 0 {
				def = m
			}
		}
	}
	if v, fromRole := p.SettingFor(s.User, "hash_mem_multiplier"); fromRole {
		if m, ok := parseFloat(v); ok && m > 0 {
			return m
		}
	}
	return def
}

// measuredNote states the work_mem a measured plan ran with and, when the
// statement's role runs with another, that one too.
func (w stmtWorkMem) measuredNote() string {
	if !w.differs() {
		return w.note()
	}
	return fmt.Sprintf("measured with pgadvisor's work_mem %s; role %s runs with work_mem %s, set with ALTER ROLE",
		num.Bytes(1024*w.MeasuredKB), pgstat.QuoteIdent(w.Role), num.Bytes(1024*w.KB))
}

// holdsMeasuredSpill reports whether the role's work_mem, larger than the
// measured one, holds an operation that needs needKB in memory while
// pg_stat_statements counts no temporary file for the statement: the spill
// happened in pgadvisor's measurement only.
func (w stmtWorkMem) holdsMeasuredSpill(s *model.Statement, needKB float64) bool {
	return w.Role != "" && w.KB > w.MeasuredKB && w.KB >= needKB && s.Calls > 0 && s.TempBlksWritten == 0
}

// sessionKB is the application's work_mem for a spill seen only in
// pg_stat_statements: the role's when it explains the spill (smaller than
// the measured one), else 0 (unknown, smaller than MeasuredKB).
func (w stmtWorkMem) sessionKB() float64 {
	if w.Role != "" && w.KB < w.MeasuredKB {
		return w.KB
	}
	return 0
}

// sessionEvidence adds the work_mem facts of a spill seen only in
// pg_stat_statements to evidence.
func (w stmtWorkMem) sessionEvidence(ev map[string]any) {
	if w.sessionKB() > 0 {
		w.evidence(ev)
		ev["session_work_mem"] = "role setting"
		return
	}
	ev["work_mem_kb"] = w.MeasuredKB
	ev["session_work_mem"] = "smaller than work_mem_kb"
}

// planSettingKB is a memory setting as s's plan records it (EXPLAIN
// SETTINGS, e.g. "work_mem": "64kB"), in kB; ok is false when the plan
// does not record it.
func planSettingKB(s *model.Statement, name string) (kb float64, ok bool) {
	if s.Plan == nil {
		return 0, false
	}
	v, found := s.Plan.Plan.Setting(name)
	if !found {
		return 0, false
	}
	kb, ok = parseKB(v, "kB")
	return kb, ok && kb > 0
}
