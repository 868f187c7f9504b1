package review

import "strings"

// readJavaScript finds the string and template literals of a JavaScript or
// TypeScript source that are SQL statements: they start like one and parse
// once their placeholders are read as $n: a template's ${…} (the sql`…`
// tags of postgres.js and slonik, or a plain template), knex's and
// mysql-style ? and :name. // and /* */ comments are skipped, and
// `// pgadvisor-ignore` on the line above a literal suppresses.
func readJavaScript(path string, src string) *File {
	return hostFile(path, src, "javascript", "//", scanCLike(src, false), paramQuestion|paramColon)
}

// readJVM finds the SQL literals of a Java or Kotlin source the same way:
// "…" strings and """…""" text blocks (Java) and raw strings (Kotlin), JDBC's
// ?, :name bindings (Spring's NamedParameterJdbcTemplate, JPA) and Kotlin's
// ${…} and $name templates read as $n; '…' is a character there, never SQL.
func readJVM(path string, src string) *File {
	kotlin := strings.HasSuffix(path, ".kt") || strings.HasSuffix(path, ".kts")
	lits := scanCLike(src, true)
	if kotlin {
		for i := range lits {
			lits[i].interps = kotlinNames(src, lits[i])
		}
	}
	return hostFile(path, src, "jvm", "//", lits, paramQuestion|paramColon)
}

// kotlinNames adds a Kotlin literal's $name templates to its ${…} ones, in
// order.
func kotlinNames(src string, lit hostLiteral) [][2]int {
	var out [][2]int
	next := 0
	for j := lit.body; j < lit.end; j++ {
		if next < len(lit.interps) && j == lit.interps[next][0] {
			out = append(out, lit.interps[next])
			j = lit.interps[next][1] - 1
			next++
			continue
		}
		if src[j] == '$' && j+1 < lit.end && isIdentStart(src[j+1]) && (j == lit.body || src[j-1] != '\\') {
			k := j + 1
			for k < lit.end && isIdentByte(src[k]) {
				k++
			}
			out = append(out, [2]int{j, k})
			j = k - 1
		}
	}
	return out
}

// scanCLike finds the literals of a language with // and /* */ comments:
// JavaScript/TypeScript (' " and ` quotes, ` multi-line with ${…}), or, with
// jvm, Java/Kotlin (" and """ quotes, """ multi-line and raw, ${…} in both).
func scanCLike(src string, jvm bool) []hostLiteral {
	var lits []hostLiteral
	for i := 0; i < len(src); {
		switch {
		case strings.HasPrefix(src[i:], "//"):
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				i = len(src)
			} else {
				i += j
			}
			continue
		case strings.HasPrefix(src[i:], "/*"):
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				i = len(src)
			} else {
				i += j + 4
			}
			continue
		case src[i] == '"' || (!jvm && (src[i] == '\'' || src[i] == '`')):
		default:
			i++
			continue
		}
		quote := src[i : i+1]
		if jvm && strings.HasPrefix(src[i:], `"""`) {
			quote = `"""`
		}
		multiline := quote == "`" || quote == `"""`
		templates := quote == "`" || jvm // ${…} inside the literal
		lit := hostLiteral{start: i, body: i + len(quote), escapes: escBackslash}
		if quote == `"""` {
			lit.escapes = escNone // a text block's escapes are rare; a raw string has none
		}
		end := lit.body
		for end < len(src) {
			c := src[end]
			if c == '\\' && lit.escapes != escNone {
				end += 2
				continue
			}
			if templates && strings.HasPrefix(src[end:], "${") {
				in := interpolation(src, end+1)
				lit.interps = append(lit.interps, [2]int{end, in})
				end = in
				continue
			}
			if strings.HasPrefix(src[end:], quote) || !multiline && c == '\n' {
				break
			}
			end++
		}
		lit.end = min(end, len(src))
		lits = append(lits, lit)
		i = lit.end + len(quote)
	}
	return lits
}

// interpolation is the offset after the {…} opening at src[open] (an
// interpolated expression: ${…} or #{…}), braces nested.
func interpolation(src string, open int) int {
	depth := 0
	for j := open; j < len(src); j++ {
		switch src[j] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(src)
}
