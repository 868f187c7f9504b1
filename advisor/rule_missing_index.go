package advisor

import (
	"fmt"
	"strings"

	"github.com/pgadvisor/pgadvisor/explain"
	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/model"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/whatif"
)

// MissingIndex recommends the smallest set of indexes that makes the
// workload's statements fast, verified with HypoPG where it was available.
var MissingIndex = &Rule{
	Name:     "missing-index",
	Family:   "what-if",
	Severity: SeverityWarning,
	Doc: `An index would cut the planner's cost of the statements it serves
Statements filter, join or sort a large table that no index serves: each call
reads far more than it returns. pgadvisor builds index candidates from the
statements (equality columns first, most selective first, then one range
column, then the ORDER BY columns with their directions; expression indexes for
function-wrapped columns; pg_trgm GIN for LIKE '%x%'), tries them as HypoPG
hypothetical indexes, and chooses for the whole workload: the indexes the
planner uses, that cut a statement's cost by half or more, with the most time
saved per byte, one composite serving several statements where it can, minus
the write cost on write-heavy tables. The fix is the CREATE INDEX
CONCURRENTLY to run (preceded by CREATE EXTENSION IF NOT EXISTS pg_trgm for a
trigram index). On a partitioned table the fix is the online recipe: the
index ON ONLY the parent, CREATE INDEX CONCURRENTLY on each partition that
needs it and ALTER INDEX … ATTACH PARTITION for each (a partition that already
has an identical index of its own gets it attached instead of a new one); the
size counts only the partitions built, each sized by HypoPG on that
partition (evidence: partitions_built, partitions_attached,
partition_size_bytes). A statement with $n parameters is costed with its
generic plan, which prices a range on an unknown value at a third of the
table; when that plan's row estimate and the rows per call
pg_stat_statements saw differ by custom_plan_misestimate or more, it is
costed with a custom plan (EXPLAIN, never ANALYZE) for values chosen from
pg_stats so that the estimate matches: a histogram bound for a range, a
most common value for an equality on a skewed column (evidence:
costed_with names the values, or why the generic plan was kept). A constant
predicate that selects few rows (return_date IS NULL, status = 'open', NOT
archived) also yields a partial
index on the statement's other keys WHERE that predicate, far smaller than
the plain one (a parameter, status = $1, does only from the values it was
run with, pg_qualstats samples of most common values selecting at most
partial_max_fraction: WHERE status IN ('paid', 'pending'), costed with a
custom plan for them); a statement that reads a few narrow columns besides
the keys also gets a covering index with them in INCLUDE, for an index-only
scan, also when an existing index already serves the keys (a join's
columns of the table count by alias; evidence: replaces names the existing
index the covering one makes redundant). Both are alternatives the what-if
costs like the rest (evidence: where, include); the selection never keeps a
covering index and its plain one together. An equality key that splits no
group of the keys before it in a sample of the table (region where region
follows from country) is left out of the candidate when the statements find
rows for their values; a SELECT returning bulk_read_fraction of its table per
call gets no candidate (unbounded-result advises on it). Without HypoPG the candidates are still reported (partial and
covering ones are not: only the planner can show they pay), marked
"verified": false, with how to install it.`,
	Criteria: `candidate tables >= min_table_rows rows, or >= min_table_bytes when never analysed; at most max_candidates
candidates are evaluated with HypoPG; a verified index must be used by the planner and cut a statement's cost by >= min_cost_reduction
and by >= min_cost_saved cost units; statements considered cost >= min_total_ms, >= min_share of total time and >= min_calls calls;
an index only adding ORDER BY/range keys to an existing index on its equality columns needs >= min_rows_to_extend rows per equality
match; a statement whose generic plan's row estimate and rows per call differ by >= custom_plan_misestimate times is costed with
representative values; at most max_new_indexes new indexes (--max-new-indexes), within storage_budget (--storage-budget). Write-heavy table: rows
written >= write_heavy_share of rows written + read; then the writing statements' time / (existing indexes + 2) is subtracted from
the benefit. A SELECT of one table returning >= bulk_read_fraction of its rows per call gets no candidate. Partial candidate: its predicate selects <= partial_max_fraction of the table's rows (pg_stats). Covering candidate:
at most covering_max_columns INCLUDE columns of covering_max_width bytes in all, on a table that is not write-heavy with
>= covering_min_all_visible of its pages all-visible; it replaces its plain variant only when that gains > 1% of the set's benefit
and saves a statement >= min_cost_saved cost units. Severity: error when the statements served cost >= plan_error_share of total time, warning otherwise.`,
	Run: runMissingIndex,
}

func init() { register(MissingIndex) }

