package kv_test

import (
	"fmt"
	"testing"

	"github.com/strata-kv/strata/kv"
)

func TestReview62StatsRunsDiff(t *testing.T) {
	db := r62mem(t)
	db.MPut("a", []kv.KeyValue{{Key: "1", Value: kv.Int(1)}, {Key: "2", Value: kv.Int(2)}, {Key: "3", Value: kv.Int(3)}})
	if st := db.Stats(); st.Keys != 3 || st.Versions != 3 || st.Commits != 1 {
		t.Fatalf("stats %+v", st)
	}
	from := db.LastVersion()
	db.ForkRun("a", "b", 0)
	if st := db.Stats(); st.Keys != 6 {
		t.Errorf("after fork Keys=%d want 6", st.Keys)
	}
	db.DropRun("a")
	if st := db.Stats(); st.Keys != 3 {
		t.Errorf("after drop Keys=%d want 3", st.Keys)
	}
	db.Delete("b", "1")
	if st := db.Stats(); st.Keys != 2 {
		t.Errorf("after delete Keys=%d want 2", st.Keys)
	}
	// Diff: a key rewritten with an equal value does not differ.
	db.Put("c", "same", kv.Int(1))
	db.Put("c", "chg", kv.Int(1))
	db.Put("c", "del", kv.Int(1))
	v0 := db.LastVersion()
	db.Put("c", "same", kv.Int(1))
	db.Put("c", "chg", kv.Int(2))
	db.Delete("c", "del")
	db.Put("c", "new", kv.Int(1))
	db.Put("c", "tmp", kv.Int(1))
	db.Delete("c", "tmp")
	d, err := db.Diff("c", v0, db.LastVersion())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range d {
		got = append(got, fmt.Sprintf("%s:%v", c.Key, c.Deleted))
	}
	if fmt.Sprint(got) != "[chg:false del:true new:false]" {
		t.Errorf("Diff = %v", got)
	}
	// Diff across a DropRun.
	d, err = db.Diff("a", from, db.LastVersion())
	if err != nil || len(d) != 3 || !d[0].Deleted {
		t.Errorf("Diff over drop: %v %v", d, err)
	}
}
