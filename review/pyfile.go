package review

import (
	"regexp"
	"strconv"
	"strings"
)

// pyParams are psycopg's placeholders: %s and %(name)s.
var pyParams = regexp.MustCompile(`%\([A-Za-z_][A-Za-z0-9_]*\)s|%s`)

// readPython finds the string literals of a Python source that are SQL
// statements (they start like one and parse once %s and %(name)s are read
// as $n; a literal that does not parse is not taken for SQL, so syntax
// errors in Python sources are not reported). Comments are skipped; f-strings are left out (their {…} parts
// are code). Each statement is located in the file exactly: a placeholder
// becomes $n padded with spaces to its own length.
func readPython(path string, src string) *File {
	f := &File{Path: path}
	li := newLineIndex(src)
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
		body := i + len(quote)
		end := body
		for end < len(src) {
			if src[end] == '\\' {
				end += 2
				continue
			}
			if strings.HasPrefix(src[end:], quote) {
				break
			}
			if len(quote) == 1 && src[end] == '\n' {
				break
			}
			end++
		}
		if end > len(src) {
			end = len(src)
		}
		text := src[body:end]
		i = end + len(quote)
		raw := strings.Contains(prefix, "r")
		if strings.Contains(prefix, "f") || strings.Contains(prefix, "b") || (!raw && strings.Contains(text, `\`)) {
			continue // code inside, bytes, or escapes that move positions
		}
		if !sqlStart.MatchString(stripLeadingComments(text)) {
			continue
		}
		n := 0
		sql := pyParams.ReplaceAllStringFunc(text, func(p string) string {
			n++
			s := "$" + strconv.Itoa(n)
			if len(s) < len(p) {
				s += strings.Repeat(" ", len(p)-len(s))
			}
			return s
		})
		if len(sql) != len(text) {
			continue // a placeholder longer than its own spelling: positions would not hold
		}
		cs := constString{value: sql, segs: []segment{{value: sql, fileOff: body, verbatim: true}}}
		for _, st := range goStatements(path, li, cs) {
			if st.Err != nil {
				// Outside a query call a text that does not parse is
				// taken for prose ("Select a report below"), not SQL.
				continue
			}
			st.Source = "python"
			st.Comments = append(commentsAround(li, li.at(start).line, position{}, "#"), st.Comments...)
			f.Statements = append(f.Statements, st)
		}
	}
	first := li.at(len(src)).line
	if len(f.Statements) > 0 {
		first = f.Statements[0].Location.Line - 1
	}
	f.FileComments = commentLines(li, 1, first, "#")
	return f
}

func isIdentByte(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}
