package advisor

// overrideSeverities applies the policy's per-rule severities: every finding
// of a rule named there gets that severity. Unknown severities were refused
// when the configuration was read.
func overrideSeverities(p *Processing) {
	for i := range p.Findings {
		if s, ok := p.Policy.Severity[p.Findings[i].Rule]; ok && s.Rank() > 0 {
			p.Findings[i].Severity = s
		}
	}
}