func runMissingIndex(p *Pass) error {
	recs, res := p.IndexAdvice()
	if len(recs) == 0 {
		return nil
	}
	byID := map[string]*model.Statement{}
	for _, s := range p.Statements {
		byID[s.ID().String()] = s
	}
	measured := p.Snapshot.Verify
	install := whatif.HypoPGInstallHint(p.Snapshot.Server.VersionNum)
	if res != nil && res.Install != "" {
		install = res.Install
	}
	for _, r := range recs {
		var heaviest *model.Statement
		var queryIDs []string
		for _, g := range r.Statements {
			queryIDs = append(queryIDs, g.QueryID)
			if s := byID[g.QueryID]; s != nil && (heaviest == nil || s.TotalTime() > heaviest.TotalTime()) {
				heaviest = s
			}
		}
		if heaviest == nil {
			continue
		}
		f := Finding{
			Objects: []string{pgstat.QuoteQualified(r.Schema, r.Table)},
			Fix:     &Fix{Summary: "Create the index " + r.Name() + " (" + r.Reason + ")", SQL: r.FixSQL()},
		}
		f = p.StatementFinding(heaviest, f)
		f.Impact = Impact{TotalMS: round(r.TotalMS, 1), Calls: 0}
		if p.TotalMS > 0 {
			f.Impact.Share = round(r.TotalMS/p.TotalMS, 4)
		}
		for _, g := range r.Statements {
			f.Impact.Calls += g.Calls
			if g.QueryID != heaviest.ID().String() {
				f.QueryIDs = append(f.QueryIDs, g.QueryID)
			}
		}
		f.Severity = SeverityWarning
		if f.Impact.Share >= p.Options.PlanErrorShare && p.Options.PlanErrorShare > 0 {
			f.Severity = SeverityError
		}
		ev := map[string]any{
			"index":            r.Name(),
			"keys":             keyText(r.Candidate),
			"method":           r.Method,
			"verified":         r.Verified,
			"size_bytes":       r.SizeBytes,
			"statements":       queryIDs,
			"statements_count": len(r.Statements),
		}
		if r.SizeDedup != nil {
			ev["size_estimate"] = r.SizeDedup.Summary(r.SizeBytes)
			if r.SizeDedup.HypoPGBytes != r.SizeBytes {
				ev["size_without_dedup_bytes"] = r.SizeDedup.HypoPGBytes
			}
		}
		if r.Partial() {
			ev["where"] = r.Where
		}
		if r.Covering() {
			ev["include"] = r.Include
		}
		if r.Extends != "" {
			ev["replaces"] = pgstat.QuoteQualified(r.Schema, r.Extends)
		}
		if r.Verified {
			ev["cost_before"] = round(r.CostBefore, 2)
			ev["cost_after"] = round(r.CostAfter, 2)
			ev["benefit_ms"] = round(r.BenefitMS, 1)
			ev["plan_mode"] = string(r.PlanMode)
			ev["hypopg"] = res.HypoPG
			if costed := costedWith(res, r.Statements); len(costed) > 0 {
				ev["costed_with"] = costed
			}
		} else {
			ev["size_estimated"] = true
			if r.Method == "gin" && res != nil && res.HypoPG != "" {
				ev["not_verified_because"] = "HypoPG cannot build " + r.Method + " indexes"
			} else {
				ev["not_verified_because"] = "HypoPG results not available: " + install
			}
		}
		if r.WriteCost.WriteHeavy {
			ev["write_cost"] = r.WriteCost
		} else if r.WriteCost.RowsWritten > 0 {
			ev["write_share"] = r.WriteCost.WriteShare
			ev["existing_indexes"] = r.WriteCost.ExistingIndexes
		}
		if r.Partitioned {
			partitionEvidence(ev, r.Candidate)
		}
		m := measuredFor(measured, r.Name())
		if len(m) > 0 {
			ev["measured"] = m
		}
		f.Evidence = ev
		f.Message = missingIndexMessage(r)
		if r.Extends != "" {
			f.Message += "; it has the keys of " + pgstat.QuoteQualified(r.Schema, r.Extends) + " and makes it redundant: drop that one once this one is built"
		}
		switch {
		case r.Verified && r.FromObserved:
			f.Message += "; costed with the parameter values the workload ran it with (pg_qualstats): a call with another value is not served by this partial index"
		case r.Verified && res != nil && customCosted(res, r.Statements, whatif.SampledSource):
			f.Message += "; costed with a parameter value the workload was sampled running it with (pg_qualstats), as the generic plan prices an average value"
		case r.Verified && res != nil && customCosted(res, r.Statements, ""):
			f.Message += "; costed with representative parameter values, as the generic plan misjudged the rows per call"
		}
		for _, x := range m {
			if x.Speedup > 0 {
				f.Message += fmt.Sprintf("; measured with --verify: %.1f ms → %.1f ms (%.0f× faster)", x.BeforeMS, x.AfterMS, x.Speedup)
				break
			}
		}
		p.Report(f)
	}
	return nil
}

