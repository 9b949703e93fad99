package kv

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var allKinds = []Value{
	Null(), Bool(true), Bool(false), Int(-42), Int(math.MaxInt64), Float(math.NaN()), Float(math.Copysign(0, -1)),
	Float(math.Inf(1)), Float(3.25), String(""), String("héllo"), Bytes(nil), Bytes([]byte{0, 255}),
	Array(), Array(Int(1), Array(String("x"))), Object(nil),
	Object(map[string]Value{"a": Int(1), "b": Object(map[string]Value{"c": Null()})}),
	String(strings.Repeat("compressible ", 500)),
}

func TestBasicOpsEveryKindEveryMode(t *testing.T) {
	for name, opts := range modes {
		t.Run(name, func(t *testing.T) {
			o := opts
			db := openT(t, &o)
			var last Version
			for i, v := range allKinds {
				key := fmt.Sprintf("k%02d", i)
				ver := mustPut(t, db, DefaultRun, key, v)
				require.Greater(t, ver, last, "versions strictly increase")
				last = ver
				got := mustGet(t, db, DefaultRun, key)
				sameValue(t, v, got.Value)
				require.Equal(t, ver, got.Version)
				require.False(t, got.Deleted)
				require.Equal(t, time.UTC, got.Timestamp.Location())
				require.Zero(t, got.Timestamp.Nanosecond()%1000, "microsecond precision")
				ok, err := db.Exists(DefaultRun, key)
				require.NoError(t, err)
				require.True(t, ok)
			}
			require.Equal(t, last, db.LastVersion())
			st := db.Stats()
			require.EqualValues(t, len(allKinds), st.Keys)
			require.EqualValues(t, len(allKinds), st.Versions)
			require.Equal(t, last, st.LastVersion)
			require.GreaterOrEqual(t, st.Segments, 1)

			deleted, err := db.Delete(DefaultRun, "k00")
			require.NoError(t, err)
			require.True(t, deleted)
			absent(t, db, DefaultRun, "k00")
			deleted, err = db.Delete(DefaultRun, "k00")
			require.NoError(t, err)
			require.False(t, deleted, "deleting an absent key")
			require.Equal(t, last+1, db.LastVersion(), "a no-op delete writes nothing")
			deleted, err = db.Delete(DefaultRun, "never")
			require.NoError(t, err)
			require.False(t, deleted)
			ok, err := db.Exists(DefaultRun, "k00")
			require.NoError(t, err)
			require.False(t, ok)
		})
	}
}

func TestInMemoryNeedsNoDir(t *testing.T) {
	_, err := Open(t.TempDir(), &Options{Durability: InMemory})
	require.Error(t, err)
	_, err = Open("", nil)
	require.Error(t, err, "Buffered needs a directory")
	_, err = Open("", &Options{Durability: Strict})
	require.Error(t, err)
	for _, bad := range []Options{{Durability: 7}, {SegmentSize: -1}, {SyncInterval: -1}, {MaxValueBytes: -1}, {Retention: Retention{KeepVersions: -1}}} {
		_, err := Open(t.TempDir(), &bad)
		require.Error(t, err, "%+v", bad)
	}
}

func TestHistoryOrderAndPaging(t *testing.T) {
	db := openT(t, nil)
	var vers []Version
	for i := 0; i < 10; i++ {
		vers = append(vers, mustPut(t, db, "r", "k", Int(int64(i))))
		mustPut(t, db, "r", "other", Int(int64(i)))
	}
	_, err := db.Delete("r", "k")
	require.NoError(t, err)
	mustPut(t, db, "r", "k", String("back"))

	all, err := db.History("r", "k", 0, 0)
	require.NoError(t, err)
	require.Len(t, all, 12)
	require.Equal(t, "back", must2(all[0].Value.AsString()))
	require.True(t, all[1].Deleted)
	require.Equal(t, KindNull, all[1].Value.Kind())
	for i := 2; i < 12; i++ {
		require.EqualValues(t, 11-i, must2(all[i].Value.AsInt()))
	}
	for i := 1; i < len(all); i++ {
		require.Greater(t, all[i-1].Version, all[i].Version, "newest first")
		require.False(t, all[i-1].Timestamp.Before(all[i].Timestamp), "timestamps non-decreasing with versions")
	}

	// Paging with before = last version of the previous page.
	var paged []Versioned
	before := Version(0)
	for {
		page, err := db.History("r", "k", 5, before)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		require.LessOrEqual(t, len(page), 5)
		paged = append(paged, page...)
		before = page[len(page)-1].Version
	}
	require.Equal(t, all, paged)

	some, err := db.History("r", "k", 0, vers[3])
	require.NoError(t, err)
	require.Len(t, some, 3)
	require.Equal(t, vers[2], some[0].Version)

	none, err := db.History("r", "missing", 0, 0)
	require.NoError(t, err)
	require.NotNil(t, none)
	require.Empty(t, none)
}

