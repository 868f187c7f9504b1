package review

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The SQL of application code other than Go (Python, Ruby, JavaScript and
// TypeScript, Java and Kotlin) is read in two steps: a scanner per language
// family finds the string literals of a source (hostLiteral: where its body
// is, how its escapes read, where its ${…} or #{…} parts are), then
// hostFile, shared by all of them, decodes each body into its value,
// reads the placeholders as $n and cuts it into located statements. The
// value keeps a map back to the file (constString's segments), so an
// escape or a ? that became $12 never moves a later column.

// escapeStyle is how backslashes read inside a literal.
type escapeStyle int

const (
	// escNone: every byte of the body is the value's (raw strings, text
	// blocks are close enough, Ruby's <<~'SQL').
	escNone escapeStyle = iota
	// escBackslash: \n \t \r \\ \' \" \` \$ \# and a backslash-newline are
	// decoded; any other escape (\u…, \x…) leaves the literal out.
	escBackslash
	// escQuoteOnly: only \\ and an escaped closing delimiter are escapes
	// (Ruby's '…' and %q).
	escQuoteOnly
)

// hostLiteral is one string literal a scanner found.
type hostLiteral struct {
	start   int // file offset of its first byte (prefix, quote or <<~SQL)
	body    int // file offset of its first content byte
	end     int // file offset after its last content byte
	escapes escapeStyle
	closer  byte     // the closing delimiter (escQuoteOnly)
	interps [][2]int // file offsets of its ${…} / #{…} parts, in order
}

// paramStyle is the set of placeholder spellings a language's drivers use.
type paramStyle uint8

const (
	// paramQuestion: ? (JDBC, ActiveRecord, sqlite3, mysql2, knex); ?? is
	// JDBC's escape for the jsonb ? operator and reads as ?; ?| and ?& (not
	// ?|| or ?&&) are the jsonb operators, kept; ?NNN is $NNN. A lone ? that
	// only parses as the jsonb operator is kept too (literalStatements).
	paramQuestion paramStyle = 1 << iota
	// paramColon: :name (knex, Spring's NamedParameterJdbcTemplate, JPA,
	// ActiveRecord, SQLAlchemy's text(), sqlite3); one name is one $n.
	paramColon
	// paramPercent: %s and %(name)s (psycopg).
	paramPercent
)

// queryCall is the end of the code before a literal that passes it as the
// query of a database call (db.query(, cursor.execute(, conn.prepareStatement(,
// execute <<~SQL, find_by_sql(, the sql`…` tag): a syntax error in such a
// literal is reported; elsewhere a literal that does not parse is prose.
var queryCall = regexp.MustCompile(`(?i)(?:\b(?:query\w*|execute\w*|exec|exec_\w+|prepare\w*|select_(?:all|one|value|values|rows)|find_by_sql|batchUpdate|raw|unsafe)\s*(?:\(\s*\[?\s*|\s+)|\bsql\s*)$`)

// hostFile makes the File of a source from its literals: each literal that
// starts like SQL is decoded, its placeholders read as $n, and cut into
// statements located in the file. A statement that does not parse is kept
// (as a syntax error) only when its literal is a query call's argument.
// marker is the host language's line comment (# or //): such a comment on
// the line above a literal is where its pgadvisor-ignore lives.
func hostFile(path, src, source, marker string, lits []hostLiteral, params paramStyle) *File {
	f := &File{Path: path}
	li := newLineIndex(src)
	for _, lit := range lits {
		cs, interps, ok := decodeLiteral(src, lit)
		if !ok || !sqlStart.MatchString(stripLeadingComments(cs.value)) {
			continue
		}
		above := commentsAround(li, li.at(lit.start).line, position{}, marker)
		call := -1 // whether the literal is a query call's argument, found out when needed
		for _, st := range literalStatements(path, li, cs, interps, params, marker) {
			if st.Err != nil && call < 0 {
				call = 0
				if queryCall.MatchString(src[max(0, lit.start-120):lit.start]) {
					call = 1
				}
			}
			if st.Err != nil && call == 0 {
				continue // prose ("Select a report below"), not SQL
			}
			st.Source = source
			st.Comments = mergeComments(above, st.Comments)
			f.Statements = append(f.Statements, st)
		}
	}
	first := li.at(len(src)).line
	if len(f.Statements) > 0 {
		first = f.Statements[0].Location.Line - 1
	}
	f.FileComments = commentLines(li, 1, first, marker)
	return f
}

// literalStatements reads a literal's placeholders and cuts it into
// statements. When reading ? as placeholders makes a statement fail to
// parse and leaving them parses, the ? were jsonb operators (data ? 'k',
// tags ?| $1) and are kept as written.
func literalStatements(path string, li *lineIndex, cs constString, interps [][2]int, params paramStyle, marker string) []*Statement {
	sts := goStatements(path, li, bindParams(cs, interps, params), marker)
	if params&paramQuestion == 0 || !strings.Contains(cs.value, "?") || countErrors(sts) == 0 {
		return sts
	}
	if alt := goStatements(path, li, bindParams(cs, interps, params&^paramQuestion), marker); countErrors(alt) < countErrors(sts) {
		return alt
	}
	return sts
}

// mergeComments is a followed by the comments of b on lines a lacks (the
// line above a literal is also the line above its first statement when
// both start on one line).
func mergeComments(a, b []Comment) []Comment {
	out := append([]Comment(nil), a...)
	for _, c := range b {
		dup := false
		for _, d := range a {
			dup = dup || d.Line == c.Line
		}
		if !dup {
			out = append(out, c)
		}
	}
	return out
}

func countErrors(sts []*Statement) int {
	n := 0
	for _, st := range sts {
		if st.Err != nil {
			n++
		}
	}
	return n
}

// litBuilder builds a value and its segments, byte by byte of the file.
type litBuilder struct {
	value strings.Builder
	segs  []segment
}

// text appends bytes that are in the file at fileOff as they are.
func (b *litBuilder) text(fileOff int, s string) {
	if s == "" {
		return
	}
	n := b.value.Len()
	if k := len(b.segs); k == 0 || !b.segs[k-1].verbatim || b.segs[k-1].fileOff+n-b.segs[k-1].start != fileOff {
		b.segs = append(b.segs, segment{start: n, fileOff: fileOff, verbatim: true})
	}
	b.value.WriteString(s)
}

// replaced appends s, which stands for the file's bytes at fileOff (a
// decoded escape, a placeholder read as $n): every offset in it maps there.
func (b *litBuilder) replaced(fileOff int, s string) {
	if s == "" {
		return
	}
	b.segs = append(b.segs, segment{start: b.value.Len(), fileOff: fileOff})
	b.value.WriteString(s)
}

// done ends the value; endOff is the file offset just after its last byte.
func (b *litBuilder) done(endOff int) constString {
	v := b.value.String()
	segs := append(b.segs, segment{start: len(v), fileOff: endOff, verbatim: true})
	return constString{value: v, segs: segs}
}

// decodeLiteral is a literal's value with its map to the file, and the
// value offsets of its interpolated parts; ok is false when an escape it
// holds is not read (the literal is left out).
func decodeLiteral(src string, lit hostLiteral) (constString, [][2]int, bool) {
	var b litBuilder
	var interps [][2]int
	next := 0 // the next interpolation
	for i := lit.body; i < lit.end; {
		if next < len(lit.interps) && i == lit.interps[next][0] {
			end := lit.interps[next][1]
			from := b.value.Len()
			b.text(i, src[i:end])
			interps = append(interps, [2]int{from, b.value.Len()})
			i = end
			next++
			continue
		}
		if src[i] == '\\' && lit.escapes != escNone && i+1 < lit.end {
			c := src[i+1]
			if lit.escapes == escQuoteOnly {
				if c == '\\' || c == lit.closer {
					b.replaced(i, string(c))
				} else {
					b.text(i, src[i:i+2])
				}
				i += 2
				continue
			}
			switch c {
			case 'n':
				b.replaced(i, "\n")
			case 't':
				b.replaced(i, "\t")
			case 'r':
				b.replaced(i, "\r")
			case '\\', '\'', '"', '`', '$', '#':
				b.replaced(i, string(c))
			case '\n': // a line continuation: nothing
			default:
				return constString{}, nil, false
			}
			i += 2
			continue
		}
		j := i + 1
		for j < lit.end && src[j] != '\\' && (next >= len(lit.interps) || j < lit.interps[next][0]) {
			j++
		}
		b.text(i, src[i:j])
		i = j
	}
	return b.done(lit.end), interps, true
}

// edit replaces n bytes of a value at off: a placeholder by its $n.
type edit struct {
	off, n int
	name   string // a named placeholder's name: one name, one number
	fixed  string // the replacement when it is not numbered (?? → ?, ?3 → $3)
}

// bindParams reads the placeholders of a value as $1, $2, … in order: the
// interpolated parts always, the spellings of params outside SQL string
// literals, quoted identifiers, dollar quotes and comments (a ? or :name
// there is text, not a placeholder).
func bindParams(cs constString, interps [][2]int, params paramStyle) constString {
	v := cs.value
	var edits []edit
	for _, in := range interps {
		edits = append(edits, edit{off: in[0], n: in[1] - in[0]})
	}
	interpEnd := map[int]int{}
	for _, in := range interps {
		interpEnd[in[0]] = in[1]
	}
	for i := 0; i < len(v); {
		if e, ok := interpEnd[i]; ok {
			i = e
			continue
		}
		c := v[i]
		switch {
		case c == '\'':
			i = skipQuoted(v, i, '\'', i > 0 && (v[i-1] == 'E' || v[i-1] == 'e') && (i < 2 || !isIdentByte(v[i-2])), interpEnd)
		case c == '"':
			i = skipQuoted(v, i, '"', false, interpEnd)
		case c == '-' && strings.HasPrefix(v[i:], "--"):
			if j := strings.IndexByte(v[i:], '\n'); j >= 0 {
				i += j
			} else {
				i = len(v)
			}
		case c == '/' && strings.HasPrefix(v[i:], "/*"):
			i = skipBlockComment(v, i)
		case c == '$' && (i == 0 || !isIdentByte(v[i-1])) && dollarTag.MatchString(v[i:]):
			tag := dollarTag.FindString(v[i:])
			if j := strings.Index(v[i+len(tag):], tag); j >= 0 {
				i += len(tag) + j + len(tag)
			} else {
				i = len(v)
			}
		case c == '?' && params&paramQuestion != 0:
			j := i + 1
			for j < len(v) && v[j] >= '0' && v[j] <= '9' {
				j++
			}
			switch {
			case j == i+1 && j < len(v) && v[j] == '?':
				edits = append(edits, edit{off: i, n: 2, fixed: "?"})
				j++
			case j == i+1 && j < len(v) && (v[j] == '|' || v[j] == '&') && (j+1 == len(v) || v[j+1] != v[j]):
				j++ // the jsonb ?| or ?& operator (a placeholder before || or && is spaced or doubled)
			case j > i+1:
				edits = append(edits, edit{off: i, n: j - i, fixed: "$" + v[i+1:j]})
			default:
				edits = append(edits, edit{off: i, n: 1})
			}
			i = j
		case c == ':' && params&paramColon != 0 && i+1 < len(v) && isIdentStart(v[i+1]) && (i == 0 || v[i-1] != ':' && !isIdentByte(v[i-1])):
			j := i + 1
			for j < len(v) && isIdentByte(v[j]) {
				j++
			}
			edits = append(edits, edit{off: i, n: j - i, name: v[i+1 : j]})
			i = j
		case c == '%' && params&paramPercent != 0 && pyParam.MatchString(v[i:]):
			m := pyParam.FindStringSubmatch(v[i:])
			edits = append(edits, edit{off: i, n: len(m[0]), name: m[1]})
			i += len(m[0])
		default:
			i++
		}
	}
	if len(edits) == 0 {
		return cs
	}
	sort.Slice(edits, func(a, b int) bool { return edits[a].off < edits[b].off })
	var b litBuilder
	numbers := map[string]int{}
	n, prev := 0, 0
	for _, e := range edits {
		cs.copyTo(&b, prev, e.off)
		with := e.fixed
		if with == "" {
			k, ok := numbers[e.name]
			if !ok || e.name == "" {
				n++
				k = n
				if e.name != "" {
					numbers[e.name] = k
				}
			}
			with = "$" + strconv.Itoa(k)
		}
		b.replaced(cs.fileOffset(e.off), with)
		prev = e.off + e.n
	}
	cs.copyTo(&b, prev, len(v))
	return b.done(cs.fileOffset(len(v)))
}

// pyParam is psycopg's %s or %(name)s at the start of a text.
var pyParam = regexp.MustCompile(`^%(?:\(([A-Za-z_][A-Za-z0-9_]*)\))?s`)

// dollarTag is a dollar quote's opening ($$ or $tag$) at the start of a text.
var dollarTag = regexp.MustCompile(`^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$`)

// skipQuoted is the offset after the SQL quoted text (string or identifier)
// opening at v[i]; a doubled quote is one inside it, backslash escapes when
// backslashes (E'…'). Interpolated parts are skipped whole.
func skipQuoted(v string, i int, q byte, backslashes bool, interpEnd map[int]int) int {
	for j := i + 1; j < len(v); j++ {
		if e, ok := interpEnd[j]; ok {
			j = e - 1
			continue
		}
		switch {
		case backslashes && v[j] == '\\':
			j++
		case v[j] == q && j+1 < len(v) && v[j+1] == q:
			j++
		case v[j] == q:
			return j + 1
		}
	}
	return len(v)
}

// skipBlockComment is the offset after the /* */ comment (nested as
// PostgreSQL nests them) opening at v[i].
func skipBlockComment(v string, i int) int {
	depth := 0
	for j := i; j < len(v)-1; j++ {
		switch {
		case v[j] == '/' && v[j+1] == '*':
			depth++
			j++
		case v[j] == '*' && v[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(v)
}

// fileOffset maps a byte offset of the value to the file.
func (cs constString) fileOffset(off int) int {
	seg := cs.segs[0]
	for _, s := range cs.segs {
		if s.start <= off {
			seg = s
		}
	}
	if !seg.verbatim {
		return seg.fileOff
	}
	return seg.fileOff + off - seg.start
}

// copyTo appends the value's bytes from..to to b with their map.
func (cs constString) copyTo(b *litBuilder, from, to int) {
	for k, s := range cs.segs {
		end := len(cs.value)
		if k+1 < len(cs.segs) {
			end = cs.segs[k+1].start
		}
		lo, hi := max(from, s.start), min(to, end)
		if lo >= hi {
			continue
		}
		if s.verbatim {
			b.text(s.fileOff+lo-s.start, cs.value[lo:hi])
		} else {
			b.replaced(s.fileOff, cs.value[lo:hi])
		}
	}
}

func isIdentStart(b byte) bool {
	return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}
