package sqlfacts

import (
	"fmt"
	"strconv"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v5"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Redact returns sql with every literal replaced by a $n parameter, numbered
// after the highest $n already in the text, as pg_stat_statements normalises a
// statement: string constants of every spelling ('…', E'…', U&'…', B'…', X'…',
// $$…$$, $tag$…$tag$, so also DO and function bodies), numbers, and the values
// of SET / ALTER SYSTEM / ALTER ROLE … SET even when written as an identifier
// ("…"). The statement is parsed first and the literals are found by
// PostgreSQL's own lexer and parse tree, never by a pattern, so a comment, a
// dollar quote or an escape cannot hide one. Numbers that are type modifiers
// (numeric(10,2), varchar(20)) are kept: they are part of the statement's
// shape. A text that does not parse yields a *SyntaxError (wrapped) and no
// text: callers must drop it rather than keep it raw (see RedactedText).
func Redact(sql string) (string, error) {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return "", fmt.Errorf("redact statement: %w", syntaxError(sql, err))
	}
	scan, err := pg_query.Scan(sql)
	if err != nil {
		return "", fmt.Errorf("redact statement: %w", syntaxError(sql, err))
	}
	consts := map[int32]bool{}  // locations of A_Const nodes (values)
	typmods := map[int32]bool{} // locations of type modifiers
	var spans [][2]int32        // [start, end) of each non-DML statement
	for _, raw := range tree.Stmts {
		collectConsts(raw.ProtoReflect(), consts, typmods, false)
		if !isDML(raw.GetStmt()) {
			end := raw.StmtLocation + raw.StmtLen
			if raw.StmtLen == 0 {
				end = int32(len(sql))
			}
			spans = append(spans, [2]int32{raw.StmtLocation, end})
		}
	}
	inUtility := func(pos int32) bool {
		for _, s := range spans {
			if pos >= s[0] && pos < s[1] {
				return true
			}
		}
		return false
	}
	next := maxParam(scan.Tokens, sql)
	var b strings.Builder
	last := 0
	toks := scan.Tokens
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		start, end := int(t.Start), int(t.End)
		replace := false
		switch t.Token {
		case pg_query.Token_SCONST, pg_query.Token_BCONST, pg_query.Token_XCONST:
			replace = true
		case pg_query.Token_USCONST:
			// The scanner reports no end for U&'…'; find the closing quote.
			end = unicodeStringEnd(sql, start)
			replace = true
		case pg_query.Token_ICONST, pg_query.Token_FCONST:
			replace = !typmods[t.Start]
		case pg_query.Token_IDENT, pg_query.Token_UIDENT:
			// A value written as an identifier: SET x = "…", ALTER SYSTEM SET x = "…".
			replace = consts[t.Start] && inUtility(t.Start)
			if t.Token == pg_query.Token_UIDENT {
				end = unicodeStringEnd(sql, start)
			}
		case pg_query.Token_ASCII_45:
			// A negative number: -5 is one constant.
			if consts[t.Start] && i+1 < len(toks) && (toks[i+1].Token == pg_query.Token_ICONST || toks[i+1].Token == pg_query.Token_FCONST) {
				i++
				end = int(toks[i].End)
				replace = true
			}
		}
		if !replace {
			continue
		}
		if end < start || end > len(sql) {
			end = len(sql)
		}
		b.WriteString(sql[last:start])
		next++
		b.WriteString("$" + strconv.Itoa(next))
		last = end
		// Tokens inside the replaced text (the scanner's U&'…' spans) go with it.
		for i+1 < len(toks) && int(toks[i+1].Start) < end {
			i++
		}
	}
	b.WriteString(sql[last:])
	return b.String(), nil
}

// RedactedText is Redact for texts that enter a snapshot or a finding: the
// redacted text, or, when sql does not parse (a statement cut off by
// track_activity_query_size, a syntax pg_query does not know), a placeholder
// that says the text was dropped. Never the raw text.
func RedactedText(sql string) string {
	if strings.TrimSpace(sql) == "" {
		return sql
	}
	out, err := Redact(sql)
	if err != nil {
		return DroppedText
	}
	return out
}

// DroppedText replaces a statement text that could not be redacted because
// it does not parse. It is a comment: it parses as no statement at all.
const DroppedText = "/* pgadvisor: statement text dropped: it does not parse, so its literals could not be redacted */"

// CallsConnectionFunction reports whether sql calls a function that takes a
// connection string (dblink and its relatives, which carry passwords in
// their first argument). A text that does not parse reports true.
func CallsConnectionFunction(sql string) bool {
	tree, err := pg_query.Parse(sql)
	if err != nil {
		return true
	}
	found := false
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		if found {
			return
		}
		if fc, ok := m.Interface().(*pg_query.FuncCall); ok && strings.HasPrefix(baseName(funcName(fc)), "dblink") {
			found = true
			return
		}
		eachMessage(m, walk)
	}
	for _, raw := range tree.Stmts {
		walk(raw.ProtoReflect())
	}
	return found
}

// collectConsts records the location of every A_Const under m, and of those
// that are type modifiers separately.
func collectConsts(m protoreflect.Message, consts, typmods map[int32]bool, inTypmod bool) {
	switch x := m.Interface().(type) {
	case *pg_query.A_Const:
		if inTypmod {
			typmods[x.Location] = true
		} else {
			consts[x.Location] = true
		}
		return
	case *pg_query.TypeName:
		for _, n := range x.Typmods {
			collectConsts(n.ProtoReflect(), consts, typmods, true)
		}
		for _, n := range x.ArrayBounds {
			collectConsts(n.ProtoReflect(), consts, typmods, true)
		}
		return
	}
	eachMessage(m, func(c protoreflect.Message) { collectConsts(c, consts, typmods, inTypmod) })
}

// eachMessage calls fn for every message field (and list element) of m.
func eachMessage(m protoreflect.Message, fn func(protoreflect.Message)) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil || fd.IsMap() {
			return true
		}
		if fd.IsList() {
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				fn(l.Get(i).Message())
			}
			return true
		}
		fn(v.Message())
		return true
	})
}

// isDML reports whether n is a plain query or data-modifying statement
// (whose values pg_stat_statements already turns into $n).
func isDML(n *pg_query.Node) bool {
	switch n.GetNode().(type) {
	case *pg_query.Node_SelectStmt, *pg_query.Node_InsertStmt, *pg_query.Node_UpdateStmt,
		*pg_query.Node_DeleteStmt, *pg_query.Node_MergeStmt:
		return true
	}
	return false
}

// maxParam is the highest $n among the tokens.
func maxParam(toks []*pg_query.ScanToken, sql string) int {
	max := 0
	for _, t := range toks {
		if t.Token != pg_query.Token_PARAM || int(t.End) > len(sql) {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimPrefix(sql[t.Start:t.End], "$")); err == nil && n > max {
			max = n
		}
	}
	return max
}

// unicodeStringEnd returns the end of the U&'…' (or U&"…") starting at start:
// after the closing quote; a doubled quote does not close it.
func unicodeStringEnd(sql string, start int) int {
	i := start
	for i < len(sql) && sql[i] != '\'' && sql[i] != '"' {
		i++
	}
	if i >= len(sql) {
		return len(sql)
	}
	q := sql[i]
	for i++; i < len(sql); i++ {
		if sql[i] != q {
			continue
		}
		if i+1 < len(sql) && sql[i+1] == q {
			i++
			continue
		}
		return i + 1
	}
	return len(sql)
}
