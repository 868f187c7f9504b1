package history

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pgadvisor/pgadvisor/pgstat"
)

// File names of a run: <stamp>.snapshot.json.gz and <stamp>.report.json.gz
// under DIR/<target>/, stamp the snapshot's collection time in UTC.
const (
	stampLayout    = "20060102T150405.000Z"
	snapshotSuffix = ".snapshot.json.gz"
	reportSuffix   = ".report.json.gz"
)

// Backend keeps the runs of one target: a directory (Store) or a
// PostgreSQL database (PGStore).
type Backend interface {
	// Latest is the newest stored run; nil, nil for an empty history.
	Latest(ctx context.Context) (*Previous, error)
	// Reports are every stored run's report, oldest first.
	Reports(ctx context.Context) ([]*Report, error)
	// Save stores a run and says where.
	Save(ctx context.Context, snap *pgstat.Snapshot, r *Report) (string, error)
	// Prune removes the runs k does not keep (never the newest).
	Prune(ctx context.Context, k Keep, now time.Time) (int, error)
	Close(ctx context.Context) error
}

// Close does nothing: a directory needs no closing.
func (s *Store) Close(context.Context) error { return nil }

// Store is the history of one target: DIR/<target>/.
type Store struct {
	Dir string // DIR/<target>
}

var targetName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidTarget says whether name can be a target (a directory name): letters,
// digits, '.', '_' and '-', not starting with a dot.
func ValidTarget(name string) bool {
	return targetName.MatchString(name) && !strings.Contains(name, "..")
}

var unsafeTarget = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// TargetOf turns a database name into a target name: characters a target
// cannot hold become '_'.
func TargetOf(database string) string {
	t := strings.Trim(unsafeTarget.ReplaceAllString(database, "_"), "._-")
	t = strings.ReplaceAll(t, "..", "_")
	if t == "" {
		t = "database"
	}
	if len(t) > 128 {
		t = t[:128]
	}
	return t
}

// Open returns the store of target under dir, creating its directory.
func Open(dir, target string) (*Store, error) {
	if !ValidTarget(target) {
		return nil, fmt.Errorf("target name %q: use letters, digits, '.', '_' and '-' (--target)", target)
	}
	d := filepath.Join(dir, target)
	if err := os.MkdirAll(d, 0o750); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return &Store{Dir: d}, nil
}

// Run is one stored run.
type Run struct {
	Stamp string
	At    time.Time
}

// Runs lists the stored runs that have a snapshot, oldest first.
func (s *Store) Runs() ([]Run, error) {
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var runs []Run
	for _, e := range entries {
		stamp, ok := strings.CutSuffix(e.Name(), snapshotSuffix)
		if !ok {
			continue
		}
		at, err := time.Parse(stampLayout, stamp)
		if err != nil {
			continue
		}
		runs = append(runs, Run{Stamp: stamp, At: at})
	}
	slices.SortFunc(runs, func(a, b Run) int { return a.At.Compare(b.At) })
	return runs, nil
}

// Latest loads the newest stored run: its snapshot and its report (nil
// when its report is missing); nil, nil for an empty history.
func (s *Store) Latest(_ context.Context) (*Previous, error) {
	runs, err := s.Runs()
	if err != nil || len(runs) == 0 {
		return nil, err
	}
	last := runs[len(runs)-1]
	data, err := readGzip(filepath.Join(s.Dir, last.Stamp+snapshotSuffix))
	if err != nil {
		return nil, err
	}
	snap, err := pgstat.Read(data)
	if err != nil {
		return nil, fmt.Errorf("history %s: %w", last.Stamp, err)
	}
	p := &Previous{Snapshot: snap}
	data, err = readGzip(filepath.Join(s.Dir, last.Stamp+reportSuffix))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		var r Report
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("history %s report: %w", last.Stamp, err)
		}
		p.Report = &r
	}
	return p, nil
}

