package advisor

// Helpers that read statement text the way the workload rules need it
// (n-plus-one, unbatched-writes, unbounded-result, denormalization): walk it
// outside strings and comments at a parenthesis depth (sqlfacts.NextToken
// does the lexing), find a keyword at the top level, split a list at its
// top-level commas, list its $n parameters, unquote a name.

import (
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// paramRef is a $n parameter reference.
var paramRef = regexp.MustCompile(`\$(\d+)\b`)

// wlScan walks sql outside string literals, quoted identifiers, dollar
// quotes and comments (sqlfacts.NextToken tells them apart), calling fn with
// each byte offset and the parenthesis depth there; fn returns false to stop.
func wlScan(sql string, fn func(i, depth int) bool) {
	depth := 0
	for i := 0; i < len(sql); {
		kind, end := sqlfacts.NextToken(sql, i)
		switch kind {
		case sqlfacts.TokenString, sqlfacts.TokenQuotedIdentifier, sqlfacts.TokenDollarQuoted, sqlfacts.TokenComment:
			i = end
			continue
		}
		for ; i < end; i++ {
			if sql[i] == ')' {
				depth--
			}
			if !fn(i, depth) {
				return
			}
			if sql[i] == '(' {
				depth++
			}
		}
	}
}

// isIdentStart reports whether c may begin an unquoted identifier.
func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// isIdentChar reports whether c may stand inside an unquoted identifier.
func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' || c == '$' }

// wlFindTop returns the offset of the first top-level (depth 0) occurrence of
// a keyword in sql at or after from, or -1. A keyword may be two words ("order by").
func wlFindTop(sql string, from int, keywords ...string) int {
	found := -1
	wlScan(sql, func(i, depth int) bool {
		if i < from || depth != 0 || !isIdentStart(sql[i]) || (i > 0 && isIdentChar(sql[i-1])) {
			return true
		}
		for _, kw := range keywords {
			if wlKeywordAt(sql, i, kw) {
				found = i
				return false
			}
		}
		return true
	})
	return found
}

// wlKeywordAt reports whether keyword kw (words separated by white space in
// sql) stands at offset i as whole words, in any case.
func wlKeywordAt(sql string, i int, kw string) bool {
	words := strings.Fields(kw)
	for wi, w := range words {
		if i+len(w) > len(sql) || !strings.EqualFold(sql[i:i+len(w)], w) {
			return false
		}
		i += len(w)
		if i < len(sql) && isIdentChar(sql[i]) {
			return false
		}
		if wi < len(words)-1 {
			j := i
			for j < len(sql) && (sql[j] == ' ' || sql[j] == '\t' || sql[j] == '\n' || sql[j] == '\r') {
				j++
			}
			if j == i {
				return false
			}
			i = j
		}
	}
	return true
}

// wlSplitTop splits s at top-level commas.
func wlSplitTop(s string) []string {
	var out []string
	start := 0
	wlScan(s, func(i, depth int) bool {
		if depth == 0 && s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
		return true
	})
	return append(out, s[start:])
}

// wlMatchParen returns the offset of the parenthesis closing the one at open, or -1.
func wlMatchParen(s string, open int) int {
	closeAt := -1
	wlScan(s, func(i, depth int) bool {
		if i > open && depth == 0 && s[i] == ')' {
			closeAt = i
			return false
		}
		return true
	})
	if closeAt >= 0 {
		return closeAt
	}
	return -1
}

// wlParams lists the distinct $n of the texts, in numeric order.
func wlParams(texts ...string) []int {
	seen := map[int]bool{}
	var out []int
	for _, t := range texts {
		for _, m := range paramRef.FindAllStringSubmatch(t, -1) {
			n, _ := strconv.Atoi(m[1])
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	sort.Ints(out)
	return out
}

// wlUnquote is the name part of a possibly qualified, possibly quoted name:
// as written when quoted, lower case otherwise.
func wlUnquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	if i := strings.LastIndex(s, "."); i >= 0 {
		return wlUnquote(s[i+1:])
	}
	return strings.ToLower(s)
}
