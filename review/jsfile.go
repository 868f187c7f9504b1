package review

import (
	"regexp"
	"strconv"
	"strings"
)

// jsParams are the placeholders JavaScript and TypeScript clients put in SQL
// text that are at least as long as $n: a template literal's ${…} (the sql`…`
// tags of postgres.js and slonik, or a plain template) and :name (knex's
// named bindings). `?` is shorter than $1 and would move every later column:
// a statement holding one is left out.
var jsParams = regexp.MustCompile(`\$\{[^{}]*\}|:[A-Za-z_][A-Za-z0-9_]*`)

// readJavaScript finds the string and template literals of a JavaScript or
// TypeScript source that are SQL statements: they start like one and parse
// once their placeholders are read as $n (padded with spaces to the
// placeholder's length, so every column holds). A literal that does not
// parse is taken for prose, as in Python sources; // and /* */ comments are
// skipped, and `// pgadvisor-ignore` on the line above a literal suppresses.
func readJavaScript(path string, src string) *File { return readCLike(path, src, false) }

// readJVM finds the SQL literals of a Java or Kotlin source the same way:
// "…" strings and """…""" text blocks (Java) and raw strings (Kotlin),
// :name bindings (Spring's NamedParameterJdbcTemplate, JPA) and Kotlin's
// ${…} templates read as $n; '…' is a character there, never SQL.
func readJVM(path string, src string) *File { return readCLike(path, src, true) }

// readCLike reads the literals of a language with // and /* */ comments:
// JavaScript/TypeScript (' " and ` quotes, ` multi-line with ${…}), or, with
// jvm, Java/Kotlin (" and """ quotes, """ multi-line).
func readCLike(path string, src string, jvm bool) *File {
	source := "javascript"
	if jvm {
		source = "jvm"
	}
	f := &File{Path: path}
	li := newLineIndex(src)
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
		body := i + len(quote)
		end := body
		depth := 0 // inside ${…}
		for end < len(src) {
			c := src[end]
			if c == '\\' {
				end += 2
				continue
			}
			if templates && strings.HasPrefix(src[end:], "${") {
				depth++
				end += 2
				continue
			}
			if depth > 0 && c == '}' {
				depth--
			} else if depth == 0 && strings.HasPrefix(src[end:], quote) {
				break
			} else if !multiline && c == '\n' {
				break
			}
			end++
		}
		if end > len(src) {
			end = len(src)
		}
		text := src[body:end]
		start := i
		i = end + len(quote)
		if strings.Contains(text, `\`) || strings.Contains(text, "?") || !sqlStart.MatchString(stripLeadingComments(text)) {
			continue // escapes or ? would move positions; not SQL
		}
		sql := jsPlaceholders(text)
		if len(sql) != len(text) {
			continue
		}
		cs := constString{value: sql, segs: []segment{{value: sql, fileOff: body, verbatim: true}}}
		for _, st := range goStatements(path, li, cs) {
			if st.Err != nil {
				continue // prose, not SQL
			}
			st.Source = source
			st.Comments = append(commentsAround(li, li.at(start).line, position{}, "//"), st.Comments...)
			f.Statements = append(f.Statements, st)
		}
	}
	first := li.at(len(src)).line
	if len(f.Statements) > 0 {
		first = f.Statements[0].Location.Line - 1
	}
	f.FileComments = commentLines(li, 1, first, "//")
	return f
}

// jsPlaceholders reads the placeholders of a JavaScript SQL text as $1, $2, …
// each padded with spaces to the placeholder's length; a :name right after
// a colon is the cast ::type, and one right after a letter or digit is not
// a binding (a time 10:30, an array slice a[1:n]).
func jsPlaceholders(text string) string {
	var b strings.Builder
	last, n := 0, 0
	for _, m := range jsParams.FindAllStringIndex(text, -1) {
		p := text[m[0]:m[1]]
		if p[0] == ':' && m[0] > 0 && (text[m[0]-1] == ':' || isIdentByte(text[m[0]-1])) {
			continue
		}
		n++
		s := "$" + strconv.Itoa(n)
		if len(s) < len(p) {
			s += strings.Repeat(" ", len(p)-len(s))
		}
		b.WriteString(text[last:m[0]])
		b.WriteString(s)
		last = m[1]
	}
	b.WriteString(text[last:])
	return b.String()
}
