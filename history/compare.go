// Package history owns pgadvisor report: the comparison of two snapshots of
// one database (per-statement deltas and verdicts, findings over time, the
// measured effect of applied advice) and the store of the runs under
// --history DIR/<target>/. It never connects to a database.
package history

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pgadvisor/pgadvisor/advisor"
	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/pgstat"
	"github.com/pgadvisor/pgadvisor/report"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// SchemaVersion is the version of the report's JSON contract (README).
const SchemaVersion = 1

// Kind is Report.Kind.
const Kind = "report"

// Verdicts of a statement.
const (
	VerdictNew       = "new"
	VerdictRegressed = "regressed"
	VerdictImproved  = "improved"
	VerdictUnchanged = "unchanged"
	VerdictGone      = "gone"
)

// Statuses of a finding.
const (
	StatusNew        = "new"
	StatusPersisting = "persisting"
	StatusFixed      = "fixed"
	// StatusAwaitingReset is a finding the audit still reports only from
	// cumulative counters, though its fix is in effect and its statements'
	// interval no longer shows the problem (awaiting.go).
	StatusAwaitingReset = "fixed-awaiting-reset"
)

// Report is what pgadvisor report prints and stores: its JSON form is the
// contract of the README (schema_version 1).
type Report struct {
	SchemaVersion int       `json:"schema_version"`
	Kind          string    `json:"kind"`
	Target        string    `json:"target"`
	Database      string    `json:"database,omitempty"`
	GeneratedAt   time.Time `json:"generated_at"`
	Period        Period    `json:"period"`
	Summary       Summary   `json:"summary"`
	// Statements are the statements of the interval, heaviest first, then
	// the gone ones. Light statements not seen before are counted in
	// Summary.UnlistedNew and not listed.
	Statements    []StatementDelta `json:"statements"`
	Findings      []FindingStatus  `json:"findings"`
	AdviceEffects []AdviceEffect   `json:"advice_effects"`
	// Problems are the parts of this run's collection that failed.
	Problems []pgstat.Problem `json:"problems"`
	// Runs are the history's runs up to this one, for the html charts
	// (SetTrend); absent offline.
	Runs []RunPoint `json:"runs,omitempty"`
}

// Period is the interval the numbers cover.
type Period struct {
	// From is the previous run's collection time, or the reset when the
	// counters were reset since; for a first run, the statistics' reset
	// time when known (nil when not).
	From *time.Time `json:"from"`
	To   time.Time  `json:"to"`
	// Compared is false for the first run of a history: it compares with
	// nothing, its numbers are cumulative since the statistics were reset.
	Compared bool `json:"compared"`
	// CountersReset is set when pg_stat_statements was reset since the
	// previous run (pg_stat_statements_info.stats_reset moved), or some
	// entries were (their calls went backwards) or evicted (deallocations):
	// those entries' interval starts at their reset.
	CountersReset bool `json:"counters_reset"`
	// ResetAt is pg_stat_statements_info.stats_reset when it moved.
	ResetAt *time.Time `json:"reset_at"`
	// EntriesReset counts the statements whose counters went backwards.
	EntriesReset int `json:"entries_reset"`
	// Deallocations is how many pg_stat_statements entries were evicted
	// in the interval (pg_stat_statements_info.dealloc).
	Deallocations int64 `json:"deallocations"`
	// Note says in words what the period is.
	Note string `json:"note"`
}

// Summary counts the verdicts and statuses.
type Summary struct {
	Calls       int64          `json:"calls"`
	TotalMS     float64        `json:"total_ms"`
	Verdicts    map[string]int `json:"verdicts"`
	UnlistedNew int            `json:"unlisted_new,omitempty"`
	Findings    map[string]int `json:"findings"`
}

// Interval is a statement's numbers over an interval.
type Interval struct {
	Calls          int64   `json:"calls"`
	TotalMS        float64 `json:"total_ms"`
	MeanMS         float64 `json:"mean_ms"`
	StddevMS       float64 `json:"stddev_ms"`
	Rows           int64   `json:"rows"`
	SharedBlksRead int64   `json:"shared_blks_read"`
	TempBlks       int64   `json:"temp_blks"`
}

