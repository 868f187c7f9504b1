package history

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// HTML prints the report as one self-contained page: inline style, inline
// SVG charts, no external script, style, font or image, readable without
// JavaScript (an inline script only makes the tables sortable).
func HTML(w io.Writer, r *Report) error {
	runs := r.Runs
	if len(runs) == 0 {
		tmp := *r
		tmp.SetTrend(nil)
		runs = tmp.Runs
	}
	data := map[string]any{
		"R":          r,
		"Period":     periodText(r),
		"Verdicts":   verdictCounts(r),
		"Statements": shown(r),
		"TotalChart": totalChart(runs),
		"MeanChart":  meanChart(runs, r),
		"FindChart":  findingsChart(runs),
	}
	if err := htmlPage.Execute(w, data); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

const (
	chartW, chartH = 640, 180
	padL, padB     = 60, 30
	padR           = 60 // room for the last run's bar and its centred date
)

// axis maps run i of n and value v of max to SVG coordinates.
func axis(i, n int, v, max float64) (float64, float64) {
	x := float64(padL)
	if n > 1 {
		x += float64(i) * float64(chartW-padL-padR) / float64(n-1)
	} else {
		x += float64(chartW-padL-padR) / 2
	}
	y := float64(chartH - padB)
	if max > 0 {
		y -= v / max * float64(chartH-padB-20)
	}
	return x, y
}

func svgOpen(b *strings.Builder, title string) {
	fmt.Fprintf(b, `<svg role="img" width="%d" height="%d" viewBox="0 0 %d %d"><title>%s</title>`, chartW, chartH, chartW, chartH, template.HTMLEscapeString(title))
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`, padL, chartH-padB, chartW-10, chartH-padB)
	fmt.Fprintf(b, `<line x1="%d" y1="10" x2="%d" y2="%d" stroke="#888"/>`, padL, padL, chartH-padB)
}

func svgLabels(b *strings.Builder, runs []RunPoint, max float64, unit string) {
	fmt.Fprintf(b, `<text x="%d" y="20" font-size="11" text-anchor="end">%s</text>`, padL-4, template.HTMLEscapeString(fmtNum(max)+" "+unit))
	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="11" text-anchor="end">0</text>`, padL-4, chartH-padB)
	for i, p := range runs {
		if len(runs) > 8 && i%(len(runs)/8+1) != 0 && i != len(runs)-1 {
			continue
		}
		x, _ := axis(i, len(runs), 0, 1)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>`, x, chartH-10, p.At.Format("01-02 15:04"))
	}
}

func fmtNum(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// totalChart: total statement time per run, bars.
func totalChart(runs []RunPoint) template.HTML {
	var b strings.Builder
	svgOpen(&b, "Total statement time per run")
	max := 0.0
	for _, p := range runs {
		max = math.Max(max, p.TotalMS)
	}
	bw := math.Max(4, math.Min(40, float64(chartW-padL-40)/float64(len(runs)+1)*0.6))
	for i, p := range runs {
		x, y := axis(i, len(runs), p.TotalMS, max)
		fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#4a78b5"><title>%s: %s ms</title></rect>`, x-bw/2, y, bw, float64(chartH-padB)-y, p.At.Format("2006-01-02 15:04"), fmtNum(p.TotalMS))
	}
	svgLabels(&b, runs, max, "ms")
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

var palette = []string{"#4a78b5", "#d9534f", "#5cb85c", "#f0ad4e", "#8e6bb8"}

