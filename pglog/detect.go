package pglog

import (
	"hash/fnv"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pgadvisor/pgadvisor/internal/num"
	"github.com/pgadvisor/pgadvisor/sqlfacts"
)

// Options are the N+1 detection thresholds.
type Options struct {
	// MinRepeats is the number of consecutive executions of one statement
	// shape, in one session right after a parent statement, that make a run.
	MinRepeats int `json:"min_repeats"`
	// MinTotalMS is the least time a run must take, milliseconds.
	MinTotalMS float64 `json:"min_total_ms"`
	// MaxSequences caps the number of sequences kept, heaviest first.
	MaxSequences int `json:"max_sequences"`
}

// DefaultOptions returns the default thresholds: 5 repeats, 50 ms, 100 sequences.
func DefaultOptions() Options {
	return Options{MinRepeats: 5, MinTotalMS: 50, MaxSequences: 100}
}

// Summary is what a statement log says about N+1 patterns. It is stored in
// the snapshot so that offline runs keep it.
type Summary struct {
	Format  Format  `json:"format"`
	Options Options `json:"options"` // the thresholds the sequences were found with
	// Statements is the number of executed statements read (with a duration).
	Statements int64      `json:"statements"`
	Sessions   int        `json:"sessions"`
	TotalMS    float64    `json:"total_ms"` // time of all statements read, milliseconds
	From       *time.Time `json:"from,omitempty"`
	To         *time.Time `json:"to,omitempty"`
	// Sequences are the N+1 patterns found, most child time first.
	Sequences []Sequence `json:"sequences"`
	// WriteBursts are the write statement shapes run MinRepeats or more
	// times in a row in one transaction of one session (a loop of
	// single-row writes), most time first; nil in summaries from before
	// they were recorded.
	WriteBursts []WriteBurst `json:"write_bursts,omitempty"`
}

// WriteBurst is one write statement shape (INSERT, UPDATE, DELETE) that a
// session ran several times in a row inside one explicit transaction
// (BEGIN … COMMIT, savepoints and SET between them allowed): the
// statement-log evidence of a loop (unbatched-writes), aggregated over the
// log. Autocommitted repeats do not count: a pooled session serving one
// write per request looks the same. Only shapes with a run of at least MinRepeats
// are kept; MinTotalMS does not apply (single-row writes are fast: the rule
// judges their share of the workload's time).
type WriteBurst struct {
	Fingerprint string `json:"fingerprint"`
	Query       string `json:"query"` // first example, normalised (literals as $n)
	// Runs is the number of runs of at least MinRepeats executions.
	Runs         int     `json:"runs"`
	Sessions     int     `json:"sessions"`      // distinct sessions with such a run
	MaxRepeats   int     `json:"max_repeats"`   // longest run, executions
	TotalRepeats int64   `json:"total_repeats"` // executions in those runs
	TotalMS      float64 `json:"total_ms"`      // time of those executions, milliseconds
}

// Sequence is one N+1 pattern: runs of one child statement shape repeated
// right after one parent statement shape, aggregated over the log.
type Sequence struct {
	ParentFingerprint string `json:"parent_fingerprint"`
	ParentQuery       string `json:"parent_query"` // first example, normalised (literals as $n)
	ChildFingerprint  string `json:"child_fingerprint"`
	ChildQuery        string `json:"child_query"` // first example, normalised (literals as $n)
	// Runs is the number of runs that met the thresholds.
	Runs         int        `json:"runs"`
	Sessions     int        `json:"sessions"`      // distinct sessions with such a run
	MaxRepeats   int        `json:"max_repeats"`   // longest run, executions
	TotalRepeats int64      `json:"total_repeats"` // executions of the child in those runs
	TotalMS      float64    `json:"total_ms"`      // child time in those runs, milliseconds
	MaxRunMS     float64    `json:"max_run_ms"`    // time of the slowest run, milliseconds
	User         string     `json:"user,omitempty"`
	Database     string     `json:"database,omitempty"`
	Application  string     `json:"application,omitempty"`
	FirstAt      *time.Time `json:"first_at,omitempty"`
}

type run struct {
	fp, query             string
	parentFP, parentQuery string
	count                 int
	ms                    float64
	first                 Entry
}

type sessionState struct {
	parentFP, parentQuery string
	cur                   *run
	burst                 *run // the current run of one write shape
	inTx                  bool // inside BEGIN … COMMIT
}