// StatementDelta is one statement's interval and verdict.
type StatementDelta struct {
	Fingerprint string `json:"fingerprint,omitempty"`
	QueryID     string `json:"queryid"`
	User        string `json:"user,omitempty"`
	UserID      uint32 `json:"userid"`
	Query       string `json:"query"`
	Verdict     string `json:"verdict"`
	Interval
	// Previous is the statement's numbers in the previous run's report; nil
	// for a statement not seen before.
	Previous *Interval `json:"previous"`
	// MeanChange is (mean_ms - previous.mean_ms) / previous.mean_ms: the
	// one signed number of the report (a change, not a counter); 0 without
	// a previous mean.
	MeanChange float64 `json:"mean_change"`
	// Reset is set when this statement's counters were reset in the
	// interval (its numbers are since the reset).
	Reset bool `json:"reset,omitempty"`
	// MatchedBy is "fingerprint" when the statement was matched to the
	// previous run by its pg_query fingerprint (its queryid changed).
	MatchedBy string `json:"matched_by,omitempty"`
}

// FindingStatus is a finding of the audit (the Finding contract) with its
// status over time.
type FindingStatus struct {
	advisor.Finding
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	FirstSeen time.Time `json:"first_seen"`
}

// AdviceEffect is the measured effect of advice an earlier report gave
// that is now applied: an index it proposed now exists, one it proposed to
// drop is gone, or a setting it proposed is in effect.
type AdviceEffect struct {
	Fix string `json:"fix"`
	// Index is the index created or dropped; empty for a setting.
	Index string `json:"index,omitempty"`
	// Applied is "created" (a proposed index now exists), "dropped" (an
	// index a DROP INDEX fix named is gone: index_size_bytes is the space
	// it took, in the previous snapshot) or "set" (an ALTER ROLE … SET or
	// ALTER SYSTEM SET fix is in effect: the role's or the server's value
	// moved to the proposed one, or past it).
	Applied    string   `json:"applied"`
	FindingID  string   `json:"finding_id"`
	Rule       string   `json:"rule"`
	Statements []string `json:"statements"` // queryids
	// MeanMSBefore is the statements' mean time in the previous run's
	// report (calls-weighted), MeanMSAfter in this interval; nil when the
	// statements did not run.
	MeanMSBefore *float64 `json:"mean_ms_before"`
	MeanMSAfter  *float64 `json:"mean_ms_after"`
	// TempBlksBefore and TempBlksAfter are the statements' temporary
	// blocks (read and written) per call, the same intervals; nil as above.
	TempBlksBefore *float64 `json:"temp_blks_before"`
	TempBlksAfter  *float64 `json:"temp_blks_after"`
	IndexBytes     int64    `json:"index_size_bytes"` // 0 for a setting
	IndexScans     int64    `json:"index_scans"`      // 0 for a setting
	// Setting is the setting a "set" effect changed, Role the role it was
	// set for ("" for ALTER SYSTEM), ValueBefore and ValueAfter its value
	// in the two snapshots (the role's as written, else the server's with
	// its unit).
	Setting     string `json:"setting,omitempty"`
	Role        string `json:"role,omitempty"`
	ValueBefore string `json:"value_before,omitempty"`
	ValueAfter  string `json:"value_after,omitempty"`
}

// Previous is what a comparison needs of the previous run: its snapshot
// (for the cumulative counters) and its report (for the previous interval,
// first_seen and the advice given); Report may be nil.
type Previous struct {
	Snapshot *pgstat.Snapshot
	Report   *Report
}

// key identifies a statement: queryid, database (one per snapshot), role,
// top level.
type key struct {
	queryID  int64
	userID   uint32
	topLevel bool
}

type fpKey struct {
	fp     string
	userID uint32
}

func keyOf(s *pgstat.Statement) key { return key{s.QueryID, s.UserID, s.TopLevel} }