func TestGetAt(t *testing.T) {
	db := openT(t, nil)
	other := mustPut(t, db, "r", "other", Int(0))
	v1 := mustPut(t, db, "r", "k", Int(1))
	v2 := mustPut(t, db, "r", "k", Int(2))
	_, err := db.Delete("r", "k")
	require.NoError(t, err)
	vdel := db.LastVersion()
	v3 := mustPut(t, db, "r", "k", Int(3))

	_, err = db.GetAt("r", "k", other)
	require.ErrorIs(t, err, ErrNotFound, "before the first write")
	_, err = db.GetAt("r", "k", 0)
	require.ErrorIs(t, err, ErrNotFound)
	got, err := db.GetAt("r", "k", v1)
	require.NoError(t, err)
	require.EqualValues(t, 1, must2(got.Value.AsInt()))
	got, err = db.GetAt("r", "k", vdel-1)
	require.NoError(t, err)
	require.Equal(t, v2, got.Version)
	_, err = db.GetAt("r", "k", vdel)
	require.ErrorIs(t, err, ErrNotFound, "after delete")
	got, err = db.GetAt("r", "k", v3+1000)
	require.NoError(t, err, "above LastVersion reads the latest")
	require.Equal(t, v3, got.Version)
	_, err = db.GetAt("r", "nope", 1000)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestRunIsolation(t *testing.T) {
	db := openT(t, nil)
	a, b := NewRunID(), NewRunID()
	require.NotEqual(t, a, b)
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, string(a))
	mustPut(t, db, a, "k", String("in a"))
	mustPut(t, db, b, "k", String("in b"))
	mustPut(t, db, a, "only-a", Int(1))
	// Runs that are prefixes of each other stay apart.
	mustPut(t, db, "x", "k1", Int(1))
	mustPut(t, db, "xy", "k2", Int(2))
	require.Equal(t, "in a", must2(mustGet(t, db, a, "k").Value.AsString()))
	require.Equal(t, "in b", must2(mustGet(t, db, b, "k").Value.AsString()))
	absent(t, db, b, "only-a")
	keys, err := db.Keys("x", "", 0)
	require.NoError(t, err)
	require.Equal(t, []string{"k1"}, keys)
	_, err = db.Delete(a, "k")
	require.NoError(t, err)
	absent(t, db, a, "k")
	mustGet(t, db, b, "k")
	n, err := db.Incr(b, "c", 5)
	require.NoError(t, err)
	require.EqualValues(t, 5, n)
	absent(t, db, a, "c")
}

