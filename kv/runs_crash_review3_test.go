package kv

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

func TestReview3HoldsCrashAfterDropFork(t *testing.T) {
	for _, mode := range []Durability{Strict, Buffered} {
		for _, keep := range []float64{0, 0.5, 1} {
			t.Run(fmt.Sprint(mode, keep), func(t *testing.T) {
				mem := vfs.NewMem()
				db, err := openMem(t, mem, Options{Durability: mode, SegmentSize: 600})
				require.NoError(t, err)
				for i := 0; i < 20; i++ {
					mustPut(t, db, "src", fmt.Sprintf("k%d", i%6), Int(int64(i)))
				}
				require.NoError(t, db.Sync())
				synced := dumpR3(t, db)
				_, err = db.ForkRun("src", "dst", 10)
				require.NoError(t, err)
				s1 := dumpR3(t, db)
				_, err = db.DropRun("src")
				require.NoError(t, err)
				s2 := dumpR3(t, db)
				mustPut(t, db, "src", "k1", Int(99))
				s3 := dumpR3(t, db)
				db2, err := openMem(t, mem.CrashClone(keep), Options{Durability: mode})
				require.NoError(t, err)
				got := dumpR3(t, db2)
				if mode == Strict || keep == 1 {
					require.Equal(t, s3, got)
				} else {
					require.Contains(t, []string{synced, s1, s2, s3}, got)
				}
				require.NoError(t, db2.Close())
				require.NoError(t, db.Close())
			})
		}
	}
}

func dumpR3(t *testing.T, db *DB) string {
	out := ""
	for _, r := range []RunID{"src", "dst"} {
		for i := 0; i < 6; i++ {
			h, err := db.History(r, fmt.Sprintf("k%d", i), 0, 0)
			require.NoError(t, err)
			for _, x := range h {
				out += fmt.Sprint(r, i, x.Version, x.Value, x.Deleted, ";")
			}
		}
	}
	runs, _ := db.Runs()
	return out + fmt.Sprint(runs)
}
