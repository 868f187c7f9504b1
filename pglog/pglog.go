// Package pglog owns reading PostgreSQL statement logs (csvlog, jsonlog, or
// stderr with log_min_duration_statement = 0 and a session id %c in
// log_line_prefix) and finding N+1 sequences in them: a run of consecutive
// executions of one statement shape in one session, right after another
// statement (its parent). It reads text only; it never talks to a database
// and never imports pgstat (the snapshot stores its Summary).
package pglog

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Format is a log_destination format.
type Format string

// Formats Parse understands.
const (
	FormatAuto   Format = ""       // detect from the first non-empty line
	FormatCSV    Format = "csvlog" // log_destination = 'csvlog'
	FormatJSON   Format = "jsonlog"
	FormatStderr Format = "stderr"
)

// ParseFormat returns the Format named by s: csvlog (or csv), jsonlog (or
// json), stderr (or text), or auto / "" to detect it.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return FormatAuto, nil
	case "csvlog", "csv":
		return FormatCSV, nil
	case "jsonlog", "json":
		return FormatJSON, nil
	case "stderr", "text", "syslog":
		return FormatStderr, nil
	}
	return "", fmt.Errorf("unknown log format %q (want csvlog, jsonlog, stderr or auto)", s)
}

// Entry is one executed statement read from the log.
type Entry struct {
	Time        time.Time
	Session     string // session id (%c), or "pid:<pid>" when the log has none
	PID         int
	User        string
	Database    string
	Application string
	DurationMS  float64 // milliseconds, parse and bind time of the same statement included
	Query       string
}

// Reader yields the statement entries of a log, in log order.
type reader interface {
	next() (*Entry, error) // io.EOF at the end
}

// Parse reads a statement log and returns its summary, with the N+1
// sequences found using DefaultOptions.
func Parse(r io.Reader, format Format) (*Summary, error) {
	return ParseWith(r, format, DefaultOptions())
}

// ParseWith is Parse with explicit detection options.
func ParseWith(r io.Reader, format Format, opts Options) (*Summary, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	if format == FormatAuto {
		f, err := detect(br)
		if err != nil {
			return nil, err
		}
		format = f
	}
	var rd reader
	switch format {
	case FormatCSV:
		rd = newCSVReader(br)
	case FormatJSON:
		rd = newJSONReader(br)
	case FormatStderr:
		rd = newStderrReader(br)
	default:
		return nil, fmt.Errorf("unknown log format %q", format)
	}
	d := newDetector(opts)
	d.summary.Format = format
	for {
		e, err := rd.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s log: %w", format, err)
		}
		d.add(e)
	}
	d.finish()
	if d.summary.Statements == 0 {
		return d.summary, fmt.Errorf("no statement durations in the %s log: set log_min_duration_statement = 0 (and a session id %%c in log_line_prefix for stderr logs) while the workload runs", format)
	}
	return d.summary, nil
}

// detect guesses the format from the first non-empty line.
func detect(br *bufio.Reader) (Format, error) {
	for n := 4096; ; n *= 4 {
		head, err := br.Peek(n)
		if len(head) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				return "", errors.New("the log is empty")
			}
			return "", fmt.Errorf("read log: %w", err)
		}
		trimmed := bytes.TrimLeft(head, " \t\r\n")
		if len(trimmed) == 0 && err == nil && n < 1<<20 {
			continue
		}
		switch {
		case bytes.HasPrefix(trimmed, []byte("{")):
			return FormatJSON, nil
		case csvStart.Match(trimmed):
			return FormatCSV, nil
		default:
			return FormatStderr, nil
		}
	}
}

