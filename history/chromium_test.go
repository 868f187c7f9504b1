package history

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/internal/pgtest"
	"github.com/pgadvisor/pgadvisor/report"
)

// TestHTMLInChromium opens the nightly HTML report in a real headless
// Chromium with every host name resolving to nothing: the page's script runs
// to its end (it marks the body), the browser logs no console error and its
// network log holds no request other than the file itself, and a screenshot
// is written as the test's artefact: $PGADVISOR_ARTIFACTS/report.png, else
// the test's temporary directory (its path is logged).
func TestHTMLInChromium(t *testing.T) {
	browser := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			browser = p
			break
		}
	}
	if browser == "" {
		pgtest.Unavailable(t, "no chromium (make deps installs it)")
	}
	th := advisor.DefaultOptions().Report
	a := stmt(1, "SELECT * FROM t WHERE a < $1", 1000, 2, 0.5)
	f := advisor.Finding{Rule: "seq-scan", Severity: advisor.SeverityError, Message: "a finding", Fingerprint: "aa", Objects: []string{"shop.t"}}
	prev := snapshotAt(t0, a)
	r := Compare("shop", prev, &report.Report{Findings: []advisor.Finding{f}}, nil, th)
	reports := []*Report{r}
	for i := 1; i < 4; i++ {
		a = grow(a, 500, 2*float64(i+1), 0.5)
		cur := snapshotAt(t0.Add(time.Duration(i)*24*time.Hour), a)
		r = Compare("shop", cur, &report.Report{Findings: []advisor.Finding{f}}, &Previous{Snapshot: prev, Report: r}, th)
		reports = append(reports, r)
		prev = cur
	}
	r.SetTrend(reports[:3])
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	out, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := HTML(out, r); err != nil {
		t.Fatal(err)
	}
	out.Close()
	artefacts := os.Getenv("PGADVISOR_ARTIFACTS")
	if artefacts == "" {
		artefacts = dir
	}
	if err := os.MkdirAll(artefacts, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(artefacts, "report.png")
	netlog := filepath.Join(dir, "net.json")
	run := func(page string, extra ...string) (string, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		// The browser's own background traffic is turned down; what is left
		// of it has no initiator ("not an origin"), the page's has one.
		args := append([]string{"--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
			"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
			"--no-pings", "--disable-domain-reliability", "--metrics-recording-only",
			"--user-data-dir=" + filepath.Join(dir, "profile"), "--host-resolver-rules=MAP * ~NOTFOUND",
			"--enable-logging=stderr", "--v=0", "--log-net-log=" + netlog}, extra...)
		args = append(args, "file://"+page)
		cmd := exec.CommandContext(ctx, browser, args...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\n%s", browser, err, stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	// The detector sees a page's request: a control page loading an image.
	control := filepath.Join(dir, "control.html")
	if err := os.WriteFile(control, []byte(`<html><body><img src="http://pgadvisor-test.invalid/x.png"></body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	run(control, "--dump-dom")
	if data, err := os.ReadFile(netlog); err != nil || len(pageRequests(t, data)) == 0 {
		t.Fatalf("the network log check does not see a page's request (%v)", err)
	}
	dom, logs := run(page, "--dump-dom")
	if !strings.Contains(dom, `data-sortable="ready"`) {
		t.Errorf("the page's script did not run to its end:\n%.2000s", dom)
	}
	for _, want := range []string{`id="statements"`, `id="findings"`, "<svg"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %s", want)
		}
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "CONSOLE") || strings.Contains(line, "Uncaught") {
			t.Errorf("console: %s", line)
		}
	}
	if data, err := os.ReadFile(netlog); err != nil {
		t.Errorf("no network log: %v", err)
	} else if urls := pageRequests(t, data); len(urls) > 0 {
		t.Errorf("the page made network requests: %v", urls)
	}
	run(page, "--screenshot="+shot, "--window-size=1200,1800")
	if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
		t.Fatalf("no screenshot at %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
}

// pageRequests lists the http(s) URLs of a Chromium network log that a page
// asked for: its requests carry the page's origin as initiator ("null" for
// a file), the browser's own carry "not an origin".
func pageRequests(t *testing.T, netlog []byte) []string {
	t.Helper()
	var log struct {
		Events []struct {
			Params map[string]any `json:"params"`
		} `json:"events"`
	}
	if err := json.Unmarshal(netlog, &log); err != nil {
		t.Fatalf("network log: %v", err)
	}
	var out []string
	for _, e := range log.Events {
		url, _ := e.Params["url"].(string)
		initiator, ok := e.Params["initiator"].(string)
		if ok && initiator != "not an origin" && (strings.HasPrefix(url, "http://") || strings.HasPrefix(url, "https://")) {
			out = append(out, url)
		}
	}
	return out
}
