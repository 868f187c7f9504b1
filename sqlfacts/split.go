package sqlfacts

import (
	"fmt"
	"strings"
	"unicode"

	pg_query "github.com/pganalyze/pg_query_go/v5"
)

// Piece is one statement of a file of many (a migration, a queries file).
type Piece struct {
	// SQL is the statement text from its first token to its end, without the
	// terminating semicolon and trailing whitespace.
	SQL    string `json:"sql"`
	Line   int    `json:"line"`   // 1-based line where SQL starts in the file
	Column int    `json:"column"` // 1-based column (runes) where SQL starts
	Offset int    `json:"offset"` // 0-based byte offset of SQL in the file
	// Leading is the whitespace and comments between the previous statement and
	// this one (where suppression comments such as "-- pgadvisor-ignore" live).
	Leading string `json:"leading,omitempty"`
}

// Split cuts a file of statements into pieces with their positions, using
// PostgreSQL's parser so that semicolons in strings, comments and function
// bodies are handled. A file that does not parse yields a *SyntaxError
// (wrapped) whose line and column are relative to the whole file.
func Split(sql string) ([]Piece, error) {
	parts, err := pg_query.SplitWithParser(sql, false)
	if err != nil {
		return nil, fmt.Errorf("split statements: %w", syntaxError(sql, err))
	}
	pieces := make([]Piece, 0, len(parts))
	search := 0       // where the next piece is looked for
	cursor := 0       // byte offset that line and col describe
	line, col := 1, 1 // position of cursor
	for _, part := range parts {
		idx := strings.Index(sql[search:], part)
		if idx < 0 {
			return nil, fmt.Errorf("split statements: piece not found in input")
		}
		start := search + idx
		search = start + len(part)
		skip := skipSpaceAndComments(part)
		text := strings.TrimRightFunc(part[skip:], unicode.IsSpace)
		if text == "" {
			continue
		}
		line, col = advance(sql[cursor:start+skip], line, col)
		p := Piece{SQL: text, Line: line, Column: col, Offset: start + skip}
		if skip > 0 {
			p.Leading = part[:skip]
		}
		pieces = append(pieces, p)
		cursor = start + skip
	}
	return pieces, nil
}

// advance moves a line/column position over s.
func advance(s string, line, col int) (int, int) {
	for _, r := range s {
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// skipSpaceAndComments returns the byte length of the whitespace, "--" and
// (nested) "/* */" comments at the start of s.
func skipSpaceAndComments(s string) int {
	i := 0
	for i < len(s) {
		switch {
		case s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f' || s[i] == '\v':
			i++
		case strings.HasPrefix(s[i:], "--"):
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return len(s)
			}
			i += j + 1
		case strings.HasPrefix(s[i:], "/*"):
			depth := 0
			j := i
			for j < len(s) {
				if strings.HasPrefix(s[j:], "/*") {
					depth++
					j += 2
				} else if strings.HasPrefix(s[j:], "*/") {
					depth--
					j += 2
					if depth == 0 {
						break
					}
				} else {
					j++
				}
			}
			i = j
		default:
			return i
		}
	}
	return i
}
