package review

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// MaxFileSize is the largest file read; larger ones are skipped with a note.
const MaxFileSize = 10 << 20

// Note is something review could not read, and why.
type Note struct {
	Path    string `json:"path"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

// skippedDirs are never walked.
var skippedDirs = map[string]bool{".git": true, "vendor": true, "node_modules": true, ".hg": true, ".svn": true}

// Migration file names: golang-migrate (1_init.up.sql), Flyway (V1__init.sql,
// V1.2__x.sql, R__x.sql repeatable), numbered (001_init.sql, 20240101-x.sql).
var (
	migrateUp   = regexp.MustCompile(`^(\d+)_.*\.up\.sql$`)
	migrateDown = regexp.MustCompile(`^(\d+)_.*\.down\.sql$|^U\d+(\.\d+)*__.*\.sql$`)
	flyway      = regexp.MustCompile(`^V(\d+(?:[._]\d+)*)__.*\.sql$`)
	flywayRep   = regexp.MustCompile(`^R__.*\.sql$`)
	numbered    = regexp.MustCompile(`^(\d+)[_\-.].*\.sql$`)
)

// migrationVersion is the file's version in its folder (nil when the name is
// not a migration's) and whether it is a down (or undo) migration.
func migrationVersion(name string) (version []int, down bool) {
	if migrateDown.MatchString(name) {
		return nil, true
	}
	parse := func(s string) []int {
		var v []int
		for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '_' }) {
			n, err := strconv.Atoi(part)
			if err != nil {
				n = 0
			}
			v = append(v, n)
		}
		return v
	}
	switch {
	case migrateUp.MatchString(name):
		return parse(migrateUp.FindStringSubmatch(name)[1]), false
	case flyway.MatchString(name):
		return parse(flyway.FindStringSubmatch(name)[1]), false
	case flywayRep.MatchString(name):
		return []int{1 << 30}, false // after every versioned migration
	case numbered.MatchString(name):
		return parse(numbered.FindStringSubmatch(name)[1]), false
	}
	return nil, false
}

// Collect reads every source under paths (files or directories, walked
// recursively), relative to wd. Unreadable, oversized, binary and
// undecodable files are notes, not errors; a path that does not exist is an
// error.
func Collect(wd string, paths []string) ([]*File, []Note, error) {
	type candidate struct {
		abs, rel string
	}
	var cands []candidate
	seen := map[string]bool{}
	for _, p := range paths {
		abs := p
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(wd, p)
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, nil, fmt.Errorf("review %s: %w", p, err)
		}
		err := filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != abs && skippedDirs[d.Name()] {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() || seen[path] {
				return nil
			}
			ext := strings.ToLower(filepath.Ext(path))
			if ext != ".sql" && ext != ".go" && ext != ".py" && !jsExt[ext] && !jvmExt[ext] && !rubyExt[ext] {
				return nil
			}
			seen[path] = true
			cands = append(cands, candidate{abs: path, rel: relPath(wd, path)})
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("walk %s: %w", p, err)
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].rel < cands[j].rel })

	// A folder with migration-named files is a migration folder; its files
	// are ordered by version.
	type mig struct {
		version []int
		name    string
	}
	folders := map[string][]mig{}
	for _, c := range cands {
		if v, down := migrationVersion(filepath.Base(c.rel)); v != nil && !down {
			dir := filepath.Dir(c.rel)
			folders[dir] = append(folders[dir], mig{v, filepath.Base(c.rel)})
		}
	}
	order := map[string]int{}
	for dir, ms := range folders {
		sort.Slice(ms, func(i, j int) bool {
			if c := compareVersions(ms[i].version, ms[j].version); c != 0 {
				return c < 0
			}
			return ms[i].name < ms[j].name
		})
		for i, m := range ms {
			order[filepath.Join(dir, m.name)] = i + 1
		}
	}

	// Each file is read and cut on its own (GOMAXPROCS workers: splitting
	// is a parse), in the walk's order.
	type read struct {
		file *File
		note *Note
	}
	out := make([]read, len(cands))
	forEach(len(cands), func(i int) {
		c := cands[i]
		f, note := readSource(c.abs, c.rel, order[c.rel])
		out[i] = read{f, note}
	})
	var files []*File
	var notes []Note
	for _, r := range out {
		if r.note != nil {
			notes = append(notes, *r.note)
		}
		if r.file != nil {
			files = append(files, r.file)
		}
	}
	return files, notes, nil
}

func compareVersions(a, b []int) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}

// relPath is path relative to wd when it is below it, else as given.
func relPath(wd, path string) string {
	if rel, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

// jsExt are the JavaScript and TypeScript file name extensions reviewed.
var jsExt = map[string]bool{".js": true, ".mjs": true, ".cjs": true, ".jsx": true, ".ts": true, ".mts": true, ".cts": true, ".tsx": true}

// jvmExt are the Java and Kotlin file name extensions reviewed.
var jvmExt = map[string]bool{".java": true, ".kt": true, ".kts": true}

// rubyExt are the Ruby file name extensions reviewed.
var rubyExt = map[string]bool{".rb": true, ".rake": true}

// forEach runs work(0..n-1) on GOMAXPROCS workers.
func forEach(n int, work func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			work(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				work(i)
			}
		}()
	}
	wg.Wait()
}

// readSource reads one file (abs) as the reader of its kind does; n is its
// position in its migration folder, 0 outside one. A file that cannot be
// read is a note, and a nil File.
func readSource(abs, relOS string, n int) (*File, *Note) {
	name := filepath.Base(relOS)
	rel := filepath.ToSlash(relOS)
	if _, down := migrationVersion(name); down {
		return nil, nil
	}
	info, err := os.Stat(abs)
	if err != nil {
		return nil, &Note{Path: rel, Message: fmt.Sprintf("skipped: %v", err)}
	}
	if info.Size() > MaxFileSize {
		return nil, &Note{Path: rel, Message: fmt.Sprintf("skipped: %d bytes, larger than %d", info.Size(), MaxFileSize)}
	}
	src, err := os.ReadFile(abs)
	if err != nil {
		return nil, &Note{Path: rel, Message: fmt.Sprintf("skipped: %v", err)}
	}
	if bytes.IndexByte(src, 0) >= 0 {
		return nil, &Note{Path: rel, Message: "skipped: binary file (holds NUL bytes)"}
	}
	if !utf8.Valid(src) {
		return nil, &Note{Path: rel, Message: "skipped: not valid UTF-8"}
	}
	ext := strings.ToLower(filepath.Ext(name))
	switch {
	case ext == ".go":
		f, err := readGo(rel, src)
		if err != nil {
			return nil, &Note{Path: rel, Message: fmt.Sprintf("skipped: %v", err)}
		}
		return f, nil
	case ext == ".py":
		return readPython(rel, string(src)), nil
	case jsExt[ext]:
		return readJavaScript(rel, string(src)), nil
	case jvmExt[ext]:
		return readJVM(rel, string(src)), nil
	case rubyExt[ext]:
		return readRuby(rel, string(src)), nil
	}
	source := "sql"
	if n > 0 {
		source = "migration"
	}
	f := readSQL(rel, string(src), source)
	for _, st := range f.Statements {
		if n > 0 {
			st.Migration = n
			st.Folder = filepath.ToSlash(filepath.Dir(relOS))
		}
	}
	return f, nil
}