func TestBatches(t *testing.T) {
	db := openT(t, nil)
	v, err := db.MPut("r", []KeyValue{{"a", Int(1)}, {"b", Int(2)}, {"a", Int(3)}, {"c", Null()}})
	require.NoError(t, err)
	for _, k := range []string{"a", "b", "c"} {
		require.Equal(t, v, mustGet(t, db, "r", k).Version, "one version for the batch")
	}
	require.EqualValues(t, 3, must2(mustGet(t, db, "r", "a").Value.AsInt()), "a duplicated key keeps its last value")
	h, err := db.History("r", "a", 0, 0)
	require.NoError(t, err)
	require.Len(t, h, 1)

	v0, err := db.MPut("r", nil)
	require.NoError(t, err)
	require.Zero(t, v0)
	require.Equal(t, v, db.LastVersion(), "an empty batch writes nothing")

	before := db.LastVersion()
	_, err = db.MPut("r", []KeyValue{{"d", Int(1)}, {"", Int(2)}})
	require.ErrorIs(t, err, ErrInvalidKey)
	_, err = db.MPut("r", []KeyValue{{"d", Int(1)}, {"e", nestedValue(129)}})
	require.ErrorIs(t, err, ErrInvalidValue)
	_, err = db.MPut("", []KeyValue{{"d", Int(1)}})
	require.ErrorIs(t, err, ErrInvalidRun)
	require.Equal(t, before, db.LastVersion())
	absent(t, db, "r", "d")

	got, err := db.MGet("r", []string{"c", "zz", "a", "a"})
	require.NoError(t, err)
	require.Len(t, got, 4)
	require.NotNil(t, got[0])
	require.Nil(t, got[1])
	require.EqualValues(t, 3, must2(got[2].Value.AsInt()))
	_, err = db.MGet("r", []string{"a", "_strata/x"})
	require.ErrorIs(t, err, ErrInvalidKey)

	n, err := db.MExists("r", []string{"a", "a", "b", "zz"})
	require.NoError(t, err)
	require.Equal(t, 2, n, "distinct live keys")

	n, err = db.MDelete("r", []string{"a", "a", "zz", "b"})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	absent(t, db, "r", "a")
	absent(t, db, "r", "b")
	ha, _ := db.History("r", "a", 1, 0)
	hb, _ := db.History("r", "b", 1, 0)
	require.Equal(t, ha[0].Version, hb[0].Version, "one version for the delete batch")
	before = db.LastVersion()
	n, err = db.MDelete("r", []string{"a", "zz"})
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, before, db.LastVersion())
}

func nestedValue(depth int) Value { return nested(depth) }

func TestIncr(t *testing.T) {
	db := openT(t, nil)
	n, err := db.Incr("r", "c", 5)
	require.NoError(t, err)
	require.EqualValues(t, 5, n, "absent counts as 0")
	n, err = db.Incr("r", "c", -7)
	require.NoError(t, err)
	require.EqualValues(t, -2, n)
	_, err = db.Delete("r", "c")
	require.NoError(t, err)
	n, err = db.Incr("r", "c", 1)
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "deleted counts as absent")

	mustPut(t, db, "r", "s", String("x"))
	mustPut(t, db, "r", "f", Float(1))
	before := db.LastVersion()
	_, err = db.Incr("r", "s", 1)
	require.ErrorIs(t, err, ErrWrongType)
	_, err = db.Incr("r", "f", 1)
	require.ErrorIs(t, err, ErrWrongType)
	require.Equal(t, before, db.LastVersion(), "nothing written on ErrWrongType")
	mustPut(t, db, "r", "big", Int(math.MaxInt64-1))
	before = db.LastVersion()
	_, err = db.Incr("r", "big", 2)
	require.ErrorIs(t, err, ErrOverflow)
	require.Equal(t, before, db.LastVersion(), "nothing written on ErrOverflow")
	mustPut(t, db, "r", "small", Int(math.MinInt64+1))
	before = db.LastVersion()
	_, err = db.Incr("r", "small", -2)
	require.ErrorIs(t, err, ErrOverflow)
	require.Equal(t, before, db.LastVersion(), "nothing written on error")
	n, err = db.Incr("r", "big", 1)
	require.NoError(t, err)
	require.Equal(t, int64(math.MaxInt64), n)
}

func TestConcurrentIncrIsExact(t *testing.T) {
	for _, name := range []string{"buffered", "strict"} {
		t.Run(name, func(t *testing.T) {
			o := modes[name]
			db := openT(t, &o)
			const goroutines, each = 8, 200
			var wg sync.WaitGroup
			results := make(chan int64, goroutines*each)
			for g := 0; g < goroutines; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						n, err := db.Incr("r", "counter", 1)
						if err != nil {
							t.Error(err)
							return
						}
						results <- n
					}
				}()
			}
			wg.Wait()
			close(results)
			seen := map[int64]bool{}
			for n := range results {
				require.False(t, seen[n], "result %d returned twice", n)
				seen[n] = true
			}
			require.Len(t, seen, goroutines*each)
			require.EqualValues(t, goroutines*each, must2(mustGet(t, db, "r", "counter").Value.AsInt()))
		})
	}
}

