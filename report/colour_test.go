package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/pgadvisor/pgadvisor/advisor"
)

var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestSeverityColour(t *testing.T) {
	for _, c := range []struct {
		sev    advisor.Severity
		colour bool
		want   string
	}{
		{advisor.SeverityError, false, "ERROR"},
		{advisor.SeverityWarning, false, "WARNING"},
		{advisor.SeverityNotice, false, "NOTICE"},
		{advisor.SeverityError, true, "\x1b[1;31mERROR\x1b[0m"},
		{advisor.SeverityWarning, true, "\x1b[33mWARNING\x1b[0m"},
		{advisor.SeverityNotice, true, "\x1b[36mNOTICE\x1b[0m"},
		{advisor.Severity("info"), true, "INFO"}, // no colour for what has none
	} {
		if got := SeverityLabel(c.sev, c.colour); got != c.want {
			t.Errorf("SeverityLabel(%s, %v) = %q, want %q", c.sev, c.colour, got, c.want)
		}
	}
}

// TestTableColour: with colour on, the table differs from the plain one
// (the golden file) only by the escapes around severities; off, it is the
// plain table byte for byte.
func TestTableColour(t *testing.T) {
	r := loadInput(t)
	var plain, off, on bytes.Buffer
	if err := Table(&plain, r); err != nil {
		t.Fatal(err)
	}
	if err := TableWith(TableOptions{})(&off, r); err != nil {
		t.Fatal(err)
	}
	if err := TableWith(TableOptions{Colour: true})(&on, r); err != nil {
		t.Fatal(err)
	}
	if off.String() != plain.String() {
		t.Error("TableWith(colour off) differs from Table")
	}
	if ansiEscape.MatchString(plain.String()) {
		t.Error("the plain table has ANSI escapes")
	}
	if !strings.Contains(on.String(), "\x1b[") {
		t.Fatal("the coloured table has no ANSI escape")
	}
	if got := ansiEscape.ReplaceAllString(on.String(), ""); got != plain.String() {
		t.Errorf("the coloured table, escapes removed, differs from the plain one:\n%s", got)
	}
}
