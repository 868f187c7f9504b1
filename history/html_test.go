package history

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/report"
)

// TestHTMLSelfContained: one file, no external resource (no URL, no src or
// href, no link or import), the three charts as inline SVG with a point per
// run, the tables, and the statement text escaped.
func TestHTMLSelfContained(t *testing.T) {
	th := advisor.DefaultOptions().Report
	a := stmt(1, "SELECT * FROM t WHERE a < $1 AND b = '<script>alert(1)</script>'", 1000, 2, 0.5)
	f := advisor.Finding{Rule: "seq-scan", Severity: advisor.SeverityError, Message: "m & <b>", Fingerprint: "aa", Objects: []string{"shop.t"}}
	var reports []*Report
	prev := snapshotAt(t0, a)
	r := Compare("shop", prev, &report.Report{Findings: []advisor.Finding{f}}, nil, th)
	reports = append(reports, r)
	for i := 1; i < 4; i++ {
		a = grow(a, 500, 2*float64(i+1), 0.5)
		cur := snapshotAt(t0.Add(time.Duration(i)*24*time.Hour), a)
		r = Compare("shop", cur, &report.Report{Findings: []advisor.Finding{f}}, &Previous{Snapshot: prev, Report: r}, th)
		reports = append(reports, r)
		prev = cur
	}
	r.SetTrend(reports[:3])
	if len(r.Runs) != 4 || r.Runs[3].MeanMS["1"] != 8 || r.Runs[0].Findings["error"] != 1 {
		t.Fatalf("trend %+v", r.Runs)
	}
	var b strings.Builder
	if err := HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"http://", "https://", "src=", "href=", "<link", "@import", "url(", "<script>alert"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q", bad)
		}
	}
	if n := strings.Count(page, "<svg"); n != 3 {
		t.Errorf("%d charts, want 3", n)
	}
	if n := len(regexp.MustCompile(`<rect class="bar"`).FindAllString(page, -1)); n != 8 {
		t.Errorf("%d bars, want 4 runs x (total + findings)", n)
	}
	if !strings.Contains(page, `class="trend"`) || !strings.Contains(page, `id="statements"`) || !strings.Contains(page, `id="findings"`) || !strings.Contains(page, "regressed") {
		t.Error("trend line, statements or findings table missing")
	}
	if !strings.Contains(page, "m &amp; &lt;b&gt;") {
		t.Error("finding message not escaped")
	}
}
