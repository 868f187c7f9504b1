package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/config"
	"github.com/pgadvisor/pgadvisor/history"
)

// fleetTarget is one entry of a --targets file.
type fleetTarget struct {
	Name    string `yaml:"name"`
	DSN     string `yaml:"dsn"`
	Service string `yaml:"service"`
	Config  string `yaml:"config"`
}

// fleetEntry is one target's line of the fleet index.
type fleetEntry struct {
	Name     string         `json:"name"`
	Status   string         `json:"status"` // ok, incomplete, failed
	Error    string         `json:"error,omitempty"`
	Verdicts map[string]int `json:"verdicts,omitempty"`
	Findings map[string]int `json:"findings,omitempty"`
	Effects  int            `json:"advice_effects"`
	Report   string         `json:"report,omitempty"` // the target's report file
	// Stored is where the run was stored: the snapshot file of a
	// directory history, or the row of a PostgreSQL one.
	Stored  string  `json:"stored,omitempty"`
	Seconds float64 `json:"seconds"`
	regress bool
	link    string // Report relative to the index file
}

// Link is the entry's report file as the index links it: relative to the
// index file's directory when the index is written to one.
func (e fleetEntry) Link() string { return e.link }

// fleetIndex is what --targets prints.
type fleetIndex struct {
	Kind        string       `json:"kind"` // "report-index"
	GeneratedAt time.Time    `json:"generated_at"`
	Seconds     float64      `json:"seconds"`
	Targets     []fleetEntry `json:"targets"`
}