// csvStart matches the start of a csvlog line: a timestamp, a comma and a
// quoted user name or an empty field.
var csvStart = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?( [A-Za-z+\-0-9:]+)?,`)

// statementMessage matches the messages log_min_duration_statement and
// log_statement write. Group 1: duration, 2: kind (statement, parse, bind,
// execute), 3: the statement text.
var statementMessage = regexp.MustCompile(`(?s)^(?:duration: ([0-9.]+) ms\s+)?(statement|parse|bind|execute)(?: [^:]*)?: (.*)$`)

var durationOnly = regexp.MustCompile(`^duration: ([0-9.]+) ms$`)

// builder turns per-session messages into entries: log_min_duration_statement
// logs parse, bind and execute separately for the extended protocol, and
// log_statement = all with log_duration logs the text and the duration apart.
type builder struct {
	pending map[string]*Entry // per session: statement text waiting for its duration
	extra   map[string]float64
}

func newBuilder() *builder {
	return &builder{pending: map[string]*Entry{}, extra: map[string]float64{}}
}

// message handles one LOG message; it returns an entry when one is complete.
func (b *builder) message(base Entry, severity, msg string) *Entry {
	if severity != "LOG" {
		return nil
	}
	msg = strings.TrimSpace(msg)
	if m := durationOnly.FindStringSubmatch(msg); m != nil {
		p := b.pending[base.Session]
		if p == nil {
			return nil
		}
		delete(b.pending, base.Session)
		p.DurationMS, _ = strconv.ParseFloat(m[1], 64)
		return p
	}
	m := statementMessage.FindStringSubmatch(msg)
	if m == nil {
		return nil
	}
	dur, hasDur := 0.0, m[1] != ""
	if hasDur {
		dur, _ = strconv.ParseFloat(m[1], 64)
	}
	switch m[2] {
	case "parse", "bind":
		if hasDur {
			b.extra[base.Session] += dur
		}
		return nil
	}
	e := base
	e.Query = strings.TrimSpace(m[3])
	if !hasDur {
		// log_statement: the duration, if any, follows in its own message.
		b.pending[base.Session] = &e
		return nil
	}
	e.DurationMS = dur + b.extra[base.Session]
	delete(b.extra, base.Session)
	delete(b.pending, base.Session)
	return &e
}

// csvReader reads csvlog. Columns (PostgreSQL 13–17): log_time, user_name,
// database_name, process_id, connection_from, session_id, session_line_num,
// command_tag, session_start_time, virtual_transaction_id, transaction_id,
// error_severity, sql_state_code, message, detail, hint, internal_query,
// internal_query_pos, context, query, query_pos, location, application_name,
// backend_type, leader_pid, query_id.
type csvReader struct {
	r *csv.Reader
	b *builder
}

func newCSVReader(r io.Reader) *csvReader {
	c := csv.NewReader(r)
	c.FieldsPerRecord = -1
	c.LazyQuotes = true
	c.ReuseRecord = true
	return &csvReader{r: c, b: newBuilder()}
}

func (c *csvReader) next() (*Entry, error) {
	for {
		rec, err := c.r.Read()
		if err != nil {
			return nil, err
		}
		if len(rec) < 23 {
			continue
		}
		base := Entry{
			Time:        parseLogTime(rec[0]),
			User:        rec[1],
			Database:    rec[2],
			Session:     rec[5],
			Application: rec[22],
		}
		base.PID, _ = strconv.Atoi(rec[3])
		if len(rec) > 23 && rec[23] != "" && rec[23] != "client backend" {
			continue
		}
		if base.Session == "" {
			base.Session = "pid:" + rec[3]
		}
		if e := c.b.message(base, rec[11], rec[13]); e != nil {
			return e, nil
		}
	}
}

// jsonReader reads jsonlog (PostgreSQL 15+): one object per line.
type jsonReader struct {
	s *bufio.Scanner
	b *builder
}

func newJSONReader(r io.Reader) *jsonReader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 1<<16), 64<<20)
	return &jsonReader{s: s, b: newBuilder()}
}

type jsonLine struct {
	Timestamp   string `json:"timestamp"`
	User        string `json:"user"`
	Database    string `json:"dbname"`
	PID         int    `json:"pid"`
	SessionID   string `json:"session_id"`
	Severity    string `json:"error_severity"`
	Message     string `json:"message"`
	Application string `json:"application_name"`
	BackendType string `json:"backend_type"`
}

func (j *jsonReader) next() (*Entry, error) {
	for j.s.Scan() {
		line := bytes.TrimSpace(j.s.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var l jsonLine
		if err := json.Unmarshal(line, &l); err != nil {
			continue
		}
		if l.BackendType != "" && l.BackendType != "client backend" {
			continue
		}
		base := Entry{Time: parseLogTime(l.Timestamp), User: l.User, Database: l.Database, PID: l.PID, Session: l.SessionID, Application: l.Application}
		if base.Session == "" {
			base.Session = "pid:" + strconv.Itoa(l.PID)
		}
		if e := j.b.message(base, l.Severity, l.Message); e != nil {
			return e, nil
		}
	}
	if err := j.s.Err(); err != nil {
		return nil, err
	}
	return nil, io.EOF
}

// stderrReader reads the stderr format with any log_line_prefix: the prefix
// is whatever precedes "LOG:  " (or another severity); in it, the session id
// (%c: hex start time, a dot, hex pid) identifies the session, else the
// process id ([%p]) does. Lines starting with a tab continue the previous message.
type stderrReader struct {
	s        *bufio.Scanner
	b        *builder
	cur      *stderrMessage
	done     bool
	pending  *Entry
	prefixes map[string]Entry
}

type stderrMessage struct {
	base     Entry
	severity string
	text     strings.Builder
}

func newStderrReader(r io.Reader) *stderrReader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 1<<16), 64<<20)
	return &stderrReader{s: s, b: newBuilder(), prefixes: map[string]Entry{}}
}

var (
	sessionID    = regexp.MustCompile(`(?:^|[^0-9a-f.:])([0-9a-f]{8,16}\.[0-9a-f]{1,8})(?:[^0-9a-f.]|$)`)
	pidInPrefix  = regexp.MustCompile(`\[(\d+)\]`)
	timeInPrefix = regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?(?: [A-Za-z][A-Za-z0-9+\-:]*)?`)
	userInPrefix = regexp.MustCompile(`(?:^|[\s\[,])(?:user=)([^\s,\]]+)`)
	dbInPrefix   = regexp.MustCompile(`(?:^|[\s\[,])(?:db=|database=)([^\s,\]]+)`)
	userAtDB     = regexp.MustCompile(`(?:^|\s)([A-Za-z_][\w$.-]*)@([A-Za-z_][\w$.-]*)(?:\s|$)`)
	appInPrefix  = regexp.MustCompile(`(?:^|[\s\[,])(?:app=|application_name=)([^\s,\]]+)`)
)