// Compare builds the report of cur against prev (nil: the first run of a
// history). audit is this run's audit of cur.
func Compare(target string, cur *pgstat.Snapshot, audit *report.Report, prev *Previous, th advisor.ReportThresholds) *Report {
	r := &Report{
		SchemaVersion: SchemaVersion,
		Kind:          Kind,
		Target:        target,
		Database:      cur.Database,
		GeneratedAt:   cur.CollectedAt.UTC(),
		Period:        Period{To: cur.CollectedAt.UTC()},
		Summary:       Summary{Verdicts: map[string]int{}, Findings: map[string]int{}},
		Statements:    []StatementDelta{},
		Findings:      []FindingStatus{},
		AdviceEffects: []AdviceEffect{},
		Problems:      append([]pgstat.Problem{}, cur.Problems...),
	}
	if prev == nil || prev.Snapshot == nil {
		first(r, cur, audit)
		return r
	}
	ps := prev.Snapshot
	r.Period.Compared = true
	from := ps.CollectedAt.UTC()
	r.Period.From = &from
	global := globalReset(ps, cur)
	if global != nil {
		at := global.UTC()
		r.Period.From, r.Period.ResetAt, r.Period.CountersReset = &at, &at, true
	}
	if ps.StatStatements != nil && cur.StatStatements != nil && cur.StatStatements.Dealloc > ps.StatStatements.Dealloc && global == nil {
		r.Period.Deallocations = cur.StatStatements.Dealloc - ps.StatStatements.Dealloc
		r.Period.CountersReset = true
	}

	prevByKey := make(map[key]*pgstat.Statement, len(ps.Statements))
	prevByFP := map[fpKey]*pgstat.Statement{}
	for i := range ps.Statements {
		prevByKey[keyOf(&ps.Statements[i])] = &ps.Statements[i]
	}
	// The previous report's intervals, by queryid and role.
	type rkey struct {
		queryID string
		userID  uint32
	}
	prevReport := map[rkey]*StatementDelta{}
	if prev.Report != nil {
		for i := range prev.Report.Statements {
			if d := &prev.Report.Statements[i]; d.Verdict != VerdictGone {
				prevReport[rkey{d.QueryID, d.UserID}] = d
			}
		}
	}
	curKeys := make(map[key]bool, len(cur.Statements))
	for i := range cur.Statements {
		curKeys[keyOf(&cur.Statements[i])] = true
	}
	// The previous report's fingerprints, by text: only new texts are parsed.
	fps := fingerprinter{}
	if prev.Report != nil {
		for _, d := range prev.Report.Statements {
			if d.Fingerprint != "" {
				fps[d.Query] = d.Fingerprint
			}
		}
	}
	matched := make(map[*pgstat.Statement]bool, len(ps.Statements))
	var intervalTotal float64
	deltas := make([]StatementDelta, 0, len(cur.Statements))
	for i := range cur.Statements {
		s := &cur.Statements[i]
		d := StatementDelta{QueryID: strconv.FormatInt(s.QueryID, 10), User: s.User, UserID: s.UserID, Query: s.Query}
		p := prevByKey[keyOf(s)]
		if p == nil {
			if len(prevByFP) == 0 && len(ps.Statements) > 0 {
				for j := range ps.Statements {
					q := &ps.Statements[j]
					if fp := fps.of(q.Query); fp != "" {
						prevByFP[fpKey{fp, q.UserID}] = q
					}
				}
			}
			if fp := fps.of(s.Query); fp != "" {
				if q := prevByFP[fpKey{fp, s.UserID}]; q != nil && !matched[q] && !curKeys[keyOf(q)] {
					p, d.MatchedBy = q, "fingerprint"
				}
			}
		}
		if p != nil {
			matched[p] = true
		}
		switch {
		case global != nil || p == nil:
			d.Interval = cumulativeInterval(s)
		case s.Calls < p.Calls || s.TotalExecTime < p.TotalExecTime || (s.StatsSince != nil && p.StatsSince != nil && s.StatsSince.After(*p.StatsSince)):
			d.Interval, d.Reset = cumulativeInterval(s), true
			r.Period.EntriesReset++
			r.Period.CountersReset = true
		default:
			d.Interval = difference(p, s)
		}
		// The previous interval: the previous report's numbers for the
		// statement, else its cumulative counters then.
		if p != nil {
			if pr := prevReport[rkey{strconv.FormatInt(p.QueryID, 10), p.UserID}]; pr != nil {
				iv := pr.Interval
				d.Previous = &iv
			} else {
				iv := cumulativeInterval(p)
				d.Previous = &iv
			}
		}
		intervalTotal += d.TotalMS
		deltas = append(deltas, d)
	}
	for i := range deltas {
		d := &deltas[i]
		d.Verdict = verdict(d, intervalTotal, th)
		if d.Previous != nil && d.Previous.MeanMS > 0 && d.Calls > 0 {
			d.MeanChange = num.RoundTo((d.MeanMS-d.Previous.MeanMS)/d.Previous.MeanMS, 1000)
		}
		if d.Verdict == "" {
			r.Summary.UnlistedNew++
			continue
		}
		d.Fingerprint = fps.of(d.Query)
		r.Statements = append(r.Statements, *d)
	}
	sortStatements(r.Statements)
	for i := range ps.Statements {
		p := &ps.Statements[i]
		if matched[p] {
			continue
		}
		iv := cumulativeInterval(p)
		if pr := prevReport[rkey{strconv.FormatInt(p.QueryID, 10), p.UserID}]; pr != nil {
			iv = pr.Interval
		}
		if iv.Calls == 0 {
			continue
		}
		r.Statements = append(r.Statements, StatementDelta{
			QueryID: strconv.FormatInt(p.QueryID, 10), User: p.User, UserID: p.UserID, Query: p.Query,
			Fingerprint: fps.of(p.Query), Verdict: VerdictGone, Previous: &iv,
		})
	}
	for _, d := range r.Statements {
		r.Summary.Verdicts[d.Verdict]++
		r.Summary.Calls += d.Calls
		r.Summary.TotalMS += d.TotalMS
	}
	r.Summary.TotalMS = num.RoundTo(r.Summary.TotalMS, 10)
	r.Period.Note = periodNote(r.Period)
	var prevFindings []FindingStatus
	if prev.Report != nil {
		prevFindings = prev.Report.Findings
	}
	r.Findings = findingsOverTime(audit, prevFindings, r.GeneratedAt)
	r.AdviceEffects = adviceEffects(prevFindings, prev.Report, ps, cur, r.Statements)
	markAwaitingReset(r, prevFindings)
	for _, f := range r.Findings {
		r.Summary.Findings[f.Status]++
	}
	return r
}

