package kv

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// Review 14: pages filled in place (own writes, stored values, limits
// beyond DefaultScanLimit, reverse ranges) hold what a model says.
func TestPagesInPlaceModel_review14(t *testing.T) {
	db, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	val := func(i int) Value {
		switch i % 6 {
		case 0:
			return Bytes(nil)
		case 1:
			return String(fmt.Sprint("s", i))
		case 2:
			return Array(Int(int64(i)), Array(), Object(nil), Bytes([]byte{byte(i)}))
		case 3:
			return Object(map[string]Value{"a": String(""), "b": Float(1.5), "c": Bool(true)})
		case 4:
			return Bytes([]byte(fmt.Sprint("b", i)))
		}
		return Null()
	}
	type want struct {
		v   Versioned
		own bool
	}
	model := map[string]want{}
	for i := 0; i < 330; i++ {
		k := fmt.Sprintf("k%04d", i*2)
		if _, err := db.Put("r", k, val(i)); err != nil {
			t.Fatal(err)
		}
		if i%7 == 3 {
			if _, err := db.Delete("r", k); err != nil {
				t.Fatal(err)
			}
			continue
		}
		g, ok, err := db.Get("r", k)
		if err != nil || !ok {
			t.Fatal(err)
		}
		model[k] = want{v: g}
	}
	stop := errors.New("stop")
	_, err = db.Update(func(tx *Txn) error {
		for i := 0; i < 330; i++ {
			k := fmt.Sprintf("k%04d", i*2)
			switch {
			case i%5 == 0:
				v := val(i + 1)
				if err := tx.Put("r", k, v); err != nil {
					return err
				}
				model[k] = want{v: Versioned{Value: v}, own: true}
			case i%11 == 0:
				if _, err := tx.Delete("r", k); err != nil {
					return err
				}
				delete(model, k)
			case i%13 == 0:
				k2 := fmt.Sprintf("k%04d", i*2+1)
				v := val(i + 2)
				if err := tx.Put("r", k2, v); err != nil {
					return err
				}
				model[k2] = want{v: Versioned{Value: v}, own: true}
			}
		}
		keys := make([]string, 0, len(model))
		for k := range model {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		checkPages := func(name string, next func(cursor string) (Page, error), order []string) {
			var got []string
			cursor := ""
			for {
				p, err := next(cursor)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for _, e := range p.Entries {
					w, ok := model[e.Key]
					if !ok {
						t.Fatalf("%s: key %s not live", name, e.Key)
					}
					if !reflect.DeepEqual(w.v, e.Versioned) {
						t.Fatalf("%s: %s: got %#v want %#v", name, e.Key, e.Versioned, w.v)
					}
					got = append(got, e.Key)
				}
				if p.Cursor == "" {
					break
				}
				cursor = p.Cursor
			}
			if !slices.Equal(got, order) {
				t.Fatalf("%s: keys %d, want %d", name, len(got), len(order))
			}
		}
		rev := slices.Clone(keys)
		slices.Reverse(rev)
		for _, limit := range []int{0, 1, 7, 99, 100, 101, 150, 250, 1000} {
			checkPages(fmt.Sprint("scan", limit), func(c string) (Page, error) { return tx.Scan("r", "k", limit, c) }, keys)
			checkPages(fmt.Sprint("range", limit), func(c string) (Page, error) {
				return tx.Range("r", RangeOptions{Limit: limit, Cursor: c})
			}, keys)
			checkPages(fmt.Sprint("reverse", limit), func(c string) (Page, error) {
				return tx.Range("r", RangeOptions{Limit: limit, Cursor: c, Reverse: true})
			}, rev)
		}
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatal(err)
	}
	// Outside the transaction: the stored values only.
	for _, limit := range []int{0, 150, 1000} {
		p, err := db.Scan("r", "", limit, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Entries {
			g, _, _ := db.Get("r", e.Key)
			if !reflect.DeepEqual(g, e.Versioned) {
				t.Fatalf("%s: %#v vs %#v", e.Key, g, e.Versioned)
			}
		}
	}
}
