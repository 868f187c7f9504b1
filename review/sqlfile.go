package review

import (
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// sqlcName is the line sqlc puts above each query: -- name: GetAuthor :one.
var sqlcName = regexp.MustCompile(`(?m)^\s*--\s*name:\s*\w+\s*:\w+`)

// copyFromStdin starts the data of a psql COPY … FROM stdin, which runs to a
// line holding only \.
var copyFromStdin = regexp.MustCompile(`(?is)^\s*COPY\b[^;]*\bFROM\s+STDIN\b[^;]*;\s*$`)

// maskPsql blanks psql meta-commands (lines starting with a backslash) and
// the data lines of COPY … FROM stdin, keeping every newline so that line
// and column numbers hold.
func maskPsql(text string) string {
	if !strings.Contains(text, `\`) {
		return text
	}
	lines := strings.SplitAfter(text, "\n")
	inCopy := false
	var b strings.Builder
	b.Grow(len(text))
	blank := func(l string) {
		for _, r := range l {
			if r == '\n' || r == '\r' {
				b.WriteRune(r)
			} else {
				b.WriteByte(' ')
			}
		}
	}
	for _, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case inCopy:
			blank(l)
			if t == `\.` {
				inCopy = false
			}
		case strings.HasPrefix(t, `\`):
			blank(l)
		default:
			b.WriteString(l)
			if copyFromStdin.MatchString(l) {
				inCopy = true
			}
		}
	}
	return b.String()
}

// readSQL cuts a SQL file into located statements. source is "sql", "sqlc"
// or "migration" (a plain file holding sqlc's name lines becomes "sqlc").
func readSQL(path, text, source string) *File {
	if source == "sql" && sqlcName.MatchString(text) {
		source = "sqlc"
	}
	f := &File{Path: path}
	li := newLineIndex(text)
	pieces, err := sqlfacts.Split(maskPsql(text))
	if err != nil {
		// The file cannot even be scanned (an unterminated quote): one
		// statement, the whole file, with the scanner's error.
		st := &Statement{SQL: text, Source: source}
		end := li.at(len(text))
		st.Location = Location{Path: path, Line: 1, Column: 1, EndLine: end.line, EndColumn: end.col}
		var se *sqlfacts.SyntaxError
		if errors.As(err, &se) {
			st.Err = se
		} else {
			st.Err = &sqlfacts.SyntaxError{Message: err.Error()}
		}
		f.Statements = append(f.Statements, st)
		return f
	}
	firstLine := li.at(len(text)).line + 1
	for _, p := range pieces {
		start, end := li.at(p.Offset), li.at(p.Offset+len(p.SQL))
		if start.line < firstLine {
			firstLine = start.line
		}
		st := &Statement{
			SQL:      p.SQL,
			Source:   source,
			Location: Location{Path: path, Line: start.line, Column: start.col, EndLine: end.line, EndColumn: end.col},
			Err:      p.Err,
			Comments: commentsAround(li, start.line, end, "--"),
		}
		f.Statements = append(f.Statements, st)
	}
	f.FileComments = commentLines(li, 1, firstLine-1, "--")
	return f
}

// commentsAround are the comment lines (starting with marker) directly
// above line startLine and a comment after the statement's end on its last
// line.
func commentsAround(li *lineIndex, startLine int, end position, marker string) []Comment {
	var out []Comment
	for l := startLine - 1; l >= 1; l-- {
		t := strings.TrimSpace(li.line(l))
		if !strings.HasPrefix(t, marker) {
			break
		}
		out = append(out, Comment{Text: strings.TrimSpace(strings.TrimPrefix(t, marker)), Line: l, Column: indent(li.line(l))})
	}
	if end.line < 1 {
		return out
	}
	rest, col := li.line(end.line), 1
	if n := []rune(rest); end.col >= 1 && end.col-1 <= len(n) {
		rest, col = string(n[end.col-1:]), end.col
	}
	if i := strings.Index(rest, marker); i >= 0 {
		col += utf8.RuneCountInString(rest[:i])
		out = append(out, Comment{Text: strings.TrimSpace(rest[i+len(marker):]), Line: end.line, Column: col})
	}
	return out
}

// commentLines are the comment lines (starting with marker) among lines
// from..to.
func commentLines(li *lineIndex, from, to int, marker string) []Comment {
	var out []Comment
	for l := from; l <= to; l++ {
		if t := strings.TrimSpace(li.line(l)); strings.HasPrefix(t, marker) {
			out = append(out, Comment{Text: strings.TrimSpace(strings.TrimPrefix(t, marker)), Line: l, Column: indent(li.line(l))})
		}
	}
	return out
}

// indent is the 1-based column of a line's first non-blank character.
func indent(line string) int {
	return 1 + utf8.RuneCountInString(line) - utf8.RuneCountInString(strings.TrimLeft(line, " \t"))
}
