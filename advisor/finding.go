package advisor

// Severity of a finding.
type Severity string

// Severities, most serious first.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityNotice  Severity = "notice"
)

// Rank orders severities: error 3, warning 2, notice 1, unknown 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityError:
		return 3
	case SeverityWarning:
		return 2
	case SeverityNotice:
		return 1
	}
	return 0
}

// Finding is one problem with its evidence and fix. Its JSON form is the
// report contract of DESIGN.md (schema_version 1): do not rename fields.
type Finding struct {
	Rule        string   `json:"rule"`
	Severity    Severity `json:"severity"`
	Message     string   `json:"message"`
	Query       string   `json:"query,omitempty"`
	QueryID     string   `json:"queryid,omitempty"` // decimal int64 as a string
	Fingerprint string   `json:"fingerprint,omitempty"`
	// Objects are the schema-qualified tables or indexes concerned; never nil.
	Objects  []string       `json:"objects"`
	Impact   Impact         `json:"impact"`
	Evidence map[string]any `json:"evidence,omitempty"`
	Fix      *Fix           `json:"fix,omitempty"`
	// QueryIDs are the other statements the finding concerns beyond QueryID
	// (an index that serves several statements), decimal int64s.
	QueryIDs []string `json:"queryids,omitempty"`
	// RelatedRules are the rules whose findings said the same (same statement,
	// same fix) and were merged into this one; their message and evidence are
	// under their rule's name in Evidence.
	RelatedRules []string `json:"related_rules,omitempty"`
	// FixID identifies the fix: findings that one fix serves share it, and
	// the same fix has the same FixID in every run (a hash of its SQL).
	FixID string `json:"fix_id,omitempty"`
}

// Impact is the time a finding costs.
type Impact struct {
	TotalMS float64 `json:"total_ms"` // milliseconds of statement time concerned since stats reset
	Share   float64 `json:"share"`    // TotalMS as a fraction of all statement time, 0..1
	Calls   int64   `json:"calls,omitempty"`
}

// Fix says what to change.
type Fix struct {
	Summary string   `json:"summary"`
	SQL     []string `json:"sql,omitempty"`
	// Advisory is set when the fix is a design change to weigh, not a statement to run as is.
	Advisory bool `json:"advisory,omitempty"`
	// Hygiene is set when the fix buys no time in the audited workload
	// (an index for foreign-key checks that did not run): reports list it
	// apart from the fixes that cut time.
	Hygiene bool `json:"hygiene,omitempty"`
	// RunOn names the server the SQL must run on when the audited server is
	// a standby: RunOnPrimary (it writes; the standby replicates it) or
	// RunOnStandby (server settings, each server's own). Empty on a primary.
	RunOn string `json:"run_on,omitempty"`
}

// Values of Fix.RunOn.
const (
	RunOnPrimary = "primary"
	RunOnStandby = "standby"
)