func TestCompareAndSwap(t *testing.T) {
	db := openT(t, nil)
	ok, err := db.CompareAndSwapVersion("r", "k", 0, Int(1))
	require.NoError(t, err)
	require.True(t, ok, "0 means only if absent")
	v1 := mustGet(t, db, "r", "k").Version
	ok, err = db.CompareAndSwapVersion("r", "k", 0, Int(2))
	require.NoError(t, err)
	require.False(t, ok)
	ok, err = db.CompareAndSwapVersion("r", "k", v1+100, Int(2))
	require.NoError(t, err)
	require.False(t, ok)
	before := db.LastVersion()
	require.Equal(t, v1, before, "a failed CAS writes nothing")
	ok, err = db.CompareAndSwapVersion("r", "k", v1, Int(2))
	require.NoError(t, err)
	require.True(t, ok)

	two := Int(2)
	one := Int(1)
	ok, err = db.CompareAndSwapValue("r", "k", &one, Int(3))
	require.NoError(t, err)
	require.False(t, ok)
	ok, err = db.CompareAndSwapValue("r", "k", &two, Int(3))
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = db.CompareAndSwapValue("r", "k", nil, Int(4))
	require.NoError(t, err)
	require.False(t, ok, "nil means only if absent")
	ok, err = db.CompareAndSwapValue("r", "new", nil, Int(4))
	require.NoError(t, err)
	require.True(t, ok)
	f := Float(3)
	ok, err = db.CompareAndSwapValue("r", "k", &f, Int(5))
	require.NoError(t, err)
	require.False(t, ok, "Int(3) is not Float(3)")
	nan := Float(math.NaN())
	mustPut(t, db, "r", "nan", nan)
	ok, err = db.CompareAndSwapValue("r", "nan", &nan, Int(0))
	require.NoError(t, err)
	require.False(t, ok, "NaN never equals NaN")
	_, err = db.Delete("r", "k")
	require.NoError(t, err)
	ok, err = db.CompareAndSwapVersion("r", "k", 0, Int(9))
	require.NoError(t, err)
	require.True(t, ok, "a deleted key is absent")
	_, err = db.CompareAndSwapValue("r", "k", nil, nestedValue(200))
	require.ErrorIs(t, err, ErrInvalidValue)
}

// Goroutines race to CAS a counter forward; every success must be one
// step of an unbroken chain, so the final value equals the successes.
func TestCASUnderContention(t *testing.T) {
	db := openT(t, nil)
	mustPut(t, db, "r", "k", Int(0))
	var wg sync.WaitGroup
	var wins atomic.Int64
	// tally counts a successful swap; it reports false on an error.
	tally := func(ok bool, err error) bool {
		if err != nil {
			t.Error(err)
			return false
		}
		if ok {
			wins.Add(1)
		}
		return true
	}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				cur := mustGetNoT(db)
				if !tally(db.CompareAndSwapVersion("r", "k", cur.Version, Int(must2(cur.Value.AsInt())+1))) {
					return
				}
				v := cur.Value
				if !tally(db.CompareAndSwapValue("r", "k", &v, Int(must2(v.AsInt())+1))) {
					return
				}
			}
		}()
	}
	wg.Wait()
	require.Positive(t, wins.Load())
	require.EqualValues(t, wins.Load(), must2(mustGet(t, db, "r", "k").Value.AsInt()))
}

func mustGetNoT(db *DB) Versioned {
	v, _, _ := db.Get("r", "k")
	return v
}

