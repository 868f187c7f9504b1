package review

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// queryMethods are the methods of database/sql, pgx and sqlx (and of the
// code sqlc generates over them) whose query argument is the SQL text.
var queryMethods = map[string]bool{
	// database/sql: *DB, *Tx, *Conn; sqlc's DBTX
	"Query": true, "QueryRow": true, "Exec": true, "Prepare": true,
	"QueryContext": true, "QueryRowContext": true, "ExecContext": true, "PrepareContext": true,
	// pgx: Conn, Pool, Tx (ctx first), Batch
	"Queue": true,
	// sqlx
	"Get": true, "Select": true, "GetContext": true, "SelectContext": true,
	"Queryx": true, "QueryRowx": true, "QueryxContext": true, "QueryRowxContext": true,
	"MustExec": true, "MustExecContext": true, "Preparex": true, "PreparexContext": true,
	"NamedExec": true, "NamedExecContext": true, "NamedQuery": true, "NamedQueryContext": true,
}

// sqlStart is how a SQL statement text starts (after comments): a string
// passed to a method named Exec that does not start so is not SQL.
var sqlStart = regexp.MustCompile(`(?i)^\s*(SELECT|WITH|INSERT|UPDATE|DELETE|MERGE|VALUES|TABLE|CREATE|ALTER|DROP|TRUNCATE|LOCK|CALL|DO|EXPLAIN|REFRESH|GRANT|REVOKE|ANALYZE|VACUUM|SET|RESET|SHOW|BEGIN|START|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|LISTEN|NOTIFY|PREPARE|EXECUTE|DEALLOCATE|COMMENT|REINDEX|CLUSTER|DECLARE|FETCH|CLOSE|MOVE|UPSERT|COPY)\b`)

// segment is one string literal of a (possibly concatenated) constant.
type segment struct {
	value    string
	start    int  // value offset where this literal's text starts
	fileOff  int  // file byte offset of the literal's first content byte
	verbatim bool // the content bytes in the file are the value's bytes
}

// constString is a string constant resolved from literals.
type constString struct {
	value string
	segs  []segment
	pos   token.Pos // the first literal's position (dedupes repeated uses)
}

// readGo finds the SQL passed as the query of database/sql, pgx and sqlx
// calls in a Go source file. A file that does not parse as Go is an error.
func readGo(path string, src []byte) (*File, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse Go: %w", err)
	}
	tf := fset.File(file.Pos())
	consts := map[string]ast.Expr{}
	ast.Inspect(file, func(n ast.Node) bool {
		gd, ok := n.(*ast.GenDecl)
		if !ok || (gd.Tok != token.CONST && gd.Tok != token.VAR) {
			return true
		}
		for _, spec := range gd.Specs {
			vs, ok := spec.(*ast.ValueSpec)
			if !ok || len(vs.Values) != len(vs.Names) {
				continue
			}
			for i, name := range vs.Names {
				if gd.Tok == token.CONST || isStringExpr(vs.Values[i]) {
					consts[name.Name] = vs.Values[i]
				}
			}
		}
		return true
	})
	var found []constString
	seen := map[token.Pos]bool{}
	ast.Inspect(file, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || !queryMethods[sel.Sel.Name] {
			return true
		}
		for i, arg := range call.Args {
			if i > 1 {
				break
			}
			cs, ok := resolve(arg, consts, tf, 0)
			if !ok {
				continue
			}
			if !seen[cs.pos] && sqlStart.MatchString(stripLeadingComments(cs.value)) {
				seen[cs.pos] = true
				found = append(found, cs)
			}
			break
		}
		return true
	})
	sort.Slice(found, func(i, j int) bool { return found[i].pos < found[j].pos })
	f := &File{Path: path}
	li := newLineIndex(string(src))
	for _, cs := range found {
		f.Statements = append(f.Statements, literalStatements(path, li, cs, nil, paramQuestion, "//")...)
	}
	last := li.at(len(src)).line
	if len(f.Statements) > 0 {
		last = f.Statements[0].Location.Line - 1
	}
	f.FileComments = commentLines(li, 1, last, "//")
	return f, nil
}

// isStringExpr reports whether e is built only of string literals.
func isStringExpr(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return e.Kind == token.STRING
	case *ast.BinaryExpr:
		return e.Op == token.ADD && isStringExpr(e.X) && isStringExpr(e.Y)
	case *ast.ParenExpr:
		return isStringExpr(e.X)
	}
	return false
}