// first is the report of the first run of a history: numbers since the
// statistics were reset, every heavy statement new, every finding new.
func first(r *Report, cur *pgstat.Snapshot, audit *report.Report) {
	if cur.StatStatements != nil && cur.StatStatements.StatsReset != nil {
		at := cur.StatStatements.StatsReset.UTC()
		r.Period.From = &at
	}
	r.Period.Note = "first run of this history: compared with nothing; numbers are cumulative since pg_stat_statements was reset"
	fps := fingerprinter{}
	for i := range cur.Statements {
		s := &cur.Statements[i]
		r.Statements = append(r.Statements, StatementDelta{
			Fingerprint: fps.of(s.Query), QueryID: strconv.FormatInt(s.QueryID, 10), User: s.User, UserID: s.UserID,
			Query: s.Query, Verdict: VerdictNew, Interval: cumulativeInterval(s),
		})
	}
	sortStatements(r.Statements)
	for _, d := range r.Statements {
		r.Summary.Verdicts[d.Verdict]++
		r.Summary.Calls += d.Calls
		r.Summary.TotalMS += d.TotalMS
	}
	r.Summary.TotalMS = num.RoundTo(r.Summary.TotalMS, 10)
	r.Findings = findingsOverTime(audit, nil, r.GeneratedAt)
	for _, f := range r.Findings {
		r.Summary.Findings[f.Status]++
	}
}

// globalReset returns pg_stat_statements_info.stats_reset of cur when it
// moved since prev (a pg_stat_statements_reset() of everything).
func globalReset(prev, cur *pgstat.Snapshot) *time.Time {
	if cur.StatStatements == nil || cur.StatStatements.StatsReset == nil {
		return nil
	}
	at := cur.StatStatements.StatsReset
	if prev.StatStatements != nil && prev.StatStatements.StatsReset != nil {
		if at.After(*prev.StatStatements.StatsReset) {
			return at
		}
		return nil
	}
	if at.After(prev.CollectedAt) {
		return at
	}
	return nil
}

