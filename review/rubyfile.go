package review

import (
	"regexp"
	"strings"
)

// readRuby finds the string literals of a Ruby source that are SQL
// statements: '…' and "…" strings, %q and %Q literals and heredocs
// (<<~SQL, <<-SQL, <<SQL, <<~'SQL'), with ActiveRecord's ? and :name and
// #{…} interpolation read as $n. # comments are skipped, and
// `# pgadvisor-ignore` on the line above a literal (above its <<~SQL for a
// heredoc) suppresses.
func readRuby(path string, src string) *File {
	return hostFile(path, src, "ruby", "#", scanRuby(src), paramQuestion|paramColon)
}

// heredocStart is a heredoc's opening: <<~ID, <<-ID, <<ID, the ID quoted or not.
var heredocStart = regexp.MustCompile(`^<<([~-]?)(['"]?)([A-Za-z_][A-Za-z0-9_]*)(['"]?)`)

// rubyPercent is a %q or %Q literal's opening and its delimiter.
var rubyPercent = regexp.MustCompile(`^%([qQ])([^A-Za-z0-9\s])`)

// rubyClosers are the closing delimiters of the bracketing ones.
var rubyClosers = map[byte]byte{'(': ')', '[': ']', '{': '}', '<': '>'}

// scanRuby finds the literals of a Ruby source. A heredoc's body starts on
// the line after its opening (several on one line follow each other) and
// ends at the line holding only its identifier (indented for <<~ and <<-).
func scanRuby(src string) []hostLiteral {
	type pending struct {
		start         int
		id            string
		indented, raw bool
	}
	var lits []hostLiteral
	var docs []pending
	lineStart := true
	for i := 0; i < len(src); {
		c := src[i]
		if lineStart {
			lineStart = false
			switch {
			case strings.HasPrefix(src[i:], "=begin"):
				j := strings.Index(src[i:], "\n=end")
				if j < 0 {
					return lits
				}
				i += j + 1
				continue
			case strings.HasPrefix(src[i:], "__END__"):
				return lits // the rest is data
			}
		}
		switch {
		case c == '\n':
			i++
			lineStart = true
			for _, d := range docs {
				body := i
				for i < len(src) {
					eol := strings.IndexByte(src[i:], '\n')
					line := src[i:]
					if eol >= 0 {
						line = src[i : i+eol]
					}
					t := strings.TrimRight(line, "\r")
					if d.indented {
						t = strings.TrimLeft(t, " \t")
					}
					if t == d.id {
						lit := hostLiteral{start: d.start, body: body, end: i, escapes: escBackslash}
						if d.raw {
							lit.escapes = escNone
						} else {
							lit.interps = rubyInterps(src, body, i)
						}
						lits = append(lits, lit)
						if eol < 0 {
							i = len(src)
						} else {
							i += eol + 1
						}
						break
					}
					if eol < 0 {
						i = len(src)
					} else {
						i += eol + 1
					}
				}
			}
			docs = nil
		case c == '#':
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				return lits
			}
			i += j
		case c == '\'' || c == '"' || c == '`':
			lit := rubyString(src, i, i+1, c, c == '"')
			if c != '`' {
				lits = append(lits, lit)
			}
			i = lit.end + 1
		case c == '%' && rubyPercent.MatchString(src[i:]):
			m := rubyPercent.FindStringSubmatch(src[i:])
			open := m[2][0]
			closer, nests := rubyClosers[open]
			if !nests {
				closer = open
			}
			lit := hostLiteral{start: i, body: i + 3, escapes: escQuoteOnly, closer: closer}
			if m[1] == "Q" {
				lit.escapes = escBackslash
			}
			depth := 0
			end := lit.body
			for ; end < len(src); end++ {
				b := src[end]
				if b == '\\' {
					end++
					continue
				}
				if m[1] == "Q" && strings.HasPrefix(src[end:], "#{") {
					in := interpolation(src, end+1)
					lit.interps = append(lit.interps, [2]int{end, in})
					end = in - 1
					continue
				}
				if nests && b == open {
					depth++
				} else if b == closer {
					if depth == 0 {
						break
					}
					depth--
				}
			}
			lit.end = min(end, len(src))
			lits = append(lits, lit)
			i = lit.end + 1
		case c == '<' && strings.HasPrefix(src[i:], "<<") && heredocStart.MatchString(src[i:]):
			m := heredocStart.FindStringSubmatch(src[i:])
			if m[2] != m[4] || m[1] == "" && m[2] == "" && !(m[3][0] >= 'A' && m[3][0] <= 'Z') {
				i += 2 // the << operator (a << b, items <<x)
				continue
			}
			docs = append(docs, pending{start: i, id: m[3], indented: m[1] != "", raw: m[2] == "'"})
			i += len(m[0])
		default:
			i++
		}
	}
	return lits
}

// rubyString reads a '…', "…" or `…` literal whose body starts at body
// (Ruby strings may span lines); interpolating ones (") record their #{…}.
func rubyString(src string, start, body int, quote byte, interpolating bool) hostLiteral {
	lit := hostLiteral{start: start, body: body, escapes: escQuoteOnly, closer: quote}
	if interpolating {
		lit.escapes = escBackslash
	}
	end := body
	for end < len(src) && src[end] != quote {
		if src[end] == '\\' {
			end += 2
			continue
		}
		if interpolating && strings.HasPrefix(src[end:], "#{") {
			in := interpolation(src, end+1)
			lit.interps = append(lit.interps, [2]int{end, in})
			end = in
			continue
		}
		end++
	}
	lit.end = min(end, len(src))
	return lit
}

// rubyInterps are the #{…} parts of a heredoc body from..to.
func rubyInterps(src string, from, to int) [][2]int {
	var out [][2]int
	for j := from; j < to; j++ {
		if src[j] == '\\' {
			j++
			continue
		}
		if strings.HasPrefix(src[j:], "#{") {
			in := interpolation(src, j+1)
			out = append(out, [2]int{j, in})
			j = in - 1
		}
	}
	return out
}