func TestKeysAndScan(t *testing.T) {
	db := openT(t, nil)
	for _, k := range []string{"b/2", "a/1", "b/1", "c", "b/3", "bb"} {
		mustPut(t, db, "r", k, String(k))
	}
	_, err := db.Delete("r", "b/3")
	require.NoError(t, err)
	keys, err := db.Keys("r", "", 0)
	require.NoError(t, err)
	require.Equal(t, []string{"a/1", "b/1", "b/2", "bb", "c"}, keys)
	keys, err = db.Keys("r", "b/", 0)
	require.NoError(t, err)
	require.Equal(t, []string{"b/1", "b/2"}, keys)
	keys, err = db.Keys("r", "b", 2)
	require.NoError(t, err)
	require.Equal(t, []string{"b/1", "b/2"}, keys)
	keys, err = db.Keys("r", "zzz", 0)
	require.NoError(t, err)
	require.NotNil(t, keys)
	require.Empty(t, keys)
	_, err = db.Keys("r", "_strata/", 0)
	require.ErrorIs(t, err, ErrInvalidKey)

	p, err := db.Scan("r", "b", 2, "")
	require.NoError(t, err)
	require.Len(t, p.Entries, 2)
	require.Equal(t, "b/1", p.Entries[0].Key)
	require.Equal(t, "b/1", must2(p.Entries[0].Value.AsString()))
	require.NotEmpty(t, p.Cursor)
	p2, err := db.Scan("r", "b", 2, p.Cursor)
	require.NoError(t, err)
	require.Len(t, p2.Entries, 1)
	require.Equal(t, "bb", p2.Entries[0].Key)
	require.Empty(t, p2.Cursor)

	// A full page is followed by "" when nothing comes next.
	p, err = db.Scan("r", "b/", 2, "")
	require.NoError(t, err)
	require.Len(t, p.Entries, 2)
	require.Empty(t, p.Cursor, "no key follows the page")

	// Cursors are tied to their run and prefix.
	p, err = db.Scan("r", "", 1, "")
	require.NoError(t, err)
	for _, bad := range []struct {
		run    RunID
		prefix string
		cursor string
	}{{"r", "b", p.Cursor}, {"other", "", p.Cursor}, {"r", "", "not-a-cursor"}, {"r", "", p.Cursor[:len(p.Cursor)-2]}} {
		_, err := db.Scan(bad.run, bad.prefix, 1, bad.cursor)
		require.ErrorIs(t, err, ErrInvalidKey, "%+v", bad)
	}

	// Default page size.
	for i := 0; i < 150; i++ {
		mustPut(t, db, "many", fmt.Sprintf("%03d", i), Int(int64(i)))
	}
	p, err = db.Scan("many", "", 0, "")
	require.NoError(t, err)
	require.Len(t, p.Entries, DefaultScanLimit)
	require.NotEmpty(t, p.Cursor)
}

// Keys that stay live throughout are visited exactly once, in order, while
// other keys are written and deleted between and during pages.
func TestScanPagingExactlyOnceUnderWrites(t *testing.T) {
	db := openT(t, nil)
	var stable []string
	for i := 0; i < 300; i++ {
		k := fmt.Sprintf("s%04d", i*3)
		stable = append(stable, k)
		mustPut(t, db, "r", k, Int(int64(i)))
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := fmt.Sprintf("s%04d", (i*7)%900+1) // never a stable key
			if i%3 == 0 {
				db.Delete("r", k)
			} else {
				db.Put("r", k, Int(int64(i)))
			}
		}
	}()
	seen := map[string]int{}
	var order []string
	cursor := ""
	for {
		p, err := db.Scan("r", "s", 7, cursor)
		require.NoError(t, err)
		for _, e := range p.Entries {
			seen[e.Key]++
			order = append(order, e.Key)
		}
		if p.Cursor == "" {
			break
		}
		cursor = p.Cursor
	}
	close(stop)
	<-done
	require.True(t, sort.StringsAreSorted(order), "pages come in key order")
	for _, k := range stable {
		require.Equal(t, 1, seen[k], "stable key %s", k)
	}
	for k, n := range seen {
		require.Equal(t, 1, n, "key %s seen %d times", k, n)
	}
}

