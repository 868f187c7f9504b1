package explain

import "strings"

// MaskValues hides every quoted value in the plan's expressions (Filter,
// Index Cond, Output, keys …). A plan analysed with sampled parameters shows
// the sampled values there — rows of the user's tables, which may be e-mail
// addresses or tokens — and plans are stored in the snapshot and quoted in
// findings.
func (p *Plan) MaskValues() {
	if p != nil && p.Plan != nil {
		p.Plan.maskValues()
	}
}

func (n *Node) maskValues() {
	for _, s := range []*string{&n.Filter, &n.JoinFilter, &n.IndexCond, &n.RecheckCond, &n.HashCond, &n.MergeCond, &n.CacheKey} {
		*s = MaskLiterals(*s)
	}
	for _, list := range [][]string{n.Output, n.SortKey, n.PresortedKey, n.GroupKey} {
		for i := range list {
			list[i] = MaskLiterals(list[i])
		}
	}
	for _, c := range n.Plans {
		c.maskValues()
	}
}

// MaskLiterals hides every string literal of an expression the server
// printed (it always quotes values as '…', doubling quotes inside); a literal
// cut off by truncation is hidden to the end. The LIKE wildcards at either
// end stay ('%…%'): they are the statement's shape, not a value, and
// leading-wildcard reads them.
func MaskLiterals(expr string) string {
	if !strings.Contains(expr, "'") {
		return expr
	}
	var b strings.Builder
	for i := 0; i < len(expr); i++ {
		if expr[i] != '\'' {
			b.WriteByte(expr[i])
			continue
		}
		j := i + 1
		for ; j < len(expr); j++ {
			if expr[j] == '\'' {
				if j+1 < len(expr) && expr[j+1] == '\'' {
					j++
					continue
				}
				break
			}
		}
		b.WriteString(maskValue(expr[i+1 : j]))
		if j < len(expr) {
			b.WriteByte('\'')
		}
		i = j
	}
	return b.String()
}

// maskValue is the masked body of a literal: "'" + its leading % and _, an
// ellipsis, and its trailing %.
func maskValue(body string) string {
	lead := len(body) - len(strings.TrimLeft(body, "%_"))
	if lead == len(body) && lead > 0 {
		return "'" + body // only wildcards: nothing to hide
	}
	trail := len(body) - len(strings.TrimRight(body, "%"))
	return "'" + body[:lead] + "…" + body[len(body)-trail:]
}
