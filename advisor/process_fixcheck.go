package advisor

// hideUnpreparedRewrites takes out of every fix the rewritten statements
// the live audit could not PREPARE on the server (pgstat.Snapshot.FixChecks,
// audit.CheckFixes): a statement that does not prepare is not shown as SQL,
// and the fix says why, with the server's message (issue 9 §1). It runs
// first, so that the processors after it see the fixes as printed.
func hideUnpreparedRewrites(p *Processing) {
	if len(p.FixChecks) == 0 {
		return
	}
	for i := range p.Findings {
		f := &p.Findings[i]
		if f.Fix == nil || len(f.Fix.SQL) == 0 {
			continue
		}
		var kept []string
		var refused []string
		for _, piece := range f.Fix.SQL {
			if msg, failed := p.FixChecks[FixStatement(piece)]; failed && msg != "" {
				refused = append(refused, msg)
				continue
			}
			kept = append(kept, piece)
		}
		if len(refused) == 0 {
			continue
		}
		fix := *f.Fix
		fix.SQL = kept
		fix.Summary += "; a rewrite is not shown: it did not prepare on the server (" + refused[0] + ")"
		f.Fix = &fix
		f.Evidence = withEvidence(f.Evidence, "rewrite_not_prepared", refused)
	}
}
