package sqlfacts

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

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
	// Err is set when this statement does not parse (or is not valid
	// UTF-8); its position is relative to the whole file. The other pieces
	// of the file are still returned.
	Err *SyntaxError `json:"error,omitempty"`
}

// Split cuts a file of statements into pieces with their positions, using
// PostgreSQL's parser so that semicolons in strings, comments and function
// bodies are handled. One bad statement never hides the others: when the
// file as a whole does not parse, it is cut by PostgreSQL's scanner instead
// (quotes, dollar quotes and comments still respected) and each piece is
// parsed alone, a failing one carrying its *SyntaxError (line and column
// relative to the whole file) in Err. The error return is only for a file
// that cannot even be scanned.
func Split(sql string) ([]Piece, error) {
	if !utf8.ValidString(sql) {
		return splitScanned(sql)
	}
	parts, err := pg_query.SplitWithParser(sql, false)
	if err != nil {
		return splitScanned(sql)
	}
	return cut(sql, parts)
}

// splitScanned cuts sql with the scanner and parses each piece on its own.
// Bytes that are not UTF-8 are scanned as '?' (one byte for one, so every
// offset holds) and kept in the pieces, whose Err then says so.
func splitScanned(sql string) ([]Piece, error) {
	scanned := []byte(sql)
	for i := 0; i < len(scanned); {
		r, n := utf8.DecodeRune(scanned[i:])
		if r == utf8.RuneError && n <= 1 {
			scanned[i] = '?'
			n = 1
		}
		i += n
	}
	parts, err := pg_query.SplitWithScanner(string(scanned), false)
	if err != nil {
		return nil, fmt.Errorf("split statements: %w", syntaxError(sql, err))
	}
	pieces, err := cut(string(scanned), parts)
	if err != nil {
		return nil, err
	}
	for i := range pieces {
		p := &pieces[i]
		p.SQL = sql[p.Offset : p.Offset+len(p.SQL)]
		if p.Leading != "" {
			p.Leading = sql[p.Offset-len(p.Leading) : p.Offset]
		}
		p.Err = pieceError(sql, *p)
	}
	return pieces, nil
}

// pieceError is the syntax error of one piece, positioned in the file.
func pieceError(file string, p Piece) *SyntaxError {
	if !utf8.ValidString(p.SQL) {
		pos := p.Offset + 1
		for i, r := range p.SQL {
			if r == utf8.RuneError {
				pos = p.Offset + i + 1
				break
			}
		}
		line, col := lineCol(file, pos)
		return &SyntaxError{Message: "statement is not valid UTF-8", Position: pos, Line: line, Column: col}
	}
	_, err := pg_query.Parse(p.SQL)
	if err == nil {
		return nil
	}
	var se *SyntaxError
	if !errors.As(syntaxError(p.SQL, err), &se) {
		return &SyntaxError{Message: err.Error()}
	}
	if se.Position > 0 {
		se.Position += p.Offset
		se.Line, se.Column = lineCol(file, se.Position)
	}
	return se
}

// cut locates each part in sql and makes it a Piece.
func cut(sql string, parts []string) ([]Piece, error) {
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
		skip := SkipSpaceAndComments(part)
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