func readTargets(path string) ([]fleetTarget, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErr("read --targets: %v", err)
	}
	var doc struct {
		Targets []fleetTarget `yaml:"targets"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, usageErr("--targets %s: %v (want targets: a list of name, dsn or service, config)", path, err)
	}
	seen := map[string]bool{}
	for i, t := range doc.Targets {
		switch {
		case !history.ValidTarget(t.Name):
			return nil, usageErr("--targets %s: targets[%d]: name %q: use letters, digits, '.', '_' and '-'", path, i, t.Name)
		case seen[t.Name]:
			return nil, usageErr("--targets %s: target %s named twice", path, t.Name)
		case (t.DSN == "") == (t.Service == ""):
			return nil, usageErr("--targets %s: target %s: give dsn or service, not both or neither", path, t.Name)
		}
		seen[t.Name] = true
		if t.Config != "" && !filepath.IsAbs(t.Config) {
			doc.Targets[i].Config = filepath.Join(filepath.Dir(path), t.Config)
		}
	}
	if len(doc.Targets) == 0 {
		return nil, usageErr("--targets %s lists no target", path)
	}
	return doc.Targets, nil
}

var reportExt = map[string]string{"table": ".txt", "json": ".json", "markdown": ".md", "html": ".html"}

// reportFleet reports on every target of --targets, --parallel at a time,
// each into its own history with its report next to it
// (DIR/<name>/latest.<ext>), and prints the index. A failing target is
// listed with its error and does not stop the others; the exit code is 3
// when one failed, else 1 with --fail-on-regression when one regressed.
func reportFleet(c *cli.Context, cfg *config.Config, _ []*advisor.Rule, keep *history.Keep) error {
	targets, err := readTargets(c.String("targets"))
	if err != nil {
		return err
	}
	base, err := selectedRules(c)
	if err != nil {
		return err
	}
	format := c.String("format")
	print := history.Printers[format]
	start := time.Now()
	entries := make([]fleetEntry, len(targets))
	sem := make(chan struct{}, c.Int("parallel"))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			entries[i] = fleetRun(c, cfg, base, keep, t, print, reportExt[format])
		}()
	}
	wg.Wait()
	idx := fleetIndex{Kind: "report-index", GeneratedAt: time.Now().UTC().Truncate(time.Second), Seconds: roundSeconds(time.Since(start)), Targets: entries}
	for i := range entries {
		entries[i].link = entries[i].Report
		if out := c.String("output"); out != "" && entries[i].Report != "" {
			if rel, err := filepath.Rel(filepath.Dir(out), entries[i].Report); err == nil {
				entries[i].link = filepath.ToSlash(rel)
			}
		}
	}
	if path := c.String("output"); path != "" {
		if err := writeFileAtomic(path, func(w io.Writer) error { return printIndex(w, format, &idx) }); err != nil {
			return failure(fmt.Errorf("write index: %w", err))
		}
	} else if err := printIndex(c.App.Writer, format, &idx); err != nil {
		return failure(err)
	}
	failed, regressed := 0, false
	for _, e := range entries {
		if e.Status != "ok" {
			failed++
		}
		regressed = regressed || e.regress
	}
	if failed > 0 {
		return failure(fmt.Errorf("%d of %d targets failed or were incomplete (listed in the index)", failed, len(entries)))
	}
	if c.Bool("fail-on-regression") && regressed {
		return &exitError{code: exitFindings}
	}
	return nil
}

func roundSeconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }

func fleetRun(c *cli.Context, cfg *config.Config, base []*advisor.Rule, keep *history.Keep, t fleetTarget, print history.Printer, ext string) fleetEntry {
	start := time.Now()
	e := fleetEntry{Name: t.Name, Status: "ok"}
	tcfg := cfg
	if t.Config != "" {
		var err error
		if tcfg, err = config.Load(t.Config); err != nil {
			e.Status, e.Error = "failed", err.Error()
			e.Seconds = roundSeconds(time.Since(start))
			return e
		}
	}
	dsn := t.DSN
	if dsn == "" {
		dsn = "service=" + t.Service
	}
	r, stored, cerr, err := liveRun(c, tcfg, enabledRules(c, tcfg, base), dsn, t.Name, keep)
	if err != nil {
		e.Status, e.Error = "failed", err.Error()
		e.Seconds = roundSeconds(time.Since(start))
		return e
	}
	if cerr != nil {
		e.Status, e.Error = "incomplete", describe(cerr).Error()
	}
	e.Stored = stored
	e.Verdicts, e.Findings, e.Effects, e.regress = r.Summary.Verdicts, r.Summary.Findings, len(r.AdviceEffects), r.Regressions()
	// The target's report: beside its history, or with a PostgreSQL
	// history beside the index file (none when the index goes to stdout).
	path := filepath.Join(c.String("history"), t.Name, "latest"+ext)
	if pgHistory(c.String("history")) {
		out := c.String("output")
		if out == "" {
			e.Seconds = roundSeconds(time.Since(start))
			return e
		}
		path = filepath.Join(filepath.Dir(out), t.Name, "latest"+ext)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		e.Status, e.Error = "failed", fmt.Sprintf("write report: %v", err)
	} else if err := writeFileAtomic(path, func(w io.Writer) error { return print(w, r) }); err != nil {
		e.Status, e.Error = "failed", fmt.Sprintf("write report: %v", err)
	} else {
		e.Report = path
	}
	e.Seconds = roundSeconds(time.Since(start))
	return e
}

func counts(m map[string]int, keys []string) string {
	var parts []string
	for _, k := range keys {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
		}
	}
	return strings.Join(parts, ", ")
}

var verdictKeys = []string{"regressed", "new", "improved", "gone", "unchanged"}
var statusKeys = []string{history.StatusNew, history.StatusPersisting, history.StatusAwaitingReset, history.StatusFixed}

var indexPage = template.Must(template.New("index").Funcs(template.FuncMap{"counts": counts, "v": func() []string { return verdictKeys }, "s": func() []string { return statusKeys }}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pgadvisor report: fleet</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#eee}.failed,.incomplete{color:#b52b27;font-weight:bold}</style>
</head><body><h1>pgadvisor report: {{len .Targets}} targets</h1><p>Generated {{.GeneratedAt.Format "2006-01-02 15:04 UTC"}} in {{.Seconds}} s.</p>
<table><thead><tr><th>Target</th><th>Status</th><th>Statements</th><th>Findings</th><th>Advice applied</th><th>Seconds</th><th>Report</th></tr></thead><tbody>
{{range .Targets}}<tr><td>{{.Name}}</td><td class="{{.Status}}">{{.Status}}{{if .Error}}: {{.Error}}{{end}}</td><td>{{counts .Verdicts v}}</td><td>{{counts .Findings s}}</td><td>{{.Effects}}</td><td>{{.Seconds}}</td><td>{{if .Report}}<a href="{{.Link}}">{{.Link}}</a>{{end}}</td></tr>
{{end}}</tbody></table></body></html>
`))

func printIndex(w io.Writer, format string, idx *fleetIndex) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(idx)
	case "html":
		return indexPage.Execute(w, idx)
	case "markdown":
		var b strings.Builder
		fmt.Fprintf(&b, "## pgadvisor report: %d targets\n\n| Target | Status | Statements | Findings | Advice applied | Seconds | Report |\n|---|---|---|---|---:|---:|---|\n", len(idx.Targets))
		for _, e := range idx.Targets {
			status := e.Status
			if e.Error != "" {
				status += ": " + strings.ReplaceAll(e.Error, "|", `\|`)
			}
			report := ""
			if e.link != "" {
				report = "[" + e.link + "](" + e.link + ")"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %.1f | %s |\n", e.Name, status, counts(e.Verdicts, verdictKeys), counts(e.Findings, statusKeys), e.Effects, e.Seconds, report)
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tSTATUS\tSTATEMENTS\tFINDINGS\tSECONDS")
	for _, e := range idx.Targets {
		status := e.Status
		if e.Error != "" {
			status += ": " + e.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f\n", e.Name, status, counts(e.Verdicts, verdictKeys), counts(e.Findings, statusKeys), e.Seconds)
	}
	return tw.Flush()
}
