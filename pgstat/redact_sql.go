package pgstat

import (
	"regexp"
	"strings"
)

// passwordLiteral matches the literal after PASSWORD (CREATE/ALTER ROLE,
// CREATE USER MAPPING … OPTIONS (password '…')): before PostgreSQL 16,
// pg_stat_statements keeps utility statements' constants as written.
var passwordLiteral = regexp.MustCompile(`(?i)(\bpassword\b\s*)('(?:[^']|'')*'|E'(?:[^'\\]|\\.|'')*')`)

// RedactSecrets hides passwords written in a statement's text.
func RedactSecrets(sql string) string {
	return passwordLiteral.ReplaceAllString(sql, "$1'…'")
}

// MaskLiterals hides every string literal of a statement (pg_stat_activity
// shows statements with their values, which may be personal data); a literal
// cut off by truncation is hidden to the end.
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