func periodNote(p Period) string {
	switch {
	case p.ResetAt != nil:
		return "pg_stat_statements was reset at " + p.ResetAt.Format(time.RFC3339) + ": the interval starts at the reset"
	case p.EntriesReset > 0 && p.Deallocations > 0:
		return strconv.Itoa(p.EntriesReset) + " statements' counters went backwards and " + strconv.FormatInt(p.Deallocations, 10) + " entries were evicted: those statements' interval starts at their reset"
	case p.EntriesReset > 0:
		return strconv.Itoa(p.EntriesReset) + " statements' counters went backwards (reset or evicted): their interval starts at the reset"
	case p.Deallocations > 0:
		return strconv.FormatInt(p.Deallocations, 10) + " pg_stat_statements entries were evicted in the interval (pg_stat_statements.max): a statement evicted and seen again counts from its return"
	}
	return ""
}

// cumulativeInterval is a statement's counters since its entry's start.
func cumulativeInterval(s *pgstat.Statement) Interval {
	iv := Interval{
		Calls:          s.Calls,
		TotalMS:        num.RoundTo(nonNeg(s.TotalTime()), 1000),
		Rows:           s.Rows,
		SharedBlksRead: s.SharedBlksRead,
		TempBlks:       s.TempBlksRead + s.TempBlksWritten,
		StddevMS:       num.RoundTo(nonNeg(s.StddevExecTime), 1000),
	}
	if s.Calls > 0 {
		iv.MeanMS = num.RoundTo(nonNeg(s.TotalTime())/float64(s.Calls), 1000)
	}
	return iv
}

// difference is cur's counters minus prev's, never negative. The
// interval's standard deviation comes from the sums of squares the two
// entries' (population) stddev and mean imply.
func difference(p, s *pgstat.Statement) Interval {
	iv := Interval{
		Calls:          max(s.Calls-p.Calls, 0),
		TotalMS:        num.RoundTo(nonNeg(s.TotalTime()-p.TotalTime()), 1000),
		Rows:           max(s.Rows-p.Rows, 0),
		SharedBlksRead: max(s.SharedBlksRead-p.SharedBlksRead, 0),
		TempBlks:       max(s.TempBlksRead+s.TempBlksWritten-p.TempBlksRead-p.TempBlksWritten, 0),
	}
	if iv.Calls > 0 {
		iv.MeanMS = num.RoundTo(iv.TotalMS/float64(iv.Calls), 1000)
		sq := func(st *pgstat.Statement) float64 {
			n := float64(st.Calls)
			return n * (st.StddevExecTime*st.StddevExecTime + st.MeanExecTime*st.MeanExecTime)
		}
		n := float64(iv.Calls)
		mean := nonNeg(s.TotalExecTime-p.TotalExecTime) / n
		v := (sq(s)-sq(p))/n - mean*mean
		iv.StddevMS = num.RoundTo(math.Sqrt(nonNeg(v)), 1000)
	}
	return iv
}

func nonNeg(f float64) float64 {
	if f < 0 || math.IsNaN(f) {
		return 0
	}
	return f
}

// verdict decides a statement's verdict; "" for a light statement not seen
// before (not listed).
func verdict(d *StatementDelta, intervalTotal float64, th advisor.ReportThresholds) string {
	if d.Previous == nil {
		if d.TotalMS >= th.NewMinTotalMS || (intervalTotal > 0 && d.TotalMS/intervalTotal >= th.NewMinShare) {
			return VerdictNew
		}
		return ""
	}
	p := d.Previous
	if d.Calls < th.RegressionMinCalls || p.Calls < th.RegressionMinCalls {
		return VerdictUnchanged
	}
	diff := d.MeanMS - p.MeanMS
	se := math.Sqrt(d.StddevMS*d.StddevMS/float64(d.Calls) + p.StddevMS*p.StddevMS/float64(p.Calls))
	if math.Abs(diff) < th.RegressionFloorMS || math.Abs(diff) <= th.RegressionSigma*se || math.Abs(diff) <= th.RegressionRatio*p.MeanMS {
		return VerdictUnchanged
	}
	if diff > 0 {
		return VerdictRegressed
	}
	return VerdictImproved
}

var verdictOrder = map[string]int{VerdictRegressed: 0, VerdictNew: 1, VerdictImproved: 2, VerdictUnchanged: 3, VerdictGone: 4}

