package history

// A few rules read cumulative counters of pg_stat_statements, which keep
// the time before a fix until the statistics are reset: a sort-spill or
// hash-spill finding stays while the statement's temp_blks_written since the
// reset is not zero, even once the role's work_mem holds the sort. The
// report can tell when the interval's own numbers are clean, and says so
// rather than calling the finding persisting.
//
// A persisting finding becomes fixed-awaiting-reset when
//   - its rule is one of awaitingRules, whose symptom the interval measures,
//   - its fix is in effect: this report has a "set" advice effect for it
//     (its setting moved as proposed since the previous run), or it was
//     fixed-awaiting-reset in the previous report already,
//   - and its statements' interval is clean: no temporary block (with at
//     least one call when the effect is new; a carried-over status needs
//     no call against it).
//
// Anything else stays persisting; the finding becomes fixed when the audit
// stops reporting it (after a reset), as any other.
var awaitingRules = map[string]bool{"sort-spill": true, "hash-spill": true}

func markAwaitingReset(r *Report, prev []FindingStatus) {
	applied := map[string]bool{}
	for _, e := range r.AdviceEffects {
		if e.Applied == "set" {
			applied[e.FindingID] = true
		}
	}
	carried := map[string]bool{}
	for _, f := range prev {
		if f.Status == StatusAwaitingReset {
			carried[f.ID] = true
		}
	}
	byQuery := map[string]*StatementDelta{}
	for i := range r.Statements {
		if d := &r.Statements[i]; d.Verdict != VerdictGone {
			byQuery[d.QueryID] = d
		}
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Status != StatusPersisting || !awaitingRules[f.Rule] || (!applied[f.ID] && !carried[f.ID]) {
			continue
		}
		ids := findingStatements(*f)
		if len(ids) == 0 {
			continue
		}
		var calls, temp int64
		for _, id := range ids {
			if d := byQuery[id]; d != nil {
				calls += d.Calls
				temp += d.TempBlks
			}
		}
		if temp == 0 && (calls > 0 || carried[f.ID]) {
			f.Status = StatusAwaitingReset
		}
	}
}
