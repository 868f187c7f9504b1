package report

import (
	"fmt"
	"sort"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/internal/num"
)

// CurvePoint is one index of the recommended set, in the order of the time
// it saves per byte, with the cumulative saving and size so far: where the
// curve flattens, the next index buys little for its size (issue 10 §6).
type CurvePoint struct {
	Index     string  `json:"index"`
	FixLabel  string  `json:"fix"`
	SizeBytes int64   `json:"size_bytes"`
	BenefitMS float64 `json:"benefit_ms"`
	// CumulativeMS and CumulativeBytes include this index; CumulativeShare is
	// CumulativeMS as a fraction of the workload's statement time.
	CumulativeMS    float64 `json:"cumulative_ms"`
	CumulativeBytes int64   `json:"cumulative_bytes"`
	CumulativeShare float64 `json:"cumulative_share"`
}

// indexCurve is the verified missing-index recommendations (each with the
// saving HypoPG measured and a size) ordered by saving per byte, cumulated.
func indexCurve(fs []advisor.Finding, fixes []FixEntry, totalMS float64) []CurvePoint {
	label := map[string]string{}
	for _, e := range fixes {
		label[e.FixID] = e.Label
	}
	var pts []CurvePoint
	for _, f := range fs {
		if f.Rule != "missing-index" || f.Fix == nil || f.Fix.Hygiene {
			continue
		}
		benefit, _ := f.Evidence["benefit_ms"].(float64)
		name, _ := f.Evidence["index"].(string)
		size := evidenceSize(f)
		if benefit <= 0 || size <= 0 || name == "" {
			continue // not verified: no measured saving to put on the curve
		}
		pts = append(pts, CurvePoint{Index: name, FixLabel: label[fixKeyOf(f)], SizeBytes: size, BenefitMS: benefit})
	}
	sort.SliceStable(pts, func(i, j int) bool {
		return pts[i].BenefitMS/float64(pts[i].SizeBytes) > pts[j].BenefitMS/float64(pts[j].SizeBytes)
	})
	var ms float64
	var bytes int64
	for i := range pts {
		ms += pts[i].BenefitMS
		bytes += pts[i].SizeBytes
		pts[i].CumulativeMS, pts[i].CumulativeBytes = ms, bytes
		if totalMS > 0 {
			pts[i].CumulativeShare = ms / totalMS
		}
	}
	return pts
}

// writeIndexCurve prints the curve as a table of lines.
func writeIndexCurve(ew *errWriter, pts []CurvePoint, md bool) {
	if len(pts) < 2 {
		return // one index: nothing to choose
	}
	if md {
		ew.printf("\n## Index set: cumulative saving against cumulative size\n\n| fix | index | saves | size | saved so far | size so far |\n|---|---|---|---|---|---|\n")
	} else {
		ew.printf("\nIndex set, by time saved per byte (stop where the saving flattens):\n")
	}
	for _, p := range pts {
		if md {
			ew.printf("| %s | `%s` | %s | %s | %s (%.1f%%) | %s |\n", p.FixLabel, p.Index, Duration(p.BenefitMS), mb(p.SizeBytes), Duration(p.CumulativeMS), p.CumulativeShare*100, mb(p.CumulativeBytes))
			continue
		}
		ew.printf("%s\n", indentWrap(fmt.Sprintf("  %-4s %s saves %s for %s; so far %s (%.1f%% of statement time) for %s",
			p.FixLabel, p.Index, Duration(p.BenefitMS), mb(p.SizeBytes), Duration(p.CumulativeMS), p.CumulativeShare*100, mb(p.CumulativeBytes)), Width, "       "))
	}
}

// mb formats a size in bytes for people.
func mb(b int64) string { return num.Bytes(float64(b)) }