// sortStatements orders regressed, new, improved, unchanged, gone; within
// each, the interval's time, heaviest first.
func sortStatements(ds []StatementDelta) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if verdictOrder[a.Verdict] != verdictOrder[b.Verdict] {
			return verdictOrder[a.Verdict] < verdictOrder[b.Verdict]
		}
		if a.TotalMS != b.TotalMS {
			return a.TotalMS > b.TotalMS
		}
		return a.QueryID < b.QueryID
	})
}

// fingerprinter caches pg_query fingerprints by text.
type fingerprinter map[string]string

func (f fingerprinter) of(sql string) string {
	if fp, ok := f[sql]; ok {
		return fp
	}
	fp, err := sqlfacts.Fingerprint(sql)
	if err != nil {
		fp = ""
	}
	f[sql] = fp
	return fp
}

// FindingID is a finding's stable identity: its rule, its statement's
// fingerprint (else queryid) and its objects, never its message.
func FindingID(f advisor.Finding) string {
	stmt := f.Fingerprint
	if stmt == "" {
		stmt = f.QueryID
	}
	objs := slices.Clone(f.Objects)
	slices.Sort(objs)
	h := sha256.Sum256([]byte(f.Rule + "\x00" + stmt + "\x00" + strings.Join(objs, "\x00")))
	return hex.EncodeToString(h[:8])
}

// findingsOverTime gives each finding of the audit its status against the
// previous run's findings: new, persisting (first_seen carried over), and
// fixed for those of the previous run (not already fixed) that are gone.
func findingsOverTime(audit *report.Report, prev []FindingStatus, now time.Time) []FindingStatus {
	before := map[string]FindingStatus{}
	for _, f := range prev {
		if f.Status != StatusFixed {
			before[f.ID] = f
		}
	}
	out := []FindingStatus{}
	seen := map[string]bool{}
	if audit != nil {
		for _, f := range audit.Findings {
			id := FindingID(f)
			if seen[id] {
				continue
			}
			seen[id] = true
			fs := FindingStatus{Finding: f, ID: id, Status: StatusNew, FirstSeen: now}
			if p, ok := before[id]; ok {
				fs.Status, fs.FirstSeen = StatusPersisting, p.FirstSeen
			}
			out = append(out, fs)
		}
	}
	for _, p := range prev {
		if p.Status == StatusFixed || seen[p.ID] {
			continue
		}
		p.Status = StatusFixed
		out = append(out, p)
	}
	return out
}

var createIndex = regexp.MustCompile(`(?is)^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(?:("?[\w$]+"?)\s+)?ON\s+(?:ONLY\s+)?(\S+)\s+(?:USING\s+(\w+)\s*)?(\(.*)$`)

// indexShape is what identifies an index besides its name: table, method,
// the rest of its definition (keys, INCLUDE, WHERE), spaces removed.
type indexShape struct {
	name, table, rest string
}

func shapeOf(sql string) (indexShape, bool) {
	m := createIndex.FindStringSubmatch(strings.TrimSuffix(strings.TrimSpace(sql), ";"))
	if m == nil {
		return indexShape{}, false
	}
	method := strings.ToLower(m[4])
	if method == "" {
		method = "btree"
	}
	rest := strings.ToLower(strings.Join(strings.Fields(m[5]), ""))
	return indexShape{name: strings.Trim(m[2], `"`), table: strings.ToLower(m[3]), rest: strings.ToUpper(m[1]) + method + rest}, true
}

