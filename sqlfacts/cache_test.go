package sqlfacts

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// TestAnalyzeCache: a cached Analyze returns what the uncached parse
// returns, on the first call and on a hit, and a caller that changes its
// Facts does not change what the next caller gets.
func TestAnalyzeCache(t *testing.T) {
	analyzeCache.reset()
	for _, q := range workload {
		want, err := analyze(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		first, err := Analyze(q)
		if err != nil {
			t.Fatal(err)
		}
		hitsBefore := analyzeCache.hits
		second, err := Analyze(q)
		if err != nil {
			t.Fatal(err)
		}
		if analyzeCache.hits != hitsBefore+1 {
			t.Errorf("%s: the second Analyze was not a cache hit", q)
		}
		if !reflect.DeepEqual(first, want) || !reflect.DeepEqual(second, want) {
			t.Errorf("%s: cached facts differ from the parse's:\n got %+v\nwant %+v", q, second, want)
		}
		scribble(reflect.ValueOf(second).Elem())
		scribble(reflect.ValueOf(first).Elem())
		third, _ := Analyze(q)
		if !reflect.DeepEqual(third, want) {
			t.Errorf("%s: a caller's change to its Facts reached the cache:\n got %+v\nwant %+v", q, third, want)
		}
	}
	// An error is not cached: each call parses again and returns its own.
	bad := "SELECT FROM WHERE"
	_, err1 := Analyze(bad)
	_, err2 := Analyze(bad)
	if err1 == nil || err2 == nil || err1 == err2 {
		t.Errorf("a text that does not parse: errors %v and %v, want two distinct errors", err1, err2)
	}
	if n, _ := analyzeCache.size(); n != len(workload) {
		t.Errorf("cache holds %d entries after %d texts (errors included?)", n, len(workload))
	}
}

// TestFactsClone: clone copies every field of Facts and shares no memory
// with the original (a field added to Facts without its copy fails here).
func TestFactsClone(t *testing.T) {
	var f Facts
	fill(reflect.ValueOf(&f).Elem(), 1)
	g := f.clone()
	if !reflect.DeepEqual(&f, g) {
		t.Fatalf("clone differs:\n got %+v\nwant %+v", g, &f)
	}
	shared(t, "Facts", reflect.ValueOf(f), reflect.ValueOf(*g))
	// nil and empty slices stay apart (Relations is [] for a statement without any).
	e := Facts{Relations: []Relation{}}
	if c := e.clone(); c.Relations == nil || c.Predicates != nil {
		t.Errorf("clone of empty Relations and nil Predicates: %#v, %#v", c.Relations, c.Predicates)
	}
}

func TestFingerprintAndCastCache(t *testing.T) {
	fingerprintCache.reset()
	castCache.reset()
	for _, q := range workload {
		a, err := Fingerprint(q)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Fingerprint(q)
		if want, _ := analyze(q); a != want.Fingerprint || b != a {
			t.Errorf("%s: fingerprints %s, %s, want %s", q, a, b, want.Fingerprint)
		}
	}
	typed := append(workload, "SELECT * FROM t WHERE at > now() - interval $1")
	for _, q := range typed {
		if c, d := CastTypedParams(q), CastTypedParams(q); c != castTypedParams(q) || d != c {
			t.Errorf("%s: cast %q then %q, want %q", q, c, d, castTypedParams(q))
		}
	}
	if CastTypedParams(typed[len(typed)-1]) == typed[len(typed)-1] {
		t.Error("the typed literal was not rewritten")
	}
	if fingerprintCache.hits != len(workload) || castCache.hits != len(typed)+1 {
		t.Errorf("hits: fingerprint %d, cast %d, want %d and %d", fingerprintCache.hits, castCache.hits, len(workload), len(typed)+1)
	}
}

// TestTextCacheBounded: however many texts go through, the cache holds at
// most two generations' worth, and a text used again survives the turn of
// a generation.
func TestTextCacheBounded(t *testing.T) {
	c := newTextCache[string](1)
	text := strings.Repeat("x", 10_000)
	keep := "SELECT kept"
	c.put(keep, "k")
	for i := 0; i < 10*cacheGenBytes/c.cost(text); i++ {
		c.put(fmt.Sprintf("%d%s", i, text), "v")
		if i%500 == 0 {
			if _, ok := c.get(keep); !ok {
				t.Fatalf("the text in use was dropped after %d others", i)
			}
		}
	}
	n, bytes := c.size()
	if bytes > 2*cacheGenBytes {
		t.Errorf("cache holds %d bytes in %d entries, bound %d", bytes, n, 2*cacheGenBytes)
	}
	if n < cacheGenBytes/c.cost(text) {
		t.Errorf("cache holds only %d entries: it drops more than it must", n)
	}
	huge := strings.Repeat("y", cacheGenBytes)
	c.put(huge, "h")
	if _, ok := c.get(huge); ok {
		t.Error("a text larger than a quarter of the cache was kept")
	}
}

// TestAnalyzeConcurrent: run with -race; concurrent callers of the same
// texts get equal facts.
func TestAnalyzeConcurrent(t *testing.T) {
	analyzeCache.reset()
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				for _, q := range workload {
					f, err := Analyze(q)
					want, _ := analyze(q)
					if err != nil || !reflect.DeepEqual(f, want) {
						t.Errorf("%s: %v", q, err)
						return
					}
					scribble(reflect.ValueOf(f).Elem())
				}
			}
		}()
	}
	wg.Wait()
}

// fill sets every field reachable from v to a non-zero value.
func fill(v reflect.Value, n int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", n))
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n+1)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := 0; i < 2; i++ {
			fill(v.Index(i), n+i+1)
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i := 1; i <= 2; i++ {
			k := reflect.New(v.Type().Key()).Elem()
			fill(k, n+i)
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, n+i)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(v.Field(i), n+i+1)
		}
	default:
		panic("fill: unhandled kind " + v.Kind().String())
	}
}

// scribble overwrites every string, number and bool reachable from v,
// through pointers, slices and maps, as a careless caller might.
func scribble(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("scribbled")
	case reflect.Int, reflect.Int64:
		v.SetInt(-7)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Pointer:
		if !v.IsNil() {
			scribble(v.Elem())
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			scribble(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			scribble(e)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			scribble(v.Field(i))
		}
	}
}

// shared fails when a and b hold the same pointer, slice array or map.
func shared(t *testing.T, path string, a, b reflect.Value) {
	t.Helper()
	switch a.Kind() {
	case reflect.Pointer:
		if !a.IsNil() && a.Pointer() == b.Pointer() {
			t.Errorf("%s is shared", path)
		} else if !a.IsNil() {
			shared(t, path, a.Elem(), b.Elem())
		}
	case reflect.Slice:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			t.Errorf("%s is shared", path)
		}
		for i := 0; i < a.Len(); i++ {
			shared(t, fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i))
		}
	case reflect.Map:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			t.Errorf("%s is shared", path)
		}
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			shared(t, path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))
		}
	}
}
