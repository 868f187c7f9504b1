package advisor

// Policy is what the configuration file says about findings rather than
// about thresholds: per-rule severity overrides and ignore entries. The
// findings pipeline applies it after the rules have run (suppress, then
// severity); rules never read it.
type Policy struct {
	// Severity overrides a rule's severity for every finding it reports.
	Severity map[string]Severity `json:"severity,omitempty"`
	// Ignore entries suppress findings; a suppressed finding is counted in
	// the result, never dropped silently.
	Ignore []Ignore `json:"ignore,omitempty"`
}

// Ignore suppresses the findings of one rule about one object or one
// statement. Rule and Reason are required, and one of Object (a
// schema-qualified table or index) or Fingerprint (a statement's pg_query
// fingerprint).
type Ignore struct {
	Rule        string `json:"rule" yaml:"rule"`
	Object      string `json:"object,omitempty" yaml:"object,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty" yaml:"fingerprint,omitempty"`
	Reason      string `json:"reason" yaml:"reason"`
}

// Matches reports whether the entry suppresses finding f (same rule, and its
// fingerprint or one of its objects), as the pipeline's suppress step decides.
func (ig Ignore) Matches(f Finding) bool { return ignores(ig, f) }
