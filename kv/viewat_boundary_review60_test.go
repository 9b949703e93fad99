package kv

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// ViewAt at every version around the trim horizon after a Compact (and
// after a reopen): below it ErrHistoryTrimmed, from it on Get, Keys and
// Scan exactly as the database was then; the horizon is the lowest
// version every key's kept versions answer (KeepVersions n: the oldest
// kept version of each key that lost any), not higher.
func TestViewAtAtTheHorizonReview60(t *testing.T) {
	for _, keep := range []int{1, 2} {
		t.Run(fmt.Sprint(keep), func(t *testing.T) {
			dir := t.TempDir()
			opts := &Options{SegmentSize: 2 << 10, Retention: Retention{KeepVersions: keep}, CompactAt: -1}
			db, err := Open(dir, opts)
			require.NoError(t, err)
			defer func() { db.Close() }()
			r := rand.New(rand.NewPCG(uint64(keep), 60))
			type ver struct {
				v    Version
				val  string
				tomb bool
			}
			model := map[string][]ver{}
			for i := 0; i < 400; i++ {
				k := fmt.Sprintf("k%02d", r.IntN(30))
				if r.IntN(6) == 0 {
					if ok, err := db.Delete("r", k); err == nil && ok {
						model[k] = append(model[k], ver{v: db.LastVersion(), tomb: true})
					}
					continue
				}
				val := fmt.Sprintf("%s-%d-padding-padding", k, i)
				v := mustPut(t, db, "r", k, String(val))
				model[k] = append(model[k], ver{v: v, val: val})
			}
			// The horizon the model expects.
			var want Version
			for _, vs := range model {
				n := len(vs)
				drop := n - keep // versions dropped: all but the newest keep
				if vs[n-1].tomb && drop >= n-1 {
					drop = n // the deletion goes too (the key vanishes)
				}
				switch {
				case drop <= 0:
				case drop == n:
					want = max(want, vs[n-1].v)
				default:
					want = max(want, vs[drop].v)
				}
			}
			at := func(k string, v Version) (ver, bool) {
				var got ver
				ok := false
				for _, x := range model[k] {
					if x.v <= v {
						got, ok = x, true
					}
				}
				return got, ok && !got.tomb
			}
			check := func(stage string) {
				last := db.LastVersion()
				var h Version
				for v := Version(1); v <= last; v++ {
					err := db.ViewAt(v, func(tx *Txn) error {
						var live []string
						for k := range model {
							w, ok := at(k, v)
							got, gok, err := tx.Get("r", k)
							if err != nil {
								return err
							}
							if gok != ok || (ok && (got.Version != w.v)) {
								return fmt.Errorf("Get(%s) = v%d %v, want v%d %v", k, got.Version, gok, w.v, ok)
							}
							if ok {
								s, _ := got.Value.AsString()
								if s != w.val {
									return fmt.Errorf("Get(%s) = %q, want %q", k, s, w.val)
								}
								live = append(live, k)
							}
						}
						slices.Sort(live)
						keys, err := tx.Keys("r", "", 0)
						if err != nil {
							return err
						}
						if !slices.Equal(keys, live) && !(len(keys) == 0 && len(live) == 0) {
							return fmt.Errorf("Keys = %v, want %v", keys, live)
						}
						var scanned []string
						cur := ""
						for {
							p, err := tx.Scan("r", "", 7, cur)
							if err != nil {
								return err
							}
							for _, kv := range p.Entries {
								scanned = append(scanned, kv.Key)
							}
							if cur = p.Cursor; cur == "" {
								break
							}
						}
						if !slices.Equal(scanned, live) && !(len(scanned) == 0 && len(live) == 0) {
							return fmt.Errorf("Scan = %v, want %v", scanned, live)
						}
						return nil
					})
					if v < want {
						require.ErrorIs(t, err, ErrHistoryTrimmed, "%s: ViewAt(%d), below the horizon %d", stage, v, want)
						continue
					}
					if err != nil && h == 0 {
						require.NoError(t, err, "%s: ViewAt(%d), at or above the horizon %d the model expects", stage, v, want)
					}
					require.NoError(t, err, "%s: ViewAt(%d)", stage, v)
					if h == 0 {
						h = v
					}
				}
				require.Equal(t, want, h, "%s: first ViewAt that works", stage)
			}
			require.NoError(t, db.Sync())
			st, err := db.Compact(t.Context())
			require.NoError(t, err)
			require.Positive(t, st.VersionsDropped)
			check("after Compact")
			require.NoError(t, db.Close())
			db, err = Open(dir, opts)
			require.NoError(t, err)
			check("after reopen")
		})
	}
}