// Save stores a run: the snapshot and the report, gzip-compressed, named by
// the snapshot's collection time. It returns the path of the snapshot.
func (s *Store) Save(_ context.Context, snap *pgstat.Snapshot, r *Report) (string, error) {
	at := snap.CollectedAt.UTC()
	if at.IsZero() {
		at = time.Now().UTC()
	}
	stamp := at.Format(stampLayout)
	for i := 0; fileExists(filepath.Join(s.Dir, stamp+snapshotSuffix)); i++ {
		at = at.Add(time.Millisecond)
		stamp = at.Format(stampLayout)
	}
	var sb bytes.Buffer
	if err := snap.Write(&sb); err != nil {
		return "", fmt.Errorf("history: %w", err)
	}
	stored := *r
	stored.Runs = nil // each report's trend is rebuilt from the stored reports
	rb, err := json.Marshal(&stored)
	if err != nil {
		return "", fmt.Errorf("history: %w", err)
	}
	// The report first: Latest only sees a run once its snapshot exists.
	if err := writeGzip(filepath.Join(s.Dir, stamp+reportSuffix), rb); err != nil {
		return "", err
	}
	path := filepath.Join(s.Dir, stamp+snapshotSuffix)
	if err := writeGzip(path, sb.Bytes()); err != nil {
		return "", err
	}
	return path, nil
}

// Keep is a retention: runs younger than Age, or the last Runs runs.
type Keep struct {
	Age  time.Duration
	Runs int
}

// ParseKeep reads --keep: a number of days (30d), hours (12h) or weeks (4w),
// or a number of runs (30).
func ParseKeep(s string) (Keep, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 {
			return Keep{}, fmt.Errorf("--keep %s: keep at least 1 run", s)
		}
		return Keep{Runs: n}, nil
	}
	units := map[string]time.Duration{"h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}
	if len(s) > 1 {
		if u, ok := units[s[len(s)-1:]]; ok {
			if n, err := strconv.Atoi(s[:len(s)-1]); err == nil && n > 0 {
				return Keep{Age: time.Duration(n) * u}, nil
			}
		}
	}
	return Keep{}, fmt.Errorf("--keep %q: want a number of runs (30) or an age (30d, 12h, 4w)", s)
}

// Prune removes the runs the retention does not keep; the newest run is
// always kept. It returns how many runs it removed.
func (s *Store) Prune(_ context.Context, k Keep, now time.Time) (int, error) {
	runs, err := s.Runs()
	if err != nil {
		return 0, err
	}
	removed := 0
	for i, r := range runs {
		if i == len(runs)-1 {
			break
		}
		old := (k.Runs > 0 && i < len(runs)-k.Runs) || (k.Age > 0 && now.Sub(r.At) > k.Age)
		if !old {
			continue
		}
		for _, suffix := range []string{reportSuffix, snapshotSuffix} {
			if err := os.Remove(filepath.Join(s.Dir, r.Stamp+suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return removed, fmt.Errorf("history prune: %w", err)
			}
		}
		removed++
	}
	return removed, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func readGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	return data, nil
}

// writeGzip writes through a temporary file, so a failure leaves no
// half-written run.
func writeGzip(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer os.Remove(tmp.Name())
	zw := gzip.NewWriter(tmp)
	if _, err := zw.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("history: %w", err)
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return fmt.Errorf("history: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return nil
}

// Reports loads every stored run's report, oldest first; a run whose report
// is missing or unreadable is left out.
func (s *Store) Reports(_ context.Context) ([]*Report, error) {
	runs, err := s.Runs()
	if err != nil {
		return nil, err
	}
	var out []*Report
	for _, run := range runs {
		data, err := readGzip(filepath.Join(s.Dir, run.Stamp+reportSuffix))
		if err != nil {
			continue
		}
		var r Report
		if json.Unmarshal(data, &r) == nil {
			out = append(out, &r)
		}
	}
	return out, nil
}
