// Package review owns `pgadvisor review`: it finds the SQL statements of a
// repository (SQL files, sqlc query files, migration folders, SQL embedded
// in Go, Python, Ruby, JavaScript/TypeScript, Java and Kotlin sources),
// each with its exact location, runs the offline rules over them (syntax,
// the sql-family rules of advisor, the migration rules),
// applies inline and configured suppressions and a baseline, and prints the
// result as text, JSON, SARIF, GitHub workflow commands or Markdown. It
// never connects to a database.
package review

import (
	"strings"
	"unicode/utf8"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// Location is where a statement (or a finding) is in the repository: the
// path relative to the working directory (slash-separated) and 1-based line
// and column (in characters) of its first character; EndLine and EndColumn
// are those of the character after its last one, as SARIF counts.
type Location struct {
	Path      string `json:"path"`
	Line      int    `json:"line"`
	Column    int    `json:"column"`
	EndLine   int    `json:"end_line"`
	EndColumn int    `json:"end_column"`
}

// Statement is one statement found in a source file.
type Statement struct {
	SQL      string   `json:"sql"`
	Location Location `json:"location"`
	// Source says where it came from: "sql", "sqlc", "migration", "go", "python", "ruby", "javascript" or "jvm" (Java, Kotlin).
	Source string `json:"source"`
	// Migration orders the statements of one migration folder: the file's
	// position in the folder's order (1-based), 0 outside migrations.
	Migration int `json:"migration,omitempty"`
	// Folder is the migration folder (relative path) of a migration statement.
	Folder string `json:"folder,omitempty"`
	// Comments are the comment lines directly above the statement and a
	// comment at its end (where pgadvisor-ignore lives), each with its line.
	Comments []Comment `json:"-"`
	// Err is the statement's syntax error, positioned in the file.
	Err *sqlfacts.SyntaxError `json:"error,omitempty"`
	// Fingerprint is pg_query's fingerprint of a statement that parses,
	// computed when a finding needs it (fingerprint).
	Fingerprint string `json:"fingerprint,omitempty"`
}

// fingerprint is the statement's pg_query fingerprint, or a hash of its
// text when it does not parse.
func (st *Statement) fingerprint() string {
	if st.Fingerprint == "" {
		if fp, err := sqlfacts.Fingerprint(st.SQL); err == nil && st.Err == nil {
			st.Fingerprint = fp
		} else {
			st.Fingerprint = textHash(st.SQL)
		}
	}
	return st.Fingerprint
}

// Comment is one comment line near a statement, without its marker (--, //).
type Comment struct {
	Text   string
	Line   int
	Column int // of the comment marker
}

// File is one source file read, its statements and file-wide comments.
type File struct {
	Path       string
	Statements []*Statement
	// FileComments are the comment lines at the top of the file, before its
	// first statement (where pgadvisor-ignore-file lives).
	FileComments []Comment
}

// position is a 1-based line and column (in runes).
type position struct{ line, col int }

// advance moves p over s.
func (p position) advance(s string) position {
	for _, r := range s {
		if r == '\n' {
			p.line++
			p.col = 1
		} else {
			p.col++
		}
	}
	return p
}

// lineIndex answers the position of a byte offset in a text quickly.
type lineIndex struct {
	text   string
	starts []int // byte offset of each line's start
}

func newLineIndex(text string) *lineIndex {
	li := &lineIndex{text: text, starts: []int{0}}
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			li.starts = append(li.starts, i+1)
		}
	}
	return li
}

// at is the position of the 0-based byte offset off.
func (li *lineIndex) at(off int) position {
	lo, hi := 0, len(li.starts)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if li.starts[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if off > len(li.text) {
		off = len(li.text)
	}
	return position{line: lo + 1, col: 1 + utf8.RuneCountInString(li.text[li.starts[lo]:off])}
}

// line is the text of the 1-based line n, without its newline.
func (li *lineIndex) line(n int) string {
	if n < 1 || n > len(li.starts) {
		return ""
	}
	end := len(li.text)
	if n < len(li.starts) {
		end = li.starts[n] - 1
	}
	return strings.TrimSuffix(li.text[li.starts[n-1]:end], "\r")
}
