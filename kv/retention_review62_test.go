package kv_test

import (
	"context"
	"errors"
	"testing"

	"github.com/strata-kv/strata/kv"
)

func TestReview62CompactRetention(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir, &kv.Options{SegmentSize: 4096, CompactAt: -1, Retention: kv.Retention{KeepVersions: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var vs []kv.Version
	for i := 0; i < 5; i++ {
		v, _ := db.Put("r", "k", kv.Int(int64(i)))
		vs = append(vs, v)
		db.Put("r", "pad", kv.Bytes(make([]byte, 300)))
	}
	db.Put("r", "gone", kv.Int(1))
	db.Put("r", "gone", kv.Int(2))
	dv, _ := db.MDelete("r", []string{"gone"})
	_ = dv
	late, _ := db.Put("r", "late", kv.Int(1))
	st0 := db.Stats()
	if st0.DeadBytes <= 0 {
		t.Errorf("DeadBytes before compact = %d", st0.DeadBytes)
	}
	// Before compaction every version is still readable.
	if g, err := db.GetAt("r", "k", vs[0]); err != nil || !g.Value.Equal(kv.Int(0)) {
		t.Fatalf("before compaction: %v %v", g, err)
	}
	cs, err := db.Compact(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cs.VersionsDropped <= 0 || cs.SegmentsIn <= 0 {
		t.Errorf("CompactStats %+v", cs)
	}
	for i, v := range vs {
		g, err := db.GetAt("r", "k", v)
		if i < 3 {
			if !errors.Is(err, kv.ErrHistoryTrimmed) {
				t.Errorf("GetAt trimmed v%d: %v %v", i, g, err)
			}
		} else if err != nil || !g.Value.Equal(kv.Int(int64(i))) {
			t.Errorf("GetAt kept v%d: %v %v", i, g, err)
		}
	}
	if g, err := db.GetAt("r", "k", vs[4]+1); err != nil || g.Version != vs[4] {
		t.Errorf("GetAt between: %v %v", g, err)
	}
	if _, err := db.GetAt("r", "late", late-1); !errors.Is(err, kv.ErrNotFound) {
		t.Errorf("GetAt before a key existed: %v", err)
	}
	if h, _ := db.History("r", "k", 0, 0); len(h) != 2 {
		t.Errorf("History after compact: %d", len(h))
	}
	if err := db.ViewAt(vs[0], func(*kv.Txn) error { return nil }); !errors.Is(err, kv.ErrHistoryTrimmed) {
		t.Errorf("ViewAt trimmed: %v", err)
	}
	if err := db.ViewAt(0, func(*kv.Txn) error { return nil }); err != nil {
		t.Errorf("ViewAt 0: %v", err)
	}
	st := db.Stats()
	if st.DeadBytes != 0 {
		t.Errorf("DeadBytes after compact = %d", st.DeadBytes)
	}
	if st.Keys != 3 {
		t.Errorf("Keys = %d, want 3 (k, pad, late)", st.Keys)
	}
	if st.LastVersion != db.LastVersion() || st.Segments < 1 || st.LiveBytes <= 0 {
		t.Errorf("Stats %+v", st)
	}
	// Cancelled ctx: error wrapping ctx.Err().
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 5; i++ {
		db.Put("r", "k", kv.Int(int64(i)))
	}
	if _, err := db.Compact(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Compact: %v", err)
	}
}