type detector struct {
	opts     Options
	summary  *Summary
	sessions map[string]*sessionState
	seqs     map[[2]string]*Sequence
	seqSess  map[[2]string]map[string]bool
	bursts   map[string]*WriteBurst
	burstSes map[string]map[string]bool
	fpCache  map[string]string
}

func newDetector(opts Options) *detector {
	def := DefaultOptions()
	if opts.MinRepeats <= 1 {
		opts.MinRepeats = def.MinRepeats
	}
	if opts.MaxSequences <= 0 {
		opts.MaxSequences = def.MaxSequences
	}
	return &detector{
		opts:     opts,
		summary:  &Summary{Options: opts, Sequences: []Sequence{}},
		sessions: map[string]*sessionState{},
		seqs:     map[[2]string]*Sequence{},
		seqSess:  map[[2]string]map[string]bool{},
		bursts:   map[string]*WriteBurst{},
		burstSes: map[string]map[string]bool{},
		fpCache:  map[string]string{},
	}
}

func (d *detector) add(e *Entry) {
	s := d.summary
	s.Statements++
	s.TotalMS += e.DurationMS
	if !e.Time.IsZero() {
		t := e.Time
		if s.From == nil || t.Before(*s.From) {
			s.From = &t
		}
		if s.To == nil || t.After(*s.To) {
			t2 := t
			s.To = &t2
		}
	}
	kw := firstKeyword(e.Query)
	st := d.sessions[e.Session]
	if st == nil {
		st = &sessionState{}
		d.sessions[e.Session] = st
	}
	switch kw {
	case "begin", "start":
		st.inTx = true
	case "commit", "end", "rollback", "abort":
		if !strings.Contains(strings.ToLower(e.Query), " to ") { // not ROLLBACK TO SAVEPOINT
			st.inTx = false
			d.closeBurst(e.Session, st.burst)
			st.burst = nil
		}
	}
	if transparent[kw] {
		return
	}
	fp := d.fingerprint(e.Query)
	switch {
	case !st.inTx || kw != "insert" && kw != "update" && kw != "delete":
		d.closeBurst(e.Session, st.burst)
		st.burst = nil
	case st.burst != nil && st.burst.fp == fp:
		st.burst.count++
		st.burst.ms += e.DurationMS
	default:
		d.closeBurst(e.Session, st.burst)
		st.burst = &run{fp: fp, query: e.Query, count: 1, ms: e.DurationMS, first: *e}
	}
	if st.cur != nil && st.cur.fp == fp {
		st.cur.count++
		st.cur.ms += e.DurationMS
		return
	}
	if st.cur != nil {
		d.close(e.Session, st.cur)
		st.parentFP, st.parentQuery = st.cur.fp, st.cur.query
		st.cur = nil
	}
	if (kw == "select" || kw == "with") && st.parentFP != "" {
		st.cur = &run{fp: fp, query: e.Query, parentFP: st.parentFP, parentQuery: st.parentQuery, count: 1, ms: e.DurationMS, first: *e}
		return
	}
	// Not a possible child: it becomes the parent of what follows.
	st.parentFP, st.parentQuery = fp, e.Query
}

// close records a finished run when it meets the thresholds.
func (d *detector) close(session string, r *run) {
	if r.count < d.opts.MinRepeats || r.ms < d.opts.MinTotalMS {
		return
	}
	key := [2]string{r.parentFP, r.fp}
	seq := d.seqs[key]
	if seq == nil {
		at := r.first.Time
		seq = &Sequence{
			ParentFingerprint: r.parentFP, ParentQuery: loggedText(r.parentQuery),
			ChildFingerprint: r.fp, ChildQuery: loggedText(r.query),
			User: r.first.User, Database: r.first.Database, Application: r.first.Application,
		}
		if !at.IsZero() {
			seq.FirstAt = &at
		}
		d.seqs[key] = seq
		d.seqSess[key] = map[string]bool{}
	}
	seq.Runs++
	seq.TotalRepeats += int64(r.count)
	seq.TotalMS += r.ms
	if r.count > seq.MaxRepeats {
		seq.MaxRepeats = r.count
	}
	if r.ms > seq.MaxRunMS {
		seq.MaxRunMS = r.ms
	}
	d.seqSess[key][session] = true
}

