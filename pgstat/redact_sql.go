package pgstat

import (
	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// RedactStatement is the redaction every statement text read from the server
// (pg_stat_statements, pg_stat_activity, view definitions that open
// connections) goes through before it enters the snapshot: every literal
// becomes $n, found from the parse tree and PostgreSQL's lexer
// (sqlfacts.Redact), and a text that does not parse is replaced by
// sqlfacts.DroppedText, never kept raw. The server's own placeholder for a
// text the role may not see is kept.
func RedactStatement(sql string) string {
	if sql == insufficientPrivilege {
		return sql
	}
	return sqlfacts.RedactedText(sql)
}

// MaskLiterals hides every string literal of an expression the server
// printed (explain.MaskLiterals). Statement texts go through RedactStatement
// instead.
func MaskLiterals(expr string) string {
	return explain.MaskLiterals(expr)
}

// truncateText cuts s to at most n bytes on a UTF-8 boundary, marking the cut with "…".
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
