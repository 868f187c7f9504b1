package report

import (
	"fmt"
	"slices"

	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/pgstat"
)

// WhatIfTry is one hypothetical index the what-if engine tried for the
// statement of `pgadvisor explain`: the planner's cost of the statement
// without it and with it.
type WhatIfTry struct {
	Index      string  `json:"index"` // name and definition, e.g. orders_customer_id_idx ON shop.orders USING btree (customer_id)
	SizeBytes  int64   `json:"size_bytes,omitempty"`
	CostBefore float64 `json:"cost_before"`
	// CostAfter is the cost with the index alone; 0 when it could not be planned (Note says why).
	CostAfter float64 `json:"cost_after,omitempty"`
	// Used says whether the plan with the index uses it; Chosen whether it was recommended.
	Used   bool   `json:"used"`
	Chosen bool   `json:"chosen"`
	Note   string `json:"note,omitempty"`
}

// whatIfTries lists the hypothetical indexes tried for a single statement,
// in the order they were built, each with the cost before and after.
func whatIfTries(snap *pgstat.Snapshot) []WhatIfTry {
	res := snap.WhatIf
	if res == nil || len(res.Statements) != 1 {
		return nil
	}
	stmt := res.Statements[0]
	var out []WhatIfTry
	for _, c := range res.Candidates {
		t := WhatIfTry{
			Index:      fmt.Sprintf("%s ON %s USING %s (%s)%s", c.Name(), c.QualifiedTable(), c.Method, c.KeyList(), c.Tail()),
			SizeBytes:  c.SizeBytes,
			CostBefore: num.RoundTo(stmt.Cost, 10),
			Chosen:     slices.Contains(res.Chosen, c.ID),
			Note:       c.Error,
		}
		if c.Unsupported {
			t.Note = "HypoPG cannot build " + c.Method + " indexes: not costed"
		}
		for _, e := range res.Evaluations {
			if e.QueryID == stmt.QueryID && len(e.Set) == 1 && e.Set[0] == c.ID {
				if e.Error != "" {
					t.Note = e.Error
					break
				}
				t.CostAfter = num.RoundTo(e.Cost, 10)
				t.Used = slices.Contains(e.Used, c.ID)
			}
		}
		out = append(out, t)
	}
	return out
}

// writeWhatIfTries prints the hypothetical indexes tried, for explain.
func writeWhatIfTries(ew *errWriter, tries []WhatIfTry, md bool) {
	if len(tries) == 0 {
		return
	}
	if md {
		ew.printf("\n## Hypothetical indexes tried (HypoPG)\n\n")
	} else {
		ew.printf("\nHypothetical indexes tried (HypoPG), planner cost of the statement without → with each:\n")
	}
	for _, t := range tries {
		line := t.Index + ": "
		switch {
		case t.CostAfter > 0:
			line += fmt.Sprintf("cost %.1f → %.1f", t.CostBefore, t.CostAfter)
			if t.CostBefore > 0 {
				line += fmt.Sprintf(" (%+.0f%%)", (t.CostAfter-t.CostBefore)/t.CostBefore*100)
			}
			if t.Used {
				line += ", used by the plan"
			} else {
				line += ", not used by the plan"
			}
		case t.Note != "":
			line += t.Note
		default:
			line += "not costed"
		}
		if t.SizeBytes > 0 {
			line += ", " + num.Bytes(float64(t.SizeBytes))
		}
		if t.Chosen {
			line += "; recommended"
		}
		if md {
			ew.printf("- %s\n", mdEscape(line))
			continue
		}
		ew.printf("%s\n", indentWrap("  "+line, Width, "    "))
	}
}
