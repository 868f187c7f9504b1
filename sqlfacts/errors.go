package sqlfacts

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pganalyze/pg_query_go/v5/parser"
)

// SyntaxError is a statement text that PostgreSQL's parser rejects. Analyze,
// Fingerprint and Split return it (wrapped; use errors.As) so that callers can
// report file:line:col.
type SyntaxError struct {
	Message  string `json:"message"`  // the parser's message, e.g. `syntax error at or near "FORM"`
	Position int    `json:"position"` // 1-based byte offset in the text; 0 when unknown
	Line     int    `json:"line"`     // 1-based; 0 when unknown
	Column   int    `json:"column"`   // 1-based, in characters (runes) from the start of the line; 0 when unknown
}

// Error returns the message followed by the line and column when known.
func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return e.Message
	}
	return fmt.Sprintf("%s (line %d, column %d)", e.Message, e.Line, e.Column)
}

// syntaxError converts a pg_query error about sql into a *SyntaxError; other
// errors are returned unchanged.
func syntaxError(sql string, err error) error {
	var pe *parser.Error
	if !errors.As(err, &pe) {
		return err
	}
	se := &SyntaxError{Message: pe.Message}
	if pe.Cursorpos > 0 {
		// The parser counts characters, not bytes.
		se.Position = byteOffset(sql, pe.Cursorpos)
		se.Line, se.Column = lineCol(sql, se.Position)
	}
	return se
}

// byteOffset converts a 1-based character position in s into a 1-based byte
// offset; a position past the end maps to len(s)+1.
func byteOffset(s string, charPos int) int {
	n := 1
	for i := range s {
		if n == charPos {
			return i + 1
		}
		n++
	}
	return len(s) + 1
}

// lineCol returns the 1-based line and column (in runes) of the 1-based byte
// offset pos in s.
func lineCol(s string, pos int) (line, col int) {
	if pos < 1 {
		pos = 1
	}
	if pos > len(s)+1 {
		pos = len(s) + 1
	}
	prefix := s[:pos-1]
	line = 1 + strings.Count(prefix, "\n")
	if i := strings.LastIndexByte(prefix, '\n'); i >= 0 {
		prefix = prefix[i+1:]
	}
	return line, 1 + utf8.RuneCountInString(prefix)
}
