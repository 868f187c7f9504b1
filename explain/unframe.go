package explain

import (
	"bytes"
	"regexp"
	"strings"
	"unicode/utf8"
)

var utf8BOM = []byte("\xef\xbb\xbf")

// rowsFooter is psql's "(1 row)" / "(3 rows)" line after a result.
var rowsFooter = regexp.MustCompile(`^\(\d+ rows?\)$`)

// Unframe returns the plan text without what gets pasted around it: a UTF-8
// byte order mark, and psql's frame when the text is a psql result (a
// "QUERY PLAN" header, the rule under it, the table borders of \pset border
// 2 in ASCII or Unicode line style, the "+" or "↵" that end a continued
// line, and the "(N rows)" footer). Anything else is returned unchanged.
func Unframe(data []byte) []byte {
	data = bytes.TrimPrefix(data, utf8BOM)
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	lines := strings.Split(text, "\n")
	start := -1
	for i, l := range lines {
		t := stripBorders(l)
		if t == "" || isRule(t) {
			continue
		}
		if t == "QUERY PLAN" {
			start = i
		}
		break
	}
	if start < 0 {
		return data
	}
	var b strings.Builder
	for _, l := range lines[start+1:] {
		t := stripBorders(l)
		if t == "" || isRule(t) || rowsFooter.MatchString(t) {
			continue
		}
		t = strings.TrimRight(t, " \t")
		switch {
		case strings.HasSuffix(t, "↵"):
			t = strings.TrimSuffix(t, "↵")
		case strings.HasSuffix(t, "+"):
			t = strings.TrimSuffix(t, "+")
		}
		b.WriteString(strings.TrimRight(t, " \t"))
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

const borderRunes = "|║│"

// stripBorders removes a psql table border at each end of a line, and the
// spaces around it; a JSON or text plan line never starts or ends with one.
func stripBorders(l string) string {
	t := strings.TrimSpace(l)
	if r, size := utf8.DecodeRuneInString(t); size > 0 && strings.ContainsRune(borderRunes, r) {
		t = t[size:]
	}
	if r, size := utf8.DecodeLastRuneInString(t); size > 0 && strings.ContainsRune(borderRunes, r) {
		t = t[:len(t)-size]
	}
	return strings.TrimSpace(t)
}

// isRule reports whether a line is a horizontal rule of a psql table
// ("-----", "+----+", "╔════╗", "╞════╡"): dashes, pluses and box-drawing
// characters, with at least one horizontal line.
func isRule(t string) bool {
	dash := false
	for _, r := range t {
		switch {
		case r == '-' || (r >= 0x2500 && r <= 0x257F && !strings.ContainsRune(borderRunes, r)):
			dash = true
		case r == '+' || r == ' ' || strings.ContainsRune(borderRunes, r):
		default:
			return false
		}
	}
	return dash
}

// shorten returns s cut to at most n characters (runes, never half of
// one), with "…" when it was cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos] + "…"
		}
		i++
	}
	return s
}