func (s *stderrReader) next() (*Entry, error) {
	for {
		if s.pending != nil {
			e := s.pending
			s.pending = nil
			return e, nil
		}
		if s.done {
			return nil, io.EOF
		}
		if !s.s.Scan() {
			if err := s.s.Err(); err != nil {
				return nil, err
			}
			s.done = true
			s.flush()
			continue
		}
		line := s.s.Text()
		if strings.HasPrefix(line, "\t") {
			if s.cur != nil {
				s.cur.text.WriteString("\n")
				s.cur.text.WriteString(line[1:])
			}
			continue
		}
		sevStart, sevEnd, msgStart := findSeverity(line)
		if sevStart < 0 {
			continue
		}
		s.flush()
		m := &stderrMessage{severity: line[sevStart:sevEnd]}
		m.base = s.parsePrefix(line[:sevStart])
		m.text.WriteString(line[msgStart:])
		s.cur = m
	}
}

// severities are the words that end a log_line_prefix, followed by ":  ".
var severities = map[string]bool{
	"LOG": true, "ERROR": true, "WARNING": true, "NOTICE": true, "INFO": true, "DEBUG": true, "DEBUG1": true,
	"DEBUG2": true, "DEBUG3": true, "DEBUG4": true, "DEBUG5": true, "DETAIL": true, "HINT": true, "STATEMENT": true,
	"CONTEXT": true, "QUERY": true, "FATAL": true, "PANIC": true, "LOCATION": true,
}

// findSeverity finds the first "SEVERITY:  " of a line: the severity's start
// and end and the message's start, or -1.
func findSeverity(line string) (start, end, msg int) {
	from := 0
	for {
		i := strings.Index(line[from:], ":  ")
		if i < 0 {
			return -1, -1, -1
		}
		end := from + i
		start := end
		for start > 0 && (line[start-1] >= 'A' && line[start-1] <= 'Z' || line[start-1] >= '0' && line[start-1] <= '9') {
			start--
		}
		if severities[line[start:end]] && (start == 0 || line[start-1] == ' ' || line[start-1] == ']' || line[start-1] == ':') {
			return start, end, end + 3
		}
		from = end + 3
	}
}

var timeAtStart = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?(?: [A-Za-z][A-Za-z0-9+\-:]*)?`)

// parsePrefix reads the session id, process id, user, database and
// application from a log_line_prefix; the fields other than the time are
// cached per prefix text.
func (s *stderrReader) parsePrefix(prefix string) Entry {
	var ts, rest string
	if loc := timeAtStart.FindStringIndex(prefix); loc != nil {
		ts, rest = prefix[:loc[1]], prefix[loc[1]:]
	} else if loc := timeInPrefix.FindStringIndex(prefix); loc != nil {
		ts, rest = prefix[loc[0]:loc[1]], prefix[:loc[0]]+"\x00"+prefix[loc[1]:]
	} else {
		rest = prefix
	}
	e, ok := s.prefixes[rest]
	if !ok {
		if p := pidInPrefix.FindStringSubmatch(rest); p != nil {
			e.PID, _ = strconv.Atoi(p[1])
		}
		if id := sessionID.FindStringSubmatch(rest); id != nil {
			e.Session = id[1]
		} else {
			e.Session = "pid:" + strconv.Itoa(e.PID)
		}
		if u := userInPrefix.FindStringSubmatch(rest); u != nil {
			e.User = u[1]
		}
		if d := dbInPrefix.FindStringSubmatch(rest); d != nil {
			e.Database = d[1]
		}
		if ud := userAtDB.FindStringSubmatch(rest); ud != nil {
			if e.User == "" {
				e.User = ud[1]
			}
			if e.Database == "" {
				e.Database = ud[2]
			}
		}
		if a := appInPrefix.FindStringSubmatch(rest); a != nil {
			e.Application = a[1]
		}
		if len(s.prefixes) > 10000 {
			s.prefixes = map[string]Entry{}
		}
		s.prefixes[rest] = e
	}
	e.Time = parseLogTime(ts)
	return e
}

// flush completes the current message.
func (s *stderrReader) flush() {
	if s.cur == nil {
		return
	}
	m := s.cur
	s.cur = nil
	if e := s.b.message(m.base, m.severity, m.text.String()); e != nil {
		s.pending = e
	}
}

// parseLogTime parses the timestamps PostgreSQL writes (%m, %t, csvlog,
// jsonlog); it returns the zero time when it cannot.
func parseLogTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999 MST", "2006-01-02 15:04:05.999999999 -07", "2006-01-02 15:04:05.999999999 -0700", "2006-01-02 15:04:05.999999999 -07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