func TestInvalidInputWritesNothing(t *testing.T) {
	db := openT(t, &Options{MaxValueBytes: 100})
	badKeys := []string{"", strings.Repeat("k", 1025), "a\x00b", "\xff\xfe", "_strata/x"}
	badRuns := []RunID{"", RunID(strings.Repeat("r", 257)), "a\x00"}
	for _, k := range badKeys {
		_, err := db.Put("r", k, Int(1))
		require.ErrorIs(t, err, ErrInvalidKey, "%q", k)
		_, _, err = db.Get("r", k)
		require.ErrorIs(t, err, ErrInvalidKey)
		_, err = db.Incr("r", k, 1)
		require.ErrorIs(t, err, ErrInvalidKey)
		_, err = db.Delete("r", k)
		require.ErrorIs(t, err, ErrInvalidKey)
		_, err = db.History("r", k, 0, 0)
		require.ErrorIs(t, err, ErrInvalidKey)
		_, err = db.CompareAndSwapVersion("r", k, 0, Int(1))
		require.ErrorIs(t, err, ErrInvalidKey)
	}
	for _, r := range badRuns {
		_, err := db.Put(r, "k", Int(1))
		require.ErrorIs(t, err, ErrInvalidRun, "%q", r)
		_, err = db.Keys(r, "", 0)
		require.ErrorIs(t, err, ErrInvalidRun)
		_, err = db.Scan(r, "", 0, "")
		require.ErrorIs(t, err, ErrInvalidRun)
	}
	mustPut(t, db, RunID(strings.Repeat("r", 256)), strings.Repeat("k", 1024), Int(1))
	mustPut(t, db, "r", "_strata", Int(1)) // only the full prefix is reserved
	before := db.LastVersion()
	_, err := db.Put("r", "k", String(strings.Repeat("x", 100)))
	require.ErrorIs(t, err, ErrInvalidValue, "encoding over MaxValueBytes")
	_, err = db.Put("r", "k", nestedValue(129))
	require.ErrorIs(t, err, ErrInvalidValue)
	mustPut(t, db, "r", "deep", nestedValue(20))
	require.Equal(t, before+1, db.LastVersion())
	absent(t, db, "r", "k")

	big := openT(t, nil)
	mustPut(t, big, "r", "deep", nestedValue(128))
	got := mustGet(t, big, "r", "deep")
	require.True(t, got.Value.Equal(nestedValue(128)))
}

func TestClosedAndValuesOutliveDB(t *testing.T) {
	db, err := Open(t.TempDir(), &Options{SegmentSize: 256})
	require.NoError(t, err)
	payload := []byte(strings.Repeat("v", 100))
	for i := 0; i < 10; i++ {
		mustPut(t, db, "r", fmt.Sprintf("k%d", i), Bytes(payload))
	}
	v := mustGet(t, db, "r", "k0") // from a sealed, mapped segment
	require.NoError(t, db.Close())
	require.NoError(t, db.Close(), "a second Close returns nil")
	b, _ := v.Value.AsBytes()
	require.Equal(t, payload, b, "values stay valid after Close unmaps the segment")

	_, err = db.Put("r", "k", Int(1))
	require.ErrorIs(t, err, ErrClosed)
	_, _, err = db.Get("r", "k")
	require.ErrorIs(t, err, ErrClosed)
	_, err = db.Keys("r", "", 0)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, db.View(func(*Txn) error { return nil }), ErrClosed)
	_, err = db.Update(func(*Txn) error { return nil })
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, db.Sync(), ErrClosed)
	_, err = db.Incr("r", "k", 1)
	require.ErrorIs(t, err, ErrClosed)
}

func TestLocking(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, nil)
	require.NoError(t, err)
	_, err = Open(dir, nil)
	require.ErrorIs(t, err, ErrLocked)
	_, err = Open(dir, &Options{ReadOnly: true})
	require.ErrorIs(t, err, ErrLocked, "a reader cannot share with a writer")
	mustPut(t, db, "r", "k", Int(1))
	require.NoError(t, db.Close())

	r1, err := Open(dir, &Options{ReadOnly: true})
	require.NoError(t, err)
	r2, err := Open(dir, &Options{ReadOnly: true})
	require.NoError(t, err, "readers share")
	_, err = Open(dir, nil)
	require.ErrorIs(t, err, ErrLocked, "a writer cannot share with readers")
	require.EqualValues(t, 1, must2(mustGet(t, r1, "r", "k").Value.AsInt()))
	_, err = r1.Put("r", "k", Int(2))
	require.ErrorIs(t, err, ErrReadOnly)
	_, err = r1.Update(func(tx *Txn) error { return nil })
	require.ErrorIs(t, err, ErrReadOnly)
	_, err = r1.Delete("r", "k")
	require.ErrorIs(t, err, ErrReadOnly)
	require.NoError(t, r1.Close())
	require.NoError(t, r2.Close())
	db, err = Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	_, err = Open(filepath.Join(dir, "missing"), &Options{ReadOnly: true})
	require.Error(t, err, "read-only does not create a directory")
}

