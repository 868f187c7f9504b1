package advisor

import "strings"

// MarkStandbyFixes marks where the SQL of each fix runs when the audited
// server is a hot standby, which accepts no writes: a fix that creates,
// alters, drops, vacuums or analyzes anything runs on the primary (and
// reaches the standby by replication); a fix made only of server settings
// (ALTER SYSTEM, SET, pg_reload_conf()) is the standby's own and runs there.
// The fix summary says so in words, for every output format. Fixes without
// SQL are left alone.
func MarkStandbyFixes(fs []Finding) {
	for i := range fs {
		if fs[i].Fix == nil || len(fs[i].Fix.SQL) == 0 {
			continue
		}
		fix := *fs[i].Fix // rules may share one Fix between findings
		if allServerSettings(fix.SQL) {
			fix.RunOn = RunOnStandby
			fix.Summary += " (run on this standby: server settings are each server's own; the primary keeps its own)"
		} else {
			fix.RunOn = RunOnPrimary
			fix.Summary += " (run on the primary: a standby accepts no writes and replicates the change)"
		}
		fs[i].Fix = &fix
	}
}

// allServerSettings reports whether every statement only changes settings of
// the server it runs on: ALTER SYSTEM, SET/RESET, SELECT pg_reload_conf().
// ALTER ROLE … SET writes the catalog and is not one of them.
func allServerSettings(sqls []string) bool {
	for _, sql := range sqls {
		words := strings.Fields(strings.ToUpper(sql))
		switch {
		case len(words) >= 2 && words[0] == "ALTER" && words[1] == "SYSTEM":
		case len(words) >= 1 && (words[0] == "SET" || words[0] == "RESET"):
		case len(words) == 2 && words[0] == "SELECT" && strings.TrimSuffix(words[1], ";") == "PG_RELOAD_CONF()":
		default:
			return false
		}
	}
	return true
}