// costedWith is, by queryid, how each statement served was costed when its
// generic plan misjudged its rows per call: the representative values used
// instead and why, or why the generic plan was kept (whatif's
// Representative.Summary). Statements whose estimates agreed are not in it.
func costedWith(res *whatif.Result, gains []whatif.StatementGain) map[string]string {
	served := map[string]bool{}
	for _, g := range gains {
		served[g.QueryID] = true
	}
	out := map[string]string{}
	for _, sc := range res.Statements {
		if served[sc.QueryID] && sc.Representative != nil && sc.Representative.Summary != "" {
			out[sc.QueryID] = sc.Representative.Summary
		}
	}
	return out
}

// customCosted reports whether a statement served was costed with a custom
// plan: for a value sampled by pg_qualstats (source whatif.SampledSource),
// or for representative values from pg_stats (source "").
func customCosted(res *whatif.Result, gains []whatif.StatementGain, source string) bool {
	for _, g := range gains {
		for _, sc := range res.Statements {
			if sc.QueryID != g.QueryID || sc.Mode != explain.ModeCustom {
				continue
			}
			sampled := sc.Representative != nil && len(sc.Representative.Values) > 0 && sc.Representative.Values[0].Source == whatif.SampledSource
			if sampled == (source == whatif.SampledSource) {
				return true
			}
		}
	}
	return false
}

// partitionEvidence describes the online recipe of an index on a
// partitioned table: which partitions get a new index (and its size) and
// which attach the index they already have.
func partitionEvidence(ev map[string]any, c whatif.Candidate) {
	if len(c.Partitions) == 0 {
		ev["partitioned"] = "created on the partitioned parent, which has no partitions yet"
		return
	}
	ev["partitioned"] = "online recipe: the index ON ONLY the parent, CREATE INDEX CONCURRENTLY on each partition that needs it, ALTER INDEX … ATTACH PARTITION for each (a plain CREATE INDEX on the parent would lock writes while it builds)"
	var built, attached []string
	sizes := map[string]int64{}
	for _, s := range c.Partitions {
		switch {
		case s.Partitioned:
		case s.Builds():
			built = append(built, s.QualifiedTable())
			if s.SizeBytes > 0 {
				sizes[s.QualifiedTable()] = s.SizeBytes
			}
		default:
			attached = append(attached, s.QualifiedTable()+" ("+s.Attach+")")
		}
	}
	ev["partitions_built"] = built
	if len(sizes) > 0 {
		ev["partition_size_bytes"] = sizes
	}
	if len(attached) > 0 {
		ev["partitions_attached"] = attached
	}
}

// measuredFor returns the --verify measurements of the statements an index serves.
func measuredFor(all []whatif.Measured, index string) []whatif.Measured {
	var out []whatif.Measured
	for _, m := range all {
		for _, name := range m.Indexes {
			if name == index {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

func keyText(c whatif.Candidate) string {
	keys := make([]string, len(c.Keys))
	for i, k := range c.Keys {
		keys[i] = k.SQL()
	}
	return strings.Join(keys, ", ")
}

func missingIndexMessage(r whatif.Recommendation) string {
	table := pgstat.QuoteQualified(r.Schema, r.Table)
	n := len(r.Statements)
	what := "1 statement"
	if n != 1 {
		what = fmt.Sprintf("%d statements", n)
	}
	using := ""
	if r.Method != "btree" {
		using = " using " + r.Method
	}
	if n := len(r.Partitions); n > 0 {
		leaves, builds := 0, 0
		for _, s := range r.Partitions {
			if !s.Partitioned {
				leaves++
			}
			if s.Builds() {
				builds++
			}
		}
		using += fmt.Sprintf(", built on %d of its %d partitions (%s)", builds, leaves, num.Bytes(float64(r.SizeBytes)))
	}
	if r.Verified {
		return fmt.Sprintf("%s needs an index on (%s)%s%s: planner cost %.1f → %.1f for %s (verified with HypoPG)",
			table, keyText(r.Candidate), r.Tail(), using, r.CostBefore, r.CostAfter, what)
	}
	return fmt.Sprintf("%s likely needs an index on (%s)%s%s for %s (%s; not verified with HypoPG)", table, keyText(r.Candidate), r.Tail(), using, what, r.Reason)
}