// closeBurst records a finished run of one write shape.
func (d *detector) closeBurst(session string, r *run) {
	if r == nil || r.count < 2 {
		return
	}
	b := d.bursts[r.fp]
	if b == nil {
		b = &WriteBurst{Fingerprint: r.fp, Query: loggedText(r.query)}
		d.bursts[r.fp] = b
		d.burstSes[r.fp] = map[string]bool{}
	}
	b.MaxRepeats = max(b.MaxRepeats, r.count)
	if r.count < d.opts.MinRepeats {
		return
	}
	b.Runs++
	b.TotalRepeats += int64(r.count)
	b.TotalMS += r.ms
	d.burstSes[r.fp][session] = true
}

func (d *detector) finish() {
	for sess, st := range d.sessions {
		if st.cur != nil {
			// A run at the end of the log counts: the loop may have ended the session.
			d.close(sess, st.cur)
		}
		d.closeBurst(sess, st.burst)
	}
	for fp, b := range d.bursts {
		if b.Runs == 0 {
			continue
		}
		b.Sessions = len(d.burstSes[fp])
		b.TotalMS = round3(b.TotalMS)
		d.summary.WriteBursts = append(d.summary.WriteBursts, *b)
	}
	sort.Slice(d.summary.WriteBursts, func(i, j int) bool {
		a, b := d.summary.WriteBursts[i], d.summary.WriteBursts[j]
		if a.TotalMS != b.TotalMS {
			return a.TotalMS > b.TotalMS
		}
		return a.Fingerprint < b.Fingerprint
	})
	if len(d.summary.WriteBursts) > d.opts.MaxSequences {
		d.summary.WriteBursts = d.summary.WriteBursts[:d.opts.MaxSequences]
	}
	d.summary.Sessions = len(d.sessions)
	for key, seq := range d.seqs {
		seq.Sessions = len(d.seqSess[key])
		seq.TotalMS = round3(seq.TotalMS)
		seq.MaxRunMS = round3(seq.MaxRunMS)
		d.summary.Sequences = append(d.summary.Sequences, *seq)
	}
	d.summary.TotalMS = round3(d.summary.TotalMS)
	sort.Slice(d.summary.Sequences, func(i, j int) bool {
		a, b := d.summary.Sequences[i], d.summary.Sequences[j]
		if a.TotalMS != b.TotalMS {
			return a.TotalMS > b.TotalMS
		}
		return a.ChildFingerprint+a.ParentFingerprint < b.ChildFingerprint+b.ParentFingerprint
	})
	if len(d.summary.Sequences) > d.opts.MaxSequences {
		d.summary.Sequences = d.summary.Sequences[:d.opts.MaxSequences]
	}
}

// fingerprint groups statements by shape: the pg_query fingerprint, or for
// text pg_query cannot parse a hash of the text with constants blanked.
func (d *detector) fingerprint(q string) string {
	if fp, ok := d.fpCache[q]; ok {
		return fp
	}
	fp, err := sqlfacts.Fingerprint(q)
	if err != nil || fp == "" {
		h := fnv.New64a()
		h.Write([]byte(constants.ReplaceAllString(strings.ToLower(strings.Join(strings.Fields(q), " ")), "?")))
		fp = "text:" + strconv.FormatUint(h.Sum64(), 16)
	}
	if len(d.fpCache) > 100000 {
		d.fpCache = map[string]string{}
	}
	d.fpCache[q] = fp
	return fp
}

var constants = regexp.MustCompile(`'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b|\$\d+`)

// transparent statements neither break a run nor become a parent.
var transparent = map[string]bool{
	"begin": true, "start": true, "commit": true, "end": true, "rollback": true, "abort": true,
	"savepoint": true, "release": true, "set": true, "reset": true, "show": true, "discard": true,
	"deallocate": true, "prepare": false, "": true,
}

// firstKeyword is the statement's first word, lower case, after comments and parentheses.
func firstKeyword(q string) string {
	q = q[sqlfacts.SkipSpaceAndComments(q):]
	q = strings.TrimLeft(q, "( \t\r\n")
	end := strings.IndexFunc(q, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_')
	})
	if end < 0 {
		end = len(q)
	}
	return strings.ToLower(q[:end])
}

// loggedText is a logged statement as a Sequence keeps it: normalised (every
// literal to $n, as pg_stat_statements shows it; a logged statement carries
// its values, e-mail addresses and passwords included), or a placeholder when
// it does not parse; then shortened.
func loggedText(q string) string {
	return truncate(sqlfacts.RedactedText(q), 2000)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

func round3(v float64) float64 {
	return num.RoundTo(v, 1000)
}
