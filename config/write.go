package config

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pgadvisor/pgadvisor/advisor"
)

// Write prints the effective configuration as a .pgadvisor.yaml that would
// give it, each value followed by a comment saying where it came from
// (default, FILE:LINE or a flag). Every rule and every threshold is listed.
func (c *Config) Write(w io.Writer) error {
	var lines [][2]string // text, source comment
	add := func(text, path string) { lines = append(lines, [2]string{text, c.Source(path)}) }
	head := func(text string) { lines = append(lines, [2]string{text, ""}) }
	value := func(t advisor.Threshold) string {
		v := t.Get(c.Options)
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if t.Size && v > 0 {
			s = sizeText(int64(v))
		}
		return s
	}

	head(advisor.SectionCommon + ":")
	for _, t := range advisor.SectionThresholds(advisor.SectionCommon) {
		add("  "+t.Key+": "+value(t), t.Path())
	}
	head(advisor.SectionWhatIf + ":")
	for _, t := range advisor.SectionThresholds(advisor.SectionWhatIf) {
		add("  "+t.Key+": "+value(t), t.Path())
	}
	head(advisor.SectionReport + ":")
	for _, t := range advisor.SectionThresholds(advisor.SectionReport) {
		add("  "+t.Key+": "+value(t), t.Path())
	}
	head("rules:")
	for _, r := range advisor.All() {
		head("  " + r.Name + ":")
		add(fmt.Sprintf("    enabled: %t", !c.Disabled[r.Name]), EnabledPath(r.Name))
		sev := r.Severity
		if s, ok := c.Options.Policy.Severity[r.Name]; ok {
			sev = s
		}
		add("    severity: "+string(sev), SeverityPath(r.Name))
		if ts := advisor.SectionThresholds(r.Name); len(ts) > 0 {
			head("    thresholds:")
			for _, t := range ts {
				add("      "+t.Key+": "+value(t), t.Path())
			}
		}
	}
	var quoted []string
	for _, f := range c.TrustFunctions {
		quoted = append(quoted, strconv.Quote(f))
	}
	add(PathTrustFunctions+": ["+strings.Join(quoted, ", ")+"]", PathTrustFunctions)
	if len(c.Options.Policy.Ignore) == 0 {
		add(PathIgnore+": []", PathIgnore)
	} else {
		add(PathIgnore+":", PathIgnore)
		for _, ig := range c.Options.Policy.Ignore {
			head("  - rule: " + ig.Rule)
			if ig.Object != "" {
				head("    object: " + ig.Object)
			}
			if ig.Fingerprint != "" {
				head("    fingerprint: " + strconv.Quote(ig.Fingerprint))
			}
			head("    reason: " + strconv.Quote(ig.Reason))
		}
	}

	width := 0
	for _, l := range lines {
		if l[1] != "" && len(l[0]) > width {
			width = len(l[0])
		}
	}
	var b strings.Builder
	if c.Path != "" {
		fmt.Fprintf(&b, "# effective configuration: defaults, then %s, then flags\n", c.Path)
	} else {
		fmt.Fprintf(&b, "# effective configuration: defaults (no %s found), then flags\n", FileName)
	}
	for _, l := range lines {
		if l[1] == "" {
			b.WriteString(l[0] + "\n")
			continue
		}
		fmt.Fprintf(&b, "%-*s  # %s\n", width, l[0], l[1])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// sizeText writes bytes as the largest binary unit that divides them.
func sizeText(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"kB", 1 << 10}} {
		if n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
