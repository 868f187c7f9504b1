package advisor

import "github.com/pgadvisor/pgadvisor/pgstat"

// The findings pipeline: rules only report; these processors, one file each,
// then merge, link, suppress, re-grade and rank the findings, in this order.
// A processor never queries anything: its input is the findings, the policy
// of the configuration and what the snapshot says about the server.

// Processing is the state the processors share.
type Processing struct {
	Findings []Finding
	// Suppressed are the findings an ignore entry (or, in review, an inline
	// comment) took out of Findings; counted, never dropped silently.
	Suppressed []Suppressed
	// UnmatchedIgnores are the ignore entries that matched no finding (the
	// problem they excused is gone, or the entry is misspelled).
	UnmatchedIgnores []Ignore
	Policy           Policy
	// Indexes are the database's indexes (the snapshot's), for the processors
	// that compare proposed indexes with existing ones.
	Indexes []pgstat.Index
	// FixChecks maps each rewrite a live audit PREPAREd (comment lines
	// removed) to the server's error, "" when it prepared.
	FixChecks map[string]string
	// Standby is set when the audited server is a hot standby.
	Standby bool
	// Family returns a rule's family (plan, what-if, sql, …); nil uses the registry.
	Family func(rule string) string
}

// Suppressed is a finding an ignore entry suppressed, with the entry's reason.
type Suppressed struct {
	Finding Finding `json:"finding"`
	Reason  string  `json:"reason"`
	// By is where the suppression came from: "config" (an ignore entry of
	// the configuration file) or "inline" (a comment beside the statement).
	By string `json:"by"`
}

// processor is one step of the pipeline.
type processor struct {
	name string
	run  func(*Processing)
}

// pipeline is the fixed order: fixcheck first (fixes as they will be
// printed), prefix before merge, rewrite after prefix (it compares fixes as they will be
// printed) and before merge (a finding whose index
// a longer one serves takes its fix, and merge then sees the same fix), merge before link (linked findings are the
// merged ones), suppress before severity (an override never revives a
// suppressed finding), rank last.
var pipeline = []processor{
	{"fixcheck", hideUnpreparedRewrites},
	{"prefix", serveByLongerIndex},
	{"rewrite", foldRewriteIndexes},
	{"merge", mergeFindings},
	{"link", linkFixes},
	{"suppress", suppressFindings},
	{"severity", overrideSeverities},
	{"standby", markStandby},
	{"rank", rankFindings},
}

// Process runs the pipeline over p.Findings.
func Process(p *Processing) {
	if p.Family == nil {
		p.Family = registeredFamily
	}
	for _, step := range pipeline {
		step.run(p)
	}
}

// ApplyPolicy runs the pipeline's policy steps alone, suppress then
// severity, over p.Findings: for findings that must not be merged or
// ranked (review's, each at its own place in a file), with the same ignore
// and severity semantics as Process.
func ApplyPolicy(p *Processing) {
	suppressFindings(p)
	overrideSeverities(p)
}

// registeredFamily is a rule's family from the registry, "" for unknown rules.
func registeredFamily(rule string) string {
	if r := Lookup(rule); r != nil {
		return r.Family
	}
	return ""
}

func markStandby(p *Processing) {
	if p.Standby {
		MarkStandbyFixes(p.Findings)
	}
}

func rankFindings(p *Processing) { Rank(p.Findings) }
