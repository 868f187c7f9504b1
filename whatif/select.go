package whatif

import (
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// Recommendation is an index chosen for the workload.
type Recommendation struct {
	Candidate
	// Verified is set when the planner (HypoPG) showed that it uses the index
	// and that it cuts the cost of the statements below by MinCostReduction.
	Verified bool `json:"verified"`
	// CostBefore and CostAfter are the summed planner costs of the statements
	// served, without and with the chosen indexes (0 when not verified).
	CostBefore float64 `json:"cost_before"`
	CostAfter  float64 `json:"cost_after"`
	// SizeBytes is hypopg_relation_size corrected for btree deduplication
	// (Candidate.SizeDedup), or a rough estimate when not verified, bytes.
	SizeBytes int64 `json:"size_bytes"`
	// BenefitMS is the statement time the index saves, Σ calls × mean time ×
	// cost reduction, milliseconds (0 when not verified).
	BenefitMS float64 `json:"benefit_ms"`
	// TotalMS is the summed time of the statements served, milliseconds.
	TotalMS    float64         `json:"total_ms"`
	Statements []StatementGain `json:"statements"`
	WriteCost  WriteCost       `json:"write_cost"`
	// PlanMode is how the statements were planned: generic (for $n) or plain.
	PlanMode explain.Mode `json:"plan_mode,omitempty"`
}

// StatementGain is what a recommendation does for one statement.
type StatementGain struct {
	QueryID    string  `json:"queryid"`
	CostBefore float64 `json:"cost_before"`
	CostAfter  float64 `json:"cost_after"`
	Reduction  float64 `json:"reduction"` // 1 - after/before
	Calls      int64   `json:"calls"`
	TotalMS    float64 `json:"total_ms"`   // milliseconds
	BenefitMS  float64 `json:"benefit_ms"` // milliseconds saved, its share when several new indexes serve it
}

// WriteCost is what a new index costs the table's writes.
type WriteCost struct {
	RowsWritten     int64   `json:"rows_written"` // n_tup_ins + n_tup_upd + n_tup_del
	RowsRead        int64   `json:"rows_read"`    // seq_tup_read + idx_tup_fetch
	WriteShare      float64 `json:"write_share"`  // written / (written + read)
	ExistingIndexes int     `json:"existing_indexes"`
	WriteHeavy      bool    `json:"write_heavy,omitempty"`
	// PenaltyMS estimates the time the index adds to the workload's writes of
	// the table when it is write-heavy: the writing statements' time ÷
	// (existing indexes + 2), milliseconds.
	PenaltyMS float64 `json:"penalty_ms,omitempty"`
}

// Select chooses the indexes to create for the whole workload. With a
// verified Result it is the greedy choice by benefit per byte (benefit =
// Σ calls × mean time × cost reduction over the statements served, minus the
// write penalty on write-heavy tables), re-evaluated with the chosen set
// present (recorded costs, else the best single-index cost), then pruned of
// any index the others make unnecessary; it honours MaxNewIndexes and
// StorageBudgetBytes. Without HypoPG results (res nil or Unavailable) it
// returns the primary candidates, heaviest first, unverified. Candidates
// HypoPG cannot build (GIN) are added unverified when no chosen index
// already serves their statements. Select is pure.
func Select(snap *pgstat.Snapshot, inputs []Input, res *Result, opts Options) []Recommendation {
	opts = withDefaults(opts)
	if res == nil || res.HypoPG == "" {
		var cands []Candidate
		for _, c := range Candidates(snap, inputs, opts) {
			if res == nil || !slices.Contains(res.NotImmutable, c.ID()) {
				cands = append(cands, c)
			}
		}
		return unverified(snap, inputs, cands, opts, 0, nil)
	}
	res = eligibleOnly(snap, res, opts)
	s := newSelector(inputs, res, opts, nil)
	s.snap = snap
	chosen := s.run()
	recs := s.recommendations(snap, chosen)
	var size int64
	for _, r := range recs {
		size += r.SizeBytes
	}
	// Unsupported methods (trigram GIN) for statements the chosen set does not serve.
	var chosenIDs []string
	for _, c := range chosen {
		chosenIDs = append(chosenIDs, c.ID)
	}
	var extra []Candidate
	for _, cc := range res.Candidates {
		if !cc.Unsupported {
			continue
		}
		helped := false
		for _, q := range cc.QueryIDs {
			if after, _ := s.eval(q, s.servingSet(q, chosenIDs)); s.counts(q, after) {
				helped = true
			}
		}
		if !helped {
			extra = append(extra, cc.Candidate)
		}
	}
	return append(recs, unverified(snap, inputs, extra, opts, size, recs)...)
}

// eligibleOnly is res without the candidates on tables opts makes too small
// for an index (MinTableRows, MinTableBytes): a recorded result replayed
// with stricter options (an offline re-run) honours them. Looser options
// cannot add candidates the recorded evaluation did not cost.
func eligibleOnly(snap *pgstat.Snapshot, res *Result, opts Options) *Result {
	if snap == nil {
		return res
	}
	cat := newCatalog(snap)
	var keep []CandidateCost
	for _, cc := range res.Candidates {
		if t := cat.table(cc.Schema, cc.Table); t == nil || cat.eligible(t, opts) {
			keep = append(keep, cc)
		}
	}
	if len(keep) == len(res.Candidates) {
		return res
	}
	out := *res
	out.Candidates = keep
	return &out
}

// unverified turns candidates into unverified recommendations: primary
// shapes only, heaviest first, within the caps.
func unverified(snap *pgstat.Snapshot, inputs []Input, cands []Candidate, opts Options, usedBytes int64, have []Recommendation) []Recommendation {
	byID := inputsByID(inputs)
	var out []Recommendation
	for _, c := range cands {
		if c.Alternative {
			continue
		}
		if opts.MaxNewIndexes > 0 && len(have)+len(out) >= opts.MaxNewIndexes {
			break
		}
		size, dedup := statsDedupSize(snap, c, c.EstimatedSize())
		c.SizeDedup = dedup
		if opts.StorageBudgetBytes > 0 && usedBytes+size > opts.StorageBudgetBytes {
			continue
		}
		usedBytes += size
		r := Recommendation{Candidate: c, SizeBytes: size, WriteCost: writeCost(snap, inputs, c, 0)}
		for _, q := range c.QueryIDs {
			in := byID[q]
			r.TotalMS += in.TotalMS
			r.Statements = append(r.Statements, StatementGain{QueryID: q, Calls: in.Calls, TotalMS: in.TotalMS})
		}
		out = append(out, r)
	}
	return out
}

func inputsByID(inputs []Input) map[string]Input {
	m := map[string]Input{}
	for _, in := range inputs {
		if _, ok := m[in.QueryID]; !ok {
			m[in.QueryID] = in
		}
	}
	return m
}

// oracle returns a statement's evaluation with exactly a set of candidates (live).
type oracle func(q string, set []string) (Evaluation, bool)

type selector struct {
	snap     *pgstat.Snapshot
	opts     Options
	res      *Result
	inputs   map[string]Input
	before   map[string]float64
	modes    map[string]explain.Mode
	cands    map[string]*CandidateCost
	order    []string // candidate IDs, in Result order
	evals    map[string]Evaluation
	live     oracle
	penalty  map[string]float64
	benefits map[string]float64
}

func evalKey(q string, set []string) string { return q + "\x00" + strings.Join(set, "\x01") }

func newSelector(inputs []Input, res *Result, opts Options, live oracle) *selector {
	s := &selector{opts: opts, res: res, inputs: inputsByID(inputs), before: map[string]float64{}, modes: map[string]explain.Mode{},
		cands: map[string]*CandidateCost{}, evals: map[string]Evaluation{}, live: live, penalty: map[string]float64{}, benefits: map[string]float64{}}
	for _, st := range res.Statements {
		if st.Error == "" && st.Cost > 0 {
			s.before[st.QueryID] = st.Cost
			s.modes[st.QueryID] = st.Mode
		}
	}
	for i := range res.Candidates {
		cc := &res.Candidates[i]
		if cc.ID == "" {
			cc.ID = cc.Candidate.ID()
		}
		s.cands[cc.ID] = cc
		s.order = append(s.order, cc.ID)
	}
	for _, ev := range res.Evaluations {
		if ev.Error == "" {
			s.evals[evalKey(ev.QueryID, ev.Set)] = ev
		}
	}
	return s
}

// servingSet is the part of set whose candidates were built for q, sorted.
func (s *selector) servingSet(q string, set []string) []string {
	var out []string
	for _, id := range set {
		if c := s.cands[id]; c != nil {
			for _, x := range c.QueryIDs {
				if x == q {
					out = append(out, id)
					break
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// eval is q's cost and the used candidates with set (already restricted to q) present.
func (s *selector) eval(q string, set []string) (float64, []string) {
	before, ok := s.before[q]
	if !ok {
		return 0, nil
	}
	if len(set) == 0 {
		return before, nil
	}
	key := evalKey(q, set)
	if ev, ok := s.evals[key]; ok {
		return ev.Cost, ev.Used
	}
	if s.live != nil {
		if ev, ok := s.live(q, set); ok {
			s.evals[key] = ev
			return ev.Cost, ev.Used
		}
	}
	// Offline approximation: the best single index of the set.
	best, used := before, []string(nil)
	for _, id := range set {
		if ev, ok := s.evals[evalKey(q, []string{id})]; ok && ev.Cost < best && len(ev.Used) > 0 {
			best, used = ev.Cost, ev.Used
		}
	}
	return best, used
}

// counts reports whether cost after is enough of a cut of q's cost:
// MinCostReduction of it and at least MinCostSaved cost units.
func (s *selector) counts(q string, after float64) bool {
	before := s.before[q]
	return before > 0 && 1-after/before >= s.opts.MinCostReduction && before-after >= s.opts.MinCostSaved
}

// reduction is 1 - cost with set / cost without, for q.
func (s *selector) reduction(q string, set []string) float64 {
	before, ok := s.before[q]
	if !ok || before <= 0 {
		return 0
	}
	after, _ := s.eval(q, set)
	return 1 - after/before
}

func (s *selector) statements() []string {
	var qs []string
	for q := range s.before {
		if _, ok := s.inputs[q]; ok { // only the statements given to Select
			qs = append(qs, q)
		}
	}
	sort.Strings(qs)
	return qs
}

// benefit is the workload time saved by set, milliseconds: statements whose
// cost falls by at least MinCostReduction count with their reduction.
func (s *selector) benefit(set []string) float64 {
	sorted := append([]string(nil), set...)
	sort.Strings(sorted)
	key := strings.Join(sorted, "\x01")
	if b, ok := s.benefits[key]; ok {
		return b
	}
	total := 0.0
	for _, q := range s.statements() {
		sub := s.servingSet(q, sorted)
		if len(sub) == 0 {
			continue
		}
		if after, _ := s.eval(q, sub); s.counts(q, after) {
			total += s.inputs[q].weight() * (1 - after/s.before[q])
		}
	}
	s.benefits[key] = total
	return total
}

// eligible are the candidates that, alone, the planner uses for a statement
// and that save it at least MinCostSaved cost units. They need not reach
// MinCostReduction alone: a join may need an index on each side, and only the
// pair cuts the cost enough; the greedy choice counts a statement only when
// the chosen set as a whole reaches MinCostReduction.
func (s *selector) eligible() []string {
	var out []string
	for _, id := range s.order {
		c := s.cands[id]
		if c.Error != "" || c.Unsupported {
			continue
		}
		for _, q := range c.QueryIDs {
			ev, ok := s.evals[evalKey(q, []string{id})]
			if !ok || len(ev.Used) == 0 {
				continue
			}
			if before, ok := s.before[q]; ok && before-ev.Cost >= s.opts.MinCostSaved {
				out = append(out, id)
				break
			}
		}
	}
	return out
}

func (s *selector) writePenalty(id string) float64 {
	if p, ok := s.penalty[id]; ok {
		return p
	}
	p := 0.0
	if s.snap != nil {
		var inputs []Input
		for _, in := range s.inputs {
			inputs = append(inputs, in)
		}
		p = writeCost(s.snap, inputs, s.cands[id].Candidate, s.opts.WriteHeavyShare).PenaltyMS
	}
	s.penalty[id] = p
	return p
}

// run is the greedy choice, then the pruning; it returns the chosen candidates.
func (s *selector) run() []*CandidateCost {
	var chosen []string
	var used int64
	cur := 0.0
	elig := s.eligible()
	for steps := 0; steps < 4*len(elig)+4; steps++ {
		atCap := s.opts.MaxNewIndexes > 0 && len(chosen) >= s.opts.MaxNewIndexes
		best, bestScore := "", 0.0
		var bestSet []string
		var bestSize int64
		for _, id := range elig {
			if slices.Contains(chosen, id) {
				continue
			}
			// A variant of a chosen index (the covering one of a plain
			// one, or back) replaces it: the set never holds both.
			set := append(append([]string(nil), chosen...), id)
			size, penalty := s.cands[id].SizeBytes, s.writePenalty(id)
			if x := s.variantIn(chosen, id); x >= 0 {
				set = append(append(append([]string(nil), chosen[:x]...), chosen[x+1:]...), id)
				size -= s.cands[chosen[x]].SizeBytes
				penalty -= s.writePenalty(chosen[x])
			} else if atCap {
				continue // at MaxNewIndexes only a replacement fits
			}
			if s.opts.StorageBudgetBytes > 0 && used+size > s.opts.StorageBudgetBytes {
				continue
			}
			gain := s.benefit(set) - cur - penalty
			if gain <= 0 {
				continue
			}
			score := gain / float64(max(size, 8192))
			if score > bestScore {
				best, bestScore, bestSet, bestSize = id, score, set, size
			}
		}
		if best == "" {
			// No single index pays on its own: try pairs that serve a
			// statement together (an index on each side of a join, or on
			// both sides of an IN subquery).
			var pair []string
			if !atCap {
				pair = s.bestPair(chosen, elig, used, cur)
			}
			if pair == nil {
				break
			}
			for _, id := range pair {
				chosen = append(chosen, id)
				used += s.cands[id].SizeBytes
			}
			cur = s.benefit(chosen)
			continue
		}
		chosen = bestSet
		used += bestSize
		cur = s.benefit(chosen)
	}
	// Prune: drop an index whose marginal benefit, given the others, does
	// not pay for its writes, or is under 1% of the set's benefit and under
	// 5% of the time the set leaves. The second measure keeps an index for
	// a statement that was small beside the ones the set fixes and is what
	// remains once they are fixed (the shop's product page: 0.9% of the
	// workload before, an index-only scan that takes it from 78 to 32 ms a
	// run, when the set left 230).
	total := 0.0
	for _, q := range s.statements() {
		total += s.inputs[q].weight()
	}
	for i := len(chosen) - 1; i >= 0 && len(chosen) > 1; i-- {
		without := append(append([]string(nil), chosen[:i]...), chosen[i+1:]...)
		b := s.benefit(without)
		if marginal := cur - b; marginal <= s.writePenalty(chosen[i])+min(0.01*cur, 0.05*max(total-cur, 0)) {
			chosen, cur = without, b
		}
	}
	// A covering index keeps its INCLUDE columns only when they pay like
	// an index of their own would: the plain variant, smaller, replaces it
	// when it loses at most 1% of the set's benefit, or when no statement
	// served costs MinCostSaved cost units more with it (an index-only scan
	// that saves a heap fetch or two per call does not pay for its columns).
	for i, id := range chosen {
		if !s.cands[id].Covering() {
			continue
		}
		for _, p := range elig {
			if c := s.cands[p]; c.Covering() || !variantOf(c.Candidate, s.cands[id].Candidate) {
				continue
			}
			with := append([]string(nil), chosen...)
			with[i] = p
			b := s.benefit(with)
			if cur-b <= 0.01*cur+s.writePenalty(p)-s.writePenalty(id) || !s.savesOver(id, p, chosen, with) {
				chosen, cur = with, b
			}
			break
		}
	}
	out := make([]*CandidateCost, len(chosen))
	for i, id := range chosen {
		out[i] = s.cands[id]
	}
	return out
}

// savesOver reports whether a statement of candidate id costs at least
// MinCostSaved cost units less with set than with alt (set with id's plain
// variant instead).
func (s *selector) savesOver(id, variant string, set, alt []string) bool {
	for _, q := range s.cands[id].QueryIDs {
		if _, ok := s.before[q]; !ok {
			continue
		}
		with, _ := s.eval(q, s.servingSet(q, set))
		without, _ := s.eval(q, s.servingSet(q, alt))
		if without-with >= s.opts.MinCostSaved {
			return true
		}
	}
	return false
}

// variantIn is the index in chosen of a variant of id (variantOf), or -1.
func (s *selector) variantIn(chosen []string, id string) int {
	for i, c := range chosen {
		if variantOf(s.cands[c].Candidate, s.cands[id].Candidate) {
			return i
		}
	}
	return -1
}

// variantOf reports whether a and b are the same index but for INCLUDE
// columns (a covering candidate and its plain one): alternatives for the
// same statements, never both worth building.
func variantOf(a, b Candidate) bool {
	if !a.Covering() && !b.Covering() {
		return false
	}
	x, y := a, b
	x.Include, y.Include = nil, nil
	return x.ID() == y.ID()
}

// maxPairCandidates bounds the pair search (n² planner calls at most).
const maxPairCandidates = 12

// bestPair returns the two eligible candidates, not yet chosen, that serve a
// common statement and together gain the most per byte, or nil.
func (s *selector) bestPair(chosen, elig []string, used int64, cur float64) []string {
	var rest []string
	for _, id := range elig {
		if !slices.Contains(chosen, id) && s.variantIn(chosen, id) < 0 && len(rest) < maxPairCandidates {
			rest = append(rest, id)
		}
	}
	var best []string
	bestScore := 0.0
	for i := 0; i < len(rest); i++ {
		for j := i + 1; j < len(rest); j++ {
			a, b := s.cands[rest[i]], s.cands[rest[j]]
			if !shareStatement(a.QueryIDs, b.QueryIDs) || variantOf(a.Candidate, b.Candidate) {
				continue
			}
			size := a.SizeBytes + b.SizeBytes
			if s.opts.StorageBudgetBytes > 0 && used+size > s.opts.StorageBudgetBytes {
				continue
			}
			if s.opts.MaxNewIndexes > 0 && len(chosen)+2 > s.opts.MaxNewIndexes {
				continue
			}
			set := append(append([]string(nil), chosen...), rest[i], rest[j])
			gain := s.benefit(set) - cur - s.writePenalty(rest[i]) - s.writePenalty(rest[j])
			if gain <= 0 {
				continue
			}
			if score := gain / float64(max(size, 8192)); score > bestScore {
				best, bestScore = []string{rest[i], rest[j]}, score
			}
		}
	}
	return best
}

func shareStatement(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// recommendations describes the chosen set: per index the statements whose
// plan uses it with the whole set present.
func (s *selector) recommendations(snap *pgstat.Snapshot, chosen []*CandidateCost) []Recommendation {
	var ids []string
	for _, c := range chosen {
		ids = append(ids, c.ID)
	}
	recs := make([]Recommendation, len(chosen))
	for i, c := range chosen {
		recs[i] = Recommendation{Candidate: c.Candidate, Verified: true, SizeBytes: c.SizeBytes}
		recs[i].QueryIDs = nil
	}
	var inputs []Input
	for _, in := range s.inputs {
		inputs = append(inputs, in)
	}
	for _, q := range s.statements() {
		sub := s.servingSet(q, ids)
		if len(sub) == 0 {
			continue
		}
		after, used := s.eval(q, sub)
		before := s.before[q]
		red := 1 - after/before
		if !s.counts(q, after) || len(used) == 0 {
			continue
		}
		in := s.inputs[q]
		for i, c := range chosen {
			if !slices.Contains(used, c.ID) {
				continue
			}
			g := StatementGain{QueryID: q, CostBefore: round2(before), CostAfter: round2(after), Reduction: round4(red), Calls: in.Calls,
				TotalMS: in.TotalMS, BenefitMS: round2(in.weight() * red / float64(len(used)))}
			r := &recs[i]
			r.Statements = append(r.Statements, g)
			r.QueryIDs = append(r.QueryIDs, q)
			r.CostBefore += before
			r.CostAfter += after
			r.BenefitMS += g.BenefitMS
			r.TotalMS += in.TotalMS
			if r.PlanMode == "" || s.modes[q] == explain.ModeGeneric {
				r.PlanMode = s.modes[q]
			}
		}
	}
	var out []Recommendation
	for _, r := range recs {
		if len(r.Statements) == 0 {
			continue
		}
		r.CostBefore, r.CostAfter, r.BenefitMS = round2(r.CostBefore), round2(r.CostAfter), round2(r.BenefitMS)
		r.WriteCost = writeCost(snap, inputs, r.Candidate, s.opts.WriteHeavyShare)
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].BenefitMS > out[j].BenefitMS })
	return out
}

// writeCost measures the table's writes against its reads.
func writeCost(snap *pgstat.Snapshot, inputs []Input, c Candidate, heavyShare float64) WriteCost {
	var wc WriteCost
	if snap == nil {
		return wc
	}
	var t *pgstat.Table
	for i := range snap.Tables {
		if snap.Tables[i].Schema == c.Schema && snap.Tables[i].Name == c.Table {
			t = &snap.Tables[i]
		}
	}
	if t == nil {
		return wc
	}
	wc.RowsWritten = t.NTupIns + t.NTupUpd + t.NTupDel
	wc.RowsRead = t.SeqTupRead + t.IdxTupFetch
	if n := wc.RowsWritten + wc.RowsRead; n > 0 {
		wc.WriteShare = round4(float64(wc.RowsWritten) / float64(n))
	}
	for _, ix := range snap.Indexes {
		if ix.Schema == c.Schema && ix.Table == c.Table {
			wc.ExistingIndexes++
		}
	}
	if heavyShare <= 0 || wc.WriteShare < heavyShare {
		return wc
	}
	wc.WriteHeavy = true
	writes := 0.0
	for _, in := range inputs {
		f := in.Facts
		if f == nil || f.Target == nil || f.Target.Name != c.Table || (f.Target.Schema != "" && f.Target.Schema != c.Schema) {
			continue
		}
		switch f.Kind {
		case sqlfacts.KindInsert, sqlfacts.KindUpdate, sqlfacts.KindDelete, sqlfacts.KindMerge:
			writes += in.TotalMS
		}
	}
	wc.PenaltyMS = round2(writes / float64(wc.ExistingIndexes+2))
	return wc
}

func round2(v float64) float64 { return roundTo(v, 100) }
func round4(v float64) float64 { return roundTo(v, 10000) }

func roundTo(v, p float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0 // JSON has no NaN or Inf
	}
	return num.RoundTo(v, p)
}
