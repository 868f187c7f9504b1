package sqlfacts

import "strings"

// TokenKind is what a token of SQL text is, as far as the lexer here tells
// them apart: enough to find what lies outside strings and comments.
type TokenKind uint8

// The kinds of token NextToken tells apart.
const (
	TokenOther            TokenKind = iota // a word, number, operator or punctuation
	TokenSpace                             // white space
	TokenComment                           // -- to the end of the line, or /* */ (nested)
	TokenString                            // '…', E'…' (backslash escapes), doubled quotes inside
	TokenQuotedIdentifier                  // "…"
	TokenDollarQuoted                      // $$…$$ or $tag$…$tag$
	TokenParam                             // $n
)

// NextToken returns the kind and the end (a byte offset) of the token of sql
// that starts at byte offset start. It is PostgreSQL's lexer in small:
// comments nest, E'…' strings take backslash escapes, a dollar quote ends at
// its own tag, and a word takes in the $ and digits inside it (x$1 is one
// identifier, not a parameter). A string, comment or quote left open runs to
// the end of sql. It never fails: any other byte is a TokenOther of its own.
func NextToken(sql string, start int) (TokenKind, int) {
	n := len(sql)
	i := start
	c := sql[i]
	switch {
	case isSpace(c):
		for i < n && isSpace(sql[i]) {
			i++
		}
		return TokenSpace, i
	case c == '-' && i+1 < n && sql[i+1] == '-':
		if j := strings.IndexByte(sql[i:], '\n'); j >= 0 {
			return TokenComment, i + j
		}
		return TokenComment, n
	case c == '/' && i+1 < n && sql[i+1] == '*':
		depth := 1
		i += 2
		for i < n && depth > 0 {
			switch {
			case sql[i] == '/' && i+1 < n && sql[i+1] == '*':
				depth++
				i += 2
			case sql[i] == '*' && i+1 < n && sql[i+1] == '/':
				depth--
				i += 2
			default:
				i++
			}
		}
		return TokenComment, i
	case (c == 'E' || c == 'e') && i+1 < n && sql[i+1] == '\'':
		return TokenString, stringEnd(sql, i+1, true)
	case c == '\'':
		return TokenString, stringEnd(sql, i, false)
	case c == '"':
		if j := strings.IndexByte(sql[i+1:], '"'); j >= 0 {
			return TokenQuotedIdentifier, i + 1 + j + 1
		}
		return TokenQuotedIdentifier, n
	case c == '$':
		j := i + 1
		if j < n && isDigit(sql[j]) {
			for j < n && isDigit(sql[j]) {
				j++
			}
			return TokenParam, j
		}
		for j < n && isIdentChar(sql[j]) && sql[j] != '$' {
			j++
		}
		if j < n && sql[j] == '$' {
			tag := sql[i : j+1]
			if end := strings.Index(sql[j+1:], tag); end >= 0 {
				return TokenDollarQuoted, j + 1 + end + len(tag)
			}
			return TokenDollarQuoted, n
		}
		return TokenOther, i + 1
	case isIdentChar(c):
		for i < n && isIdentChar(sql[i]) {
			i++
		}
		return TokenOther, i
	}
	return TokenOther, i + 1
}

// stringEnd is the end of the string literal whose opening quote is at
// sql[quote]: after its closing quote, or len(sql) when it is left open.
func stringEnd(sql string, quote int, escapes bool) int {
	n := len(sql)
	for i := quote + 1; i < n; i++ {
		switch {
		case escapes && sql[i] == '\\':
			i++
		case sql[i] == '\'':
			if i+1 < n && sql[i+1] == '\'' {
				i++
				continue
			}
			return i + 1
		}
	}
	return n
}

// SkipSpaceAndComments returns the byte length of the white space and the
// comments (-- and nested /* */) at the start of sql.
func SkipSpaceAndComments(sql string) int {
	i := 0
	for i < len(sql) {
		kind, end := NextToken(sql, i)
		if kind != TokenSpace && kind != TokenComment {
			return i
		}
		i = end
	}
	return i
}

// MaxParam returns the highest $n parameter number referenced in sql outside
// string literals, quoted identifiers, dollar-quoted strings and comments;
// 0 when there is none. A number stops taking digits once past 2^20, so a
// long one cannot overflow.
func MaxParam(sql string) int {
	max := 0
	for i := 0; i < len(sql); {
		kind, end := NextToken(sql, i)
		if kind == TokenParam {
			v := 0
			for _, d := range []byte(sql[i+1 : end]) {
				if v < 1<<20 {
					v = v*10 + int(d-'0')
				}
			}
			if v > max {
				max = v
			}
		}
		i = end
	}
	return max
}

// isSpace reports whether c is white space to PostgreSQL's lexer.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isIdentChar reports whether c may stand inside an unquoted identifier
// (bytes of multi-byte UTF-8 characters included).
func isIdentChar(c byte) bool {
	return c == '_' || c == '$' || isDigit(c) || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
