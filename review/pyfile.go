package review

import "strings"

// readPython finds the string literals of a Python source that are SQL
// statements: they start like one and parse once psycopg's %s and
// %(name)s, sqlite3's ? and :name (and SQLAlchemy's text() :name) are read
// as $n. Comments are skipped; f-strings (their {…} parts are code) and
// bytes are left out. `# pgadvisor-ignore` on the line above a literal
// suppresses.
func readPython(path string, src string) *File {
	return hostFile(path, src, "python", "#", scanPython(src), paramPercent|paramQuestion|paramColon)
}

// scanPython finds the string literals of a Python source: '…', "…", their
// triple-quoted forms, r-prefixed raw ones; f-strings and bytes are
// skipped.
func scanPython(src string) []hostLiteral {
	var lits []hostLiteral
	for i := 0; i < len(src); {
		switch src[i] {
		case '#':
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				i = len(src)
			} else {
				i += j
			}
			continue
		case '"', '\'':
		default:
			i++
			continue
		}
		// The prefix letters just before the quote.
		start := i
		for start > 0 && strings.ContainsRune("rRbBuUfF", rune(src[start-1])) && i-start < 2 {
			start--
		}
		prefix := strings.ToLower(src[start:i])
		if start > 0 && isIdentByte(src[start-1]) {
			prefix = ""
		}
		quote := src[i : i+1]
		if strings.HasPrefix(src[i:], `"""`) || strings.HasPrefix(src[i:], `'''`) {
			quote = src[i : i+3]
		}
		lit := hostLiteral{start: start, body: i + len(quote), escapes: escBackslash}
		if strings.Contains(prefix, "r") {
			lit.escapes = escNone
		}
		end := lit.body
		for end < len(src) {
			if src[end] == '\\' {
				end += 2
				continue
			}
			if strings.HasPrefix(src[end:], quote) || len(quote) == 1 && src[end] == '\n' {
				break
			}
			end++
		}
		lit.end = min(end, len(src))
		i = lit.end + len(quote)
		if !strings.ContainsAny(prefix, "fb") {
			lits = append(lits, lit)
		}
	}
	return lits
}

func isIdentByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}
