package pgstat

import (
	"strings"

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
// printed (a plan's Filter or Index Cond, which quotes values with '…'); a
// literal cut off by truncation is hidden to the end. Statement texts go
// through RedactStatement instead.
func MaskLiterals(sql string) string {
	var b strings.Builder
	for i := 0; i < len(sql); i++ {
		if sql[i] != '\'' {
			b.WriteByte(sql[i])
			continue
		}
		b.WriteString("'…")
		j := i + 1
		for ; j < len(sql); j++ {
			if sql[j] == '\'' {
				if j+1 < len(sql) && sql[j+1] == '\'' {
					j++
					continue
				}
				break
			}
		}
		if j < len(sql) {
			b.WriteByte('\'')
		}
		i = j
	}
	return b.String()
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
