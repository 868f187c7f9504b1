package sqlfacts

import "sync"

// The results of parsing a statement text are memoised by the text: a run
// often parses the same text more than once (report --from A --to B audits
// two snapshots holding mostly the same statements; a rule fingerprints a
// statement the model already analysed), and pg_query's parse, fingerprint
// and scan are cgo calls that dominate such runs. Each cache is safe for
// concurrent use (a fleet audits its databases at once) and bounded: two
// generations of at most cacheGenBytes each (estimated as the text's length
// and a fixed overhead per entry, times a factor for the value), the older
// generation dropped whole when the newer fills. Only successful results are
// kept (an error is computed again, so its value is never shared), and
// Analyze hands out a deep copy of the cached Facts, so a caller that
// changes its Facts changes nobody else's: the results are those of the
// uncached functions, byte for byte.
var (
	analyzeCache     = newTextCache[*Facts](4) // Facts hold a few copies of the text's names
	fingerprintCache = newTextCache[string](1)
	castCache        = newTextCache[string](2)
)

// cacheGenBytes bounds one generation of one cache: at most 2 × 16 MB per
// cache, whatever the workload.
const cacheGenBytes = 16 << 20

// entryOverhead is the estimated cost of an entry beyond its text: map
// slot, string headers, the value's fixed part.
const entryOverhead = 256

// textCache is a two-generation memo keyed by statement text.
type textCache[V any] struct {
	mu        sync.Mutex
	factor    int // value bytes estimated as factor × len(text)
	cur, old  map[string]V
	curBytes  int
	hits, all int // for tests
}

func newTextCache[V any](factor int) *textCache[V] {
	return &textCache[V]{factor: factor, cur: map[string]V{}}
}

func (c *textCache[V]) cost(key string) int { return (1+c.factor)*len(key) + entryOverhead }

// get returns the value cached for key; a hit in the older generation
// moves it to the newer one.
func (c *textCache[V]) get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.all++
	if v, ok := c.cur[key]; ok {
		c.hits++
		return v, true
	}
	if v, ok := c.old[key]; ok {
		c.hits++
		delete(c.old, key)
		c.putLocked(key, v)
		return v, true
	}
	var zero V
	return zero, false
}

func (c *textCache[V]) put(key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(key, v)
}

func (c *textCache[V]) putLocked(key string, v V) {
	n := c.cost(key)
	if n > cacheGenBytes/4 {
		return // a huge text is not worth a quarter of the cache
	}
	if _, ok := c.cur[key]; ok {
		c.cur[key] = v
		return
	}
	if c.curBytes+n > cacheGenBytes {
		c.old, c.cur, c.curBytes = c.cur, map[string]V{}, 0
	}
	c.cur[key] = v
	c.curBytes += n
}

// size is the number of entries and the estimated bytes held (tests).
func (c *textCache[V]) size() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.old {
		bytes += c.cost(k)
	}
	return len(c.cur) + len(c.old), bytes + c.curBytes
}

// reset empties the cache (tests and benchmarks of the uncached path).
func (c *textCache[V]) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur, c.old, c.curBytes, c.hits, c.all = map[string]V{}, nil, 0, 0, 0
}

// clone is a deep copy of f: nothing of it is shared with f.
func (f *Facts) clone() *Facts {
	g := *f
	g.Relations = cloneSlice(f.Relations)
	if f.Target != nil {
		t := *f.Target
		g.Target = &t
	}
	g.Predicates = cloneSlice(f.Predicates)
	g.Joins = cloneSlice(f.Joins)
	if f.OrderBy != nil {
		g.OrderBy = make([]OrderItem, len(f.OrderBy))
		for i, o := range f.OrderBy {
			if o.NullsFirst != nil {
				nf := *o.NullsFirst
				o.NullsFirst = &nf
			}
			g.OrderBy[i] = o
		}
	}
	g.GroupBy = cloneSlice(f.GroupBy)
	g.AggregateDistinct = cloneSlice(f.AggregateDistinct)
	g.Limit = clonePtr(f.Limit)
	g.Offset = clonePtr(f.Offset)
	if f.CTEs != nil {
		g.CTEs = make([]CTE, len(f.CTEs))
		for i, c := range f.CTEs {
			c.Relations = cloneSlice(c.Relations)
			g.CTEs[i] = c
		}
	}
	g.Functions = cloneSlice(f.Functions)
	if f.ParamColumns != nil {
		g.ParamColumns = make(map[int]ColumnRef, len(f.ParamColumns))
		for k, v := range f.ParamColumns {
			g.ParamColumns[k] = v
		}
	}
	return &g
}

// cloneSlice copies a slice of plain values, keeping nil and empty apart
// (Relations is [] for a statement without any, and JSON shows the
// difference).
func cloneSlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// ResetCaches empties the parse caches, so the next parse of every text is
// cold: benchmarks call it between iterations to measure a run as a fresh
// process would make it, not the memo's hits.
func ResetCaches() {
	analyzeCache.reset()
	fingerprintCache.reset()
	castCache.reset()
}
