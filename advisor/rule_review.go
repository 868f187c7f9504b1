package advisor

// The review rules are reported by pgadvisor review, which reads the
// repository's files: their Run over a snapshot reports nothing (a snapshot
// has no files). They are registered so that pgadvisor rules, docs/rules.md,
// --rules and the configuration file know them.

// SyntaxErrorRule reports a statement of a reviewed file that does not parse.
var SyntaxErrorRule = &Rule{
	Name:     "syntax-error",
	Family:   "review",
	Severity: SeverityError,
	Doc: `A statement does not parse
PostgreSQL's parser (pg_query) rejects the statement: it fails when it runs.
Reported by pgadvisor review at the line and column the parser stops at; the
other statements of the file are still reviewed.
Fix: correct the statement at that position.`,
	Criteria: `pg_query (PostgreSQL 16's parser) returns a syntax error for the statement.`,
	Run:      reviewOnly,
}

// IndexNotConcurrent reports a migration building an index on an existing
// table without CONCURRENTLY.
var IndexNotConcurrent = &Rule{
	Name:     "index-not-concurrent",
	Family:   "review",
	Severity: SeverityWarning,
	Doc: `A migration builds an index without CONCURRENTLY
CREATE INDEX takes a SHARE lock on its table: every INSERT, UPDATE and DELETE
waits while the index builds, minutes on a large table. On a table the same
migrations create, nothing is blocked (it is empty), so that is not reported.
Fix: CREATE INDEX CONCURRENTLY (outside a transaction block: golang-migrate and
Flyway need the migration to run without one).`,
	Criteria: `A CREATE INDEX without CONCURRENTLY in a migration file, on a table not created by a CREATE TABLE of the same migration folder in that or an earlier migration.`,
	Run:      reviewOnly,
}

// IgnoreWithoutReason reports a pgadvisor-ignore comment with no reason.
var IgnoreWithoutReason = &Rule{
	Name:     "ignore-without-reason",
	Family:   "review",
	Severity: SeverityWarning,
	Doc: `A pgadvisor-ignore comment gives no reason
A suppression must say why the finding does not apply, so that the next
reader can judge whether it still holds. The comment suppresses nothing until
it has a reason.
Fix: write the reason after the rule id: -- pgadvisor-ignore RULE: reason.`,
	Criteria: `A -- pgadvisor-ignore or -- pgadvisor-ignore-file comment (// in Go) without text after "RULE:", or naming no known rule.`,
	Run:      reviewOnly,
}

func init() {
	register(SyntaxErrorRule)
	register(IndexNotConcurrent)
	register(IgnoreWithoutReason)
}

// reviewOnly is the Run of the review rules over a snapshot: nothing to
// report, the files are pgadvisor review's input.
func reviewOnly(*Pass) error { return nil }