// adviceEffects links each CREATE INDEX an earlier report proposed (the
// previous run's findings) that exists now and did not then to the
// statements its finding was about, with their mean time before and after.
func adviceEffects(prev []FindingStatus, prevReport *Report, ps, cur *pgstat.Snapshot, now []StatementDelta) []AdviceEffect {
	out := []AdviceEffect{}
	existed := map[string]bool{}
	for _, ix := range ps.Indexes {
		existed[ix.Schema+"."+ix.Name] = true
	}
	type newIndex struct {
		ix    pgstat.Index
		shape indexShape
	}
	var created []newIndex
	for _, ix := range cur.Indexes {
		if existed[ix.Schema+"."+ix.Name] {
			continue
		}
		sh, ok := shapeOf(ix.Definition)
		if !ok {
			continue
		}
		created = append(created, newIndex{ix, sh})
	}
	byQuery := map[string]*StatementDelta{}
	for i := range now {
		byQuery[now[i].QueryID] = &now[i]
	}
	before := map[string]*StatementDelta{}
	if prevReport != nil {
		for i := range prevReport.Statements {
			before[prevReport.Statements[i].QueryID] = &prevReport.Statements[i]
		}
	}
	// link sets an effect's statements and their numbers before and after.
	link := func(e *AdviceEffect, ids []string) {
		var bCalls, aCalls, bTemp, aTemp int64
		var bTime, aTime float64
		for _, id := range ids {
			e.Statements = append(e.Statements, id)
			if d := before[id]; d != nil {
				bCalls += d.Calls
				bTime += d.TotalMS
				bTemp += d.TempBlks
			}
			if d := byQuery[id]; d != nil && d.Verdict != VerdictGone {
				aCalls += d.Calls
				aTime += d.TotalMS
				aTemp += d.TempBlks
			}
		}
		perCall := func(v float64, calls int64) *float64 {
			if calls == 0 {
				return nil
			}
			r := num.RoundTo(v/float64(calls), 1000)
			return &r
		}
		e.MeanMSBefore, e.MeanMSAfter = perCall(bTime, bCalls), perCall(aTime, aCalls)
		e.TempBlksBefore, e.TempBlksAfter = perCall(float64(bTemp), bCalls), perCall(float64(aTemp), aCalls)
	}
	out = append(out, droppedEffects(prev, ps, cur)...)
	out = append(out, settingEffects(prev, ps, cur, link)...)
	if len(created) == 0 {
		return out
	}
	done := map[string]bool{}
	for _, f := range prev {
		if f.Fix == nil || f.Status == StatusFixed {
			continue
		}
		for _, sql := range f.Fix.SQL {
			want, ok := shapeOf(sql)
			if !ok {
				continue
			}
			for _, c := range created {
				schema, _, _ := strings.Cut(want.table, ".")
				sameName := want.name != "" && strings.EqualFold(c.ix.Name, want.name) && strings.EqualFold(c.ix.Schema, schema)
				if !sameName && (c.shape.table != want.table || c.shape.rest != want.rest) {
					continue
				}
				name := c.ix.Schema + "." + c.ix.Name
				if done[name+f.ID] {
					continue
				}
				done[name+f.ID] = true
				e := AdviceEffect{Fix: sql, Index: name, Applied: "created", FindingID: f.ID, Rule: f.Rule, IndexBytes: c.ix.SizeBytes, IndexScans: c.ix.IdxScan, Statements: []string{}}
				link(&e, findingStatements(f))
				out = append(out, e)
			}
		}
	}
	return out
}

var dropIndex = regexp.MustCompile(`(?i)^\s*DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?([\w$."]+)\s*;?\s*$`)

// droppedEffects are the DROP INDEX fixes of the previous run's findings
// whose index existed then and is gone now.
func droppedEffects(prev []FindingStatus, ps, cur *pgstat.Snapshot) []AdviceEffect {
	now := map[string]bool{}
	for _, ix := range cur.Indexes {
		now[strings.ToLower(ix.Schema+"."+ix.Name)] = true
	}
	then := map[string]pgstat.Index{}
	for _, ix := range ps.Indexes {
		then[strings.ToLower(ix.Schema+"."+ix.Name)] = ix
	}
	var out []AdviceEffect
	seen := map[string]bool{}
	for _, f := range prev {
		if f.Fix == nil || f.Status == StatusFixed {
			continue
		}
		for _, sql := range f.Fix.SQL {
			m := dropIndex.FindStringSubmatch(sql)
			if m == nil {
				continue
			}
			name := strings.ToLower(strings.ReplaceAll(m[1], `"`, ""))
			ix, ok := then[name]
			if !ok || now[name] || seen[name] {
				continue
			}
			seen[name] = true
			out = append(out, AdviceEffect{Fix: sql, Index: ix.Schema + "." + ix.Name, Applied: "dropped", FindingID: f.ID, Rule: f.Rule,
				Statements: findingStatements(f), IndexBytes: ix.SizeBytes, IndexScans: ix.IdxScan})
		}
	}
	return out
}
