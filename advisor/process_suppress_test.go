package advisor

import "testing"

func TestSuppressFindings(t *testing.T) {
	findings := func() []Finding {
		return []Finding{
			{Rule: "redundant-index", Objects: []string{"shop.orders_customer_idx"}, Fingerprint: ""},
			{Rule: "seq-scan", Objects: []string{`"Shop".orders`}, Fingerprint: "abc"},
			{Rule: "unused-index", Objects: []string{"shop.orders_customer_idx"}},
		}
	}
	for _, c := range []struct {
		name       string
		ignore     []Ignore
		kept       []string // rules left
		suppressed int
		unmatched  int
	}{
		{"no policy keeps all", nil, []string{"redundant-index", "seq-scan", "unused-index"}, 0, 0},
		{"by object, only that rule", []Ignore{{Rule: "redundant-index", Object: "shop.orders_customer_idx", Reason: "replica"}}, []string{"seq-scan", "unused-index"}, 1, 0},
		{"by fingerprint", []Ignore{{Rule: "seq-scan", Fingerprint: "abc", Reason: "batch job"}}, []string{"redundant-index", "unused-index"}, 1, 0},
		{"object without quotes matches a quoted one", []Ignore{{Rule: "seq-scan", Object: "Shop.orders", Reason: "r"}}, []string{"redundant-index", "unused-index"}, 1, 0},
		{"case is kept", []Ignore{{Rule: "seq-scan", Object: "shop.orders", Reason: "r"}}, []string{"redundant-index", "seq-scan", "unused-index"}, 0, 1},
		{"wrong rule matches nothing", []Ignore{{Rule: "missing-index", Object: "shop.orders_customer_idx", Reason: "r"}}, []string{"redundant-index", "seq-scan", "unused-index"}, 0, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &Processing{Findings: findings(), Policy: Policy{Ignore: c.ignore}}
			suppressFindings(p)
			var rules []string
			for _, f := range p.Findings {
				rules = append(rules, f.Rule)
			}
			if len(rules) != len(c.kept) {
				t.Fatalf("kept %v, want %v", rules, c.kept)
			}
			for i := range rules {
				if rules[i] != c.kept[i] {
					t.Fatalf("kept %v, want %v", rules, c.kept)
				}
			}
			if len(p.Suppressed) != c.suppressed || len(p.UnmatchedIgnores) != c.unmatched {
				t.Fatalf("suppressed %d unmatched %d, want %d and %d", len(p.Suppressed), len(p.UnmatchedIgnores), c.suppressed, c.unmatched)
			}
			for _, s := range p.Suppressed {
				if s.Reason == "" || s.By != "config" {
					t.Errorf("suppressed without its reason or origin: %+v", s)
				}
			}
		})
	}
}