func TestSegmentRolling(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, &Options{SegmentSize: 1024})
	require.NoError(t, err)
	for i := 0; i < 300; i++ {
		mustPut(t, db, "r", fmt.Sprintf("k%03d", i%50), String(fmt.Sprintf("value %d %s", i, strings.Repeat("x", i%40))))
	}
	st := db.Stats()
	require.Greater(t, st.Segments, 5)
	check := func(db *DB) {
		for i := 250; i < 300; i++ {
			got := mustGet(t, db, "r", fmt.Sprintf("k%03d", i%50))
			require.Equal(t, fmt.Sprintf("value %d %s", i, strings.Repeat("x", i%40)), must2(got.Value.AsString()))
		}
		h, err := db.History("r", "k007", 0, 0)
		require.NoError(t, err)
		require.Len(t, h, 6)
	}
	check(db)
	require.NoError(t, db.Close())
	db, err = Open(dir, &Options{SegmentSize: 1024})
	require.NoError(t, err)
	defer db.Close()
	require.Equal(t, st.Segments+1, db.Stats().Segments, "the segments found, and a new one to write to")
	check(db)
	// A value larger than a segment gets a segment of its own.
	mustPut(t, db, "r", "huge", String(strings.Repeat("y", 5000)))
	require.Equal(t, 5000, len(must2(mustGet(t, db, "r", "huge").Value.AsString())))
}

// A large batch that repeats keys keeps each key's last value, as a small
// one does (repeats hashes the keys of batches of more than 8); one that
// repeats none writes every key.
func TestLargeBatchesWithRepeatedKeys(t *testing.T) {
	db := openT(t, nil)
	for _, repeat := range []bool{false, true} {
		var batch []KeyValue
		for i := range 2000 {
			k := fmt.Sprint(repeat, i)
			if repeat && i%7 == 3 {
				k = fmt.Sprint(repeat, i-3) // the same key as three entries back
			}
			batch = append(batch, KeyValue{k, Int(int64(i))})
		}
		require.Equal(t, repeat, repeats(batch))
		_, err := db.MPut("r", batch)
		require.NoError(t, err)
		want := map[string]int64{}
		for _, e := range batch {
			want[e.Key] = must2(e.Value.AsInt())
		}
		for k, v := range want {
			require.EqualValues(t, v, must2(mustGet(t, db, "r", k).Value.AsInt()), "key %s", k)
		}
		h, err := db.History("r", fmt.Sprint(repeat, 0), 0, 0)
		require.NoError(t, err)
		require.Len(t, h, 1, "one version per key per batch")
	}
}

// An invalid value refuses the whole batch even when a later entry
// overwrites its key within the batch (the review found it accepted).
func TestMPutRefusesAnOverwrittenInvalidValueReview6(t *testing.T) {
	db := openT(t, nil)
	deep := Int(0)
	for range MaxDepth + 1 {
		deep = Array(deep)
	}
	for _, n := range []int{2, 20} { // compared pairwise, and hashed
		batch := []KeyValue{{"k", deep}}
		for i := 1; i < n-1; i++ {
			batch = append(batch, KeyValue{fmt.Sprint("other", i), Int(1)})
		}
		batch = append(batch, KeyValue{"k", Int(1)})
		_, err := db.MPut("r", batch)
		require.ErrorIs(t, err, ErrInvalidValue, "%d entries", n)
		_, ok, err := db.Get("r", "k")
		require.NoError(t, err)
		require.False(t, ok, "nothing written")
	}
}
