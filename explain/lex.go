package explain

import "strings"

// MaxParam returns the highest $n parameter number referenced in sql, outside
// string literals, quoted identifiers, dollar-quoted strings and comments; 0
// when there is none.
func MaxParam(sql string) int {
	max := 0
	n := len(sql)
	for i := 0; i < n; {
		c := sql[i]
		switch {
		case c == '-' && i+1 < n && sql[i+1] == '-':
			for i < n && sql[i] != '\n' {
				i++
			}
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
		case c == '\'':
			escapes := i > 0 && (sql[i-1] == 'E' || sql[i-1] == 'e') && (i < 2 || !isIdentChar(sql[i-2]))
			i++
			for i < n {
				if escapes && sql[i] == '\\' {
					i += 2
					continue
				}
				if sql[i] == '\'' {
					if i+1 < n && sql[i+1] == '\'' {
						i += 2
						continue
					}
					break
				}
				i++
			}
			i++
		case c == '"':
			i++
			for i < n && sql[i] != '"' {
				i++
			}
			i++
		case c == '$' && (i == 0 || !isIdentChar(sql[i-1])):
			j := i + 1
			if j < n && sql[j] >= '0' && sql[j] <= '9' {
				v := 0
				for j < n && sql[j] >= '0' && sql[j] <= '9' {
					if v < 1<<20 {
						v = v*10 + int(sql[j]-'0')
					}
					j++
				}
				if v > max {
					max = v
				}
				i = j
				continue
			}
			// Dollar quote: $$ or $tag$.
			for j < n && isIdentChar(sql[j]) && sql[j] != '$' {
				j++
			}
			if j < n && sql[j] == '$' {
				tag := sql[i : j+1]
				end := strings.Index(sql[j+1:], tag)
				if end < 0 {
					return max
				}
				i = j + 1 + end + len(tag)
				continue
			}
			i++
		default:
			i++
		}
	}
	return max
}

func isIdentChar(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// trimStatement removes surrounding white space and trailing semicolons.
func trimStatement(sql string) string {
	s := strings.TrimSpace(sql)
	for strings.HasSuffix(s, ";") {
		s = strings.TrimSpace(strings.TrimSuffix(s, ";"))
	}
	return s
}