// meanChart: the mean time of the report's top statements in each run, lines.
func meanChart(runs []RunPoint, r *Report) template.HTML {
	var b strings.Builder
	svgOpen(&b, "Mean time of the top statements per run")
	ids := heaviest(r, trendStatements)
	max := 0.0
	for _, p := range runs {
		for _, id := range ids {
			max = math.Max(max, p.MeanMS[id])
		}
	}
	for k, id := range ids {
		var pts []string
		for i, p := range runs {
			v, ok := p.MeanMS[id]
			if !ok {
				continue
			}
			x, y := axis(i, len(runs), v, max)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>queryid %s: %s ms</title></circle>`, x, y, palette[k%len(palette)], id, fmtNum(v))
		}
		if len(pts) > 1 {
			fmt.Fprintf(&b, `<polyline class="trend" fill="none" stroke="%s" stroke-width="2" points="%s"/>`, palette[k%len(palette)], strings.Join(pts, " "))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" fill="%s">%s</text>`, chartW-150, 14+k*12, palette[k%len(palette)], id)
	}
	svgLabels(&b, runs, max, "ms")
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

var severityColour = map[string]string{"error": "#d9534f", "warning": "#f0ad4e", "notice": "#5bc0de"}

// findingsChart: the findings of each run by severity, stacked bars.
func findingsChart(runs []RunPoint) template.HTML {
	var b strings.Builder
	svgOpen(&b, "Findings by severity per run")
	max := 0.0
	for _, p := range runs {
		max = math.Max(max, float64(p.Findings["error"]+p.Findings["warning"]+p.Findings["notice"]))
	}
	bw := math.Max(4, math.Min(40, float64(chartW-padL-40)/float64(len(runs)+1)*0.6))
	for i, p := range runs {
		base := 0.0
		for _, sev := range []string{"error", "warning", "notice"} {
			n := float64(p.Findings[sev])
			if n == 0 {
				continue
			}
			x, y0 := axis(i, len(runs), base, max)
			_, y1 := axis(i, len(runs), base+n, max)
			fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d %s</title></rect>`, x-bw/2, y1, bw, y0-y1, severityColour[sev], p.At.Format("2006-01-02 15:04"), p.Findings[sev], sev)
			base += n
		}
	}
	svgLabels(&b, runs, max, "findings")
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

var htmlPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":     ms,
	"change": change,
	"prev":   prevMean,
	"effect": effectMean,
	"blocks": effectBlocks,
	"short":  shortQuery,
	"day":    func(t interface{ Format(string) string }) string { return t.Format("2006-01-02") },
	"join":   strings.Join,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pgadvisor report: {{.R.Target}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#eee;cursor:pointer}td.n{text-align:right;font-variant-numeric:tabular-nums}
.regressed{color:#b52b27;font-weight:bold}.new{color:#8a5a00}.improved{color:#2b7a2b}.fixed,.fixed-awaiting-reset{color:#2b7a2b}
code{font-size:12px}figure{display:inline-block;margin:0 1em 1em 0}figcaption{font-weight:bold}
</style></head><body>
<h1>pgadvisor report: {{.R.Target}}</h1>
<p>Database {{.R.Database}}. Period: {{.Period}}.</p>
<p>Statements: {{.Verdicts}}; {{.R.Summary.Calls}} calls, {{ms .R.Summary.TotalMS}} ms in the interval.</p>
<figure><figcaption>Total statement time per run</figcaption>{{.TotalChart}}</figure>
<figure><figcaption>Mean time of the top statements</figcaption>{{.MeanChart}}</figure>
<figure><figcaption>Findings by severity</figcaption>{{.FindChart}}</figure>
<h2>Statements</h2>
<table class="sortable" id="statements"><thead><tr><th>Verdict</th><th>Calls</th><th>Mean ms</th><th>Before</th><th>Change</th><th>Total ms</th><th>Queryid</th><th>Query</th></tr></thead><tbody>
{{range .Statements}}<tr><td class="{{.Verdict}}">{{.Verdict}}</td><td class="n">{{.Calls}}</td><td class="n">{{ms .MeanMS}}</td><td class="n">{{prev .}}</td><td class="n">{{change .}}</td><td class="n">{{ms .TotalMS}}</td><td>{{.QueryID}}</td><td><code>{{short .Query 120}}</code></td></tr>
{{end}}</tbody></table>
<h2>Findings</h2>
<table class="sortable" id="findings"><thead><tr><th>Status</th><th>First seen</th><th>Severity</th><th>Rule</th><th>Objects</th><th>Message</th></tr></thead><tbody>
{{range .R.Findings}}<tr><td class="{{.Status}}">{{.Status}}</td><td>{{day .FirstSeen}}</td><td>{{.Severity}}</td><td>{{.Rule}}</td><td>{{join .Objects ", "}}</td><td>{{.Message}}</td></tr>
{{end}}</tbody></table>
<h2>Did the advice work</h2>
{{if .R.AdviceEffects}}<table class="sortable" id="advice"><thead><tr><th>Applied</th><th>Change</th><th>Rule</th><th>Mean ms before</th><th>Mean ms after</th><th>Temp blocks per call before</th><th>after</th><th>Size bytes</th><th>Scans</th><th>Statements</th></tr></thead><tbody>
{{range .R.AdviceEffects}}<tr><td>{{.Applied}}</td><td>{{.Change}}</td><td>{{.Rule}}</td><td class="n">{{effect .MeanMSBefore}}</td><td class="n">{{effect .MeanMSAfter}}</td><td class="n">{{blocks .TempBlksBefore}}</td><td class="n">{{blocks .TempBlksAfter}}</td><td class="n">{{.IndexBytes}}</td><td class="n">{{.IndexScans}}</td><td>{{join .Statements ", "}}</td></tr>
{{end}}</tbody></table>{{else}}<p>No index an earlier report proposed was created in this interval.</p>{{end}}
{{range .R.Problems}}<p><strong>Problem ({{.Phase}}):</strong> {{.Message}}</p>{{end}}
<script>
document.querySelectorAll("table.sortable th").forEach(function(th, _){th.addEventListener("click",function(){
var t=th.closest("table"),i=Array.prototype.indexOf.call(th.parentNode.children,th),b=t.tBodies[0],asc=th.dataset.asc!=="1";
var rows=Array.prototype.slice.call(b.rows);rows.sort(function(x,y){var a=x.cells[i].textContent,c=y.cells[i].textContent,na=parseFloat(a),nc=parseFloat(c);
var r=(!isNaN(na)&&!isNaN(nc))?na-nc:a.localeCompare(c);return asc?r:-r;});rows.forEach(function(r){b.appendChild(r);});th.dataset.asc=asc?"1":"0";});});
document.body.dataset.sortable="ready";
</script>
</body></html>
`))