// resolve evaluates a string constant expression: literals, + of
// constants, parentheses and names of the file's constants.
func resolve(e ast.Expr, consts map[string]ast.Expr, tf *token.File, depth int) (constString, bool) {
	if depth > 20 {
		return constString{}, false
	}
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return constString{}, false
		}
		v, err := strconv.Unquote(e.Value)
		if err != nil {
			return constString{}, false
		}
		raw := strings.HasPrefix(e.Value, "`")
		verbatim := raw && !strings.Contains(e.Value, "\r") || !raw && !strings.Contains(e.Value, `\`)
		seg := segment{value: v, fileOff: tf.Offset(e.Pos()) + 1, verbatim: verbatim}
		return constString{value: v, segs: []segment{seg}, pos: e.Pos()}, true
	case *ast.ParenExpr:
		return resolve(e.X, consts, tf, depth+1)
	case *ast.Ident:
		def, ok := consts[e.Name]
		if !ok {
			return constString{}, false
		}
		return resolve(def, consts, tf, depth+1)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return constString{}, false
		}
		x, ok := resolve(e.X, consts, tf, depth+1)
		if !ok {
			return constString{}, false
		}
		y, ok := resolve(e.Y, consts, tf, depth+1)
		if !ok {
			return constString{}, false
		}
		for _, s := range y.segs {
			s.start += len(x.value)
			x.segs = append(x.segs, s)
		}
		x.value += y.value
		return x, true
	}
	return constString{}, false
}

// stripLeadingComments drops the whitespace and -- or /* */ comments a
// statement text starts with.
func stripLeadingComments(s string) string {
	for {
		t := strings.TrimLeft(s, " \t\r\n")
		switch {
		case strings.HasPrefix(t, "--"):
			i := strings.IndexByte(t, '\n')
			if i < 0 {
				return ""
			}
			s = t[i+1:]
		case strings.HasPrefix(t, "/*"):
			i := strings.Index(t, "*/")
			if i < 0 {
				return ""
			}
			s = t[i+2:]
		default:
			return t
		}
	}
}

// filePos maps a byte offset in the constant's value to the file.
func (cs constString) filePos(li *lineIndex, off int) position {
	return li.at(cs.fileOffset(off))
}

// goStatements cuts one constant into located statements; marker is the
// host language's line comment, looked for above the statement's first line.
func goStatements(path string, li *lineIndex, cs constString, marker string) []*Statement {
	pieces, err := sqlfacts.Split(cs.value)
	first := cs.filePos(li, 0)
	hostComments := commentsAround(li, first.line, position{line: 0}, marker)
	if err != nil {
		end := cs.filePos(li, len(cs.value))
		st := &Statement{SQL: cs.value, Source: "go", Comments: hostComments,
			Location: Location{Path: path, Line: first.line, Column: first.col, EndLine: end.line, EndColumn: end.col}}
		st.Err = &sqlfacts.SyntaxError{Message: err.Error(), Line: first.line, Column: first.col}
		return []*Statement{st}
	}
	var out []*Statement
	for _, p := range pieces {
		start, end := cs.filePos(li, p.Offset), cs.filePos(li, p.Offset+len(p.SQL))
		st := &Statement{
			SQL:      p.SQL,
			Source:   "go",
			Location: Location{Path: path, Line: start.line, Column: start.col, EndLine: end.line, EndColumn: end.col},
			Comments: append(append([]Comment(nil), hostComments...), sqlComments(p.Leading, li, cs, p.Offset-len(p.Leading))...),
		}
		if p.Err != nil {
			e := *p.Err
			if e.Position > 0 {
				pos := cs.filePos(li, e.Position-1)
				e.Line, e.Column = pos.line, pos.col
			} else {
				e.Line, e.Column = start.line, start.col
			}
			st.Err = &e
		}
		out = append(out, st)
	}
	return out
}

// sqlComments are the -- comment lines of a statement's leading text inside
// a constant (sqlc's name line, a pgadvisor-ignore), with their file lines.
func sqlComments(leading string, li *lineIndex, cs constString, off int) []Comment {
	var out []Comment
	for _, l := range strings.SplitAfter(leading, "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "--") {
			out = append(out, Comment{Text: strings.TrimSpace(strings.TrimPrefix(t, "--")), Line: cs.filePos(li, off).line})
		}
		off += len(l)
	}
	return out
}
