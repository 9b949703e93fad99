package kv

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// review51 helpers: a whole-database snapshot of what reads answer, to
// compare a database before and after a merge, a crash or a reopen.

// r51StableHistory leaves out of r51SnapAt the History of the runs forks
// go into (set by tests comparing a source after the fact).
var r51StableHistory bool

var r51Runs = []RunID{"ra", "rb", "rc", "fa", "fb", "fc"}

func r51Keys() []string {
	var ks []string
	for i := range 6 {
		ks = append(ks, fmt.Sprintf("k%d", i))
	}
	return ks
}

// r51Snap renders what db answers: LastVersion, Runs, per key History
// and GetAt at every version, per run Changes from 0 and Keys at a few
// versions.
func r51Snap(t testing.TB, db *DB) map[string]string {
	t.Helper()
	out := r51SnapAt(t, db, db.LastVersion())
	out["last"] = fmt.Sprint(db.LastVersion())
	runs, err := db.Runs()
	out["runs"] = fmt.Sprint(runs, err)
	return out
}

// r51SnapAt is r51Snap as of version last, for the runs of r51Runs.
func r51SnapAt(t testing.TB, db *DB, last Version) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, run := range r51Runs {
		var sb strings.Builder
		after := Version(0)
		for {
			ch, err := db.Changes(run, "", after, 50)
			if err != nil {
				fmt.Fprintf(&sb, "err %v", r51Err(err))
				break
			}
			past := false
			for _, c := range ch {
				if c.Version > last {
					past = true
					break
				}
				fmt.Fprintf(&sb, "%s@%d=%v/%v;", c.Key, c.Version, c.Value, c.Deleted)
				after = c.Version
			}
			if past || len(ch) < 50 {
				break
			}
		}
		out["changes/"+string(run)] = sb.String()
		for _, at := range []Version{last / 4, last / 2, last * 3 / 4, last} {
			var ks []string
			err := db.ViewAt(at, func(tx *Txn) error {
				var err error
				ks, err = tx.Keys(run, "", 0)
				return err
			})
			out[fmt.Sprintf("keys/%s@%d", run, at)] = fmt.Sprint(ks, r51Err(err))
		}
		for _, k := range r51Keys() {
			h, err := db.History(run, k, 0, 0)
			var hs strings.Builder
			for _, v := range h {
				if v.Version > last {
					continue
				}
				fmt.Fprintf(&hs, "%d=%v/%v;", v.Version, v.Value, v.Deleted)
			}
			if run >= "r" || !r51StableHistory {
				// A later fork into a run changes the History of its
				// keys (src's versions, then the run's own): only
				// the runs never forked into keep theirs.
				out["hist/"+string(run)+"/"+k] = fmt.Sprint(hs.String(), r51Err(err))
			}
			var gs strings.Builder
			for at := Version(1); at <= last; at++ {
				v, err := db.GetAt(run, k, at)
				switch {
				case errors.Is(err, ErrNotFound):
					gs.WriteString("-;")
				case errors.Is(err, ErrHistoryTrimmed):
					gs.WriteString("T;")
				case err != nil:
					fmt.Fprintf(&gs, "E%v;", err)
				default:
					fmt.Fprintf(&gs, "%d;", v.Version)
				}
			}
			out["getat/"+string(run)+"/"+k] = gs.String()
		}
	}
	return out
}

// r51Err names err by its sentinel where it has one (messages carry
// bounds that may differ and still be right).
func r51Err(err error) any {
	for _, e := range []error{ErrHistoryTrimmed, ErrNotFound, ErrCorrupt, ErrInvalidRun} {
		if errors.Is(err, e) {
			return e
		}
	}
	return err
}

func r51Diff(want, got map[string]string) string { return r51DiffT(want, got, false) }

// r51DiffT is r51Diff; with trimmedOK, a reopened database may answer
// more conservatively below the trim horizon, as documented: a GetAt
// that found nothing (ErrNotFound) may say ErrHistoryTrimmed, and a
// ViewAt listing or a Changes may fail with ErrHistoryTrimmed (what was
// dropped before an Open is known only by the horizon). A version
// answered must still be the same version.
func r51DiffT(want, got map[string]string, trimmedOK bool) string {
	var d []string
	for k, w := range want {
		g := got[k]
		if trimmedOK && g != w {
			switch {
			case strings.HasPrefix(k, "getat/"):
				ws, gs := strings.Split(w, ";"), strings.Split(g, ";")
				if len(ws) == len(gs) {
					ok := true
					for i := range ws {
						if ws[i] != gs[i] && !(ws[i] == "-" && gs[i] == "T") {
							ok = false
						}
					}
					if ok {
						continue
					}
				}
			case strings.HasPrefix(k, "keys/"), strings.HasPrefix(k, "changes/"):
				if strings.Contains(g, ErrHistoryTrimmed.Error()) {
					continue
				}
			}
		}
		if g != w {
			d = append(d, fmt.Sprintf("%s:\n  want %s\n  got  %s", k, w, g))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			d = append(d, "extra "+k)
		}
	}
	slices.Sort(d)
	if len(d) > 6 {
		d = append(d[:6], fmt.Sprintf("... %d more", len(d)-6))
	}
	return strings.Join(d, "\n")
}

// r51Op does one random operation (errors of a fork into a live run are
// expected and ignored).
func r51Op(t testing.TB, db *DB, r *rand.Rand) {
	t.Helper()
	require.NoError(t, r51Do(db, r))
}

func r51Do(db *DB, r *rand.Rand) error {
	src := r51Runs[r.IntN(3)]
	key := r51Keys()[r.IntN(6)]
	var err error
	switch n := r.IntN(20); {
	case n < 10:
		_, err = db.Put(src, key, Int(r.Int64N(1000)))
	case n < 13:
		_, err = db.Delete(src, key)
	case n < 15:
		_, err = db.MPut(src, []KeyValue{{Key: key, Value: String("m")}, {Key: r51Keys()[r.IntN(6)], Value: Bool(true)}})
	case n < 16:
		_, err = db.DropRun(r51Runs[r.IntN(len(r51Runs))])
	case n < 18:
		dst := r51Runs[3+r.IntN(3)]
		at := Version(0)
		if last := db.LastVersion(); last > 0 && r.IntN(2) == 0 {
			at = Version(1 + r.Uint64N(uint64(last)))
		}
		_, err = db.ForkRun(src, dst, at)
		if errors.Is(err, ErrInvalidRun) {
			err = nil
		}
	default:
		dst := r51Runs[3+r.IntN(3)]
		_, err = db.Put(dst, key, Float(r.Float64()))
	}
	return err
}

// r51Build writes cycles Opens' worth of random operations to /db on fs,
// each Open closed again, so that the directory holds one small log
// segment per Open (CompactAt -1: nothing merges meanwhile).
func r51Build(t testing.TB, fs vfs.FS, opts Options, seed uint64, cycles, opsPer int) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 51))
	for range cycles {
		db, err := openMem(t, fs, opts)
		require.NoError(t, err)
		for range opsPer {
			r51Op(t, db, r)
		}
		require.NoError(t, db.Close())
	}
}

// A merge of small segments drops nothing: a power loss (keeping only
// what was synced), a process crash, and a power loss that keeps a random
// subset of the unsynced pages, after every file-system operation of a
// Compact that merges twenty small segments holding puts, deletions,
// batches, DropRun and ForkRun events, each open (writable, then again)
// to exactly what the database answered before the merge: History,
// GetAt at every version, Runs, Changes and Keys as of older versions.
func TestReview51MergeCrashPointsKeepEveryAnswer(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if raceEnabled {
		seeds = seeds[:1] // about ten times slower
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			mem := vfs.NewMem()
			efs := vfs.NewErrorFS(mem, -1, false)
			opts := Options{CompactAt: -1}
			r51Build(t, efs, opts, seed, 20, 12)

			db, err := openMem(t, efs, opts)
			require.NoError(t, err)
			want := r51Snap(t, db)

			var mu sync.Mutex
			type image struct {
				fs   *vfs.Mem
				what string
			}
			var images []image
			n := 0
			efs.SetAfter(func(op vfs.Op) {
				mu.Lock()
				defer mu.Unlock()
				n++
				images = append(images,
					image{mem.CrashClone(0), fmt.Sprintf("power loss after %v", op)},
					image{mem.CrashClone(1), fmt.Sprintf("process crash after %v", op)},
					image{mem.CrashImage(vfs.Pages(64, func(name string, p int64) bool {
						return (uint64(p)*0x9E3779B97F4A7C15^uint64(n)*0xBF58476D1CE4E5B9)>>63 == 1
					}, func(b []byte) { clear(b) })), fmt.Sprintf("page subset after %v", op)})
			})
			st, err := db.Compact(context.Background())
			efs.SetAfter(nil)
			require.NoError(t, err)
			require.Positive(t, st.SegmentsIn, "the Compact merged the small segments")
			got := r51Snap(t, db)
			require.Empty(t, r51Diff(want, got), "live database after the merge")
			require.NoError(t, db.Close())

			db, err = openMem(t, efs, opts)
			require.NoError(t, err)
			require.Empty(t, r51Diff(want, r51Snap(t, db)), "reopened after the merge")
			require.NoError(t, db.Close())

			t.Logf("%d images", len(images))
			for _, img := range images {
				ro := opts
				ro.ReadOnly = true
				db, err := openMem(t, img.fs, ro)
				require.NoError(t, err, "%s (read-only)", img.what)
				d := r51Diff(want, r51Snap(t, db))
				require.NoError(t, db.Close())
				require.Empty(t, d, "%s (read-only)", img.what)
				for round := range 2 {
					db, err := openMem(t, img.fs, opts)
					require.NoError(t, err, "%s (open %d)", img.what, round)
					d := r51Diff(want, r51Snap(t, db))
					require.NoError(t, db.Close())
					require.Empty(t, d, "%s (open %d)", img.what, round)
				}
			}
		})
	}
}

// r51CheckWriter checks run "w" of db: the writer's keys n000000.. are
// present up to some count, each with its value and version, none after
// it, and at least acked of them. It returns the count.
func r51CheckWriter(t testing.TB, db *DB, vers []Version, acked int, what string) int {
	t.Helper()
	keys, err := db.Keys("w", "", 0)
	require.NoError(t, err, what)
	for i, k := range keys {
		require.Equal(t, fmt.Sprintf("n%06d", i), k, "%s: the writer's keys are a prefix", what)
		got, ok, err := db.Get("w", k)
		require.NoError(t, err, what)
		require.True(t, ok, what)
		n, _ := got.Value.AsInt()
		require.Equal(t, int64(i), n, "%s: %s", what, k)
		if i < len(vers) {
			require.Equal(t, vers[i], got.Version, "%s: %s", what, k)
		}
	}
	require.GreaterOrEqual(t, len(keys), acked, "%s: acknowledged writes lost", what)
	if len(keys) > 0 && len(keys) <= len(vers) {
		require.Equal(t, vers[len(keys)-1], db.LastVersion(), "%s: LastVersion is the last write's", what)
	}
	return len(keys)
}

// A Compact that merges small segments (and, with retention, drops
// versions) while a writer commits, cut by a crash after every
// file-system operation: each image opens (read-only first, then
// writable twice) with the earlier data exactly as it was, and the
// writer's commits a prefix holding every commit the mode promised at
// the crash (Strict: every acknowledged one; Buffered, process crash:
// every acknowledged one; Buffered power loss: a prefix).
func TestReview51MergeUnderWritesCrashPoints(t *testing.T) {
	for _, mode := range []Durability{Buffered, Strict} {
		for _, keep := range []int{0, 1} {
			if raceEnabled && (mode == Buffered) != (keep == 0) {
				continue // about ten times slower: two of the four
			}
			t.Run(fmt.Sprintf("%v/keep%d", mode, keep), func(t *testing.T) {
				mem := vfs.NewMem()
				efs := vfs.NewErrorFS(mem, -1, false)
				opts := Options{CompactAt: -1, Durability: mode, SegmentSize: 256 << 10}
				r51Build(t, efs, opts, 7, 20, 12)
				opts.Retention.KeepVersions = keep

				db, err := openMem(t, efs, opts)
				require.NoError(t, err)
				base := db.LastVersion()
				want := r51SnapAt(t, db, base)
				if keep > 0 {
					// What retention drops is not compared: compare the
					// newest versions only.
					want = nil
				}
				wantLive := map[string]string{}
				for _, run := range r51Runs {
					for _, k := range r51Keys() {
						v, ok, err := db.Get(run, k)
						require.NoError(t, err)
						wantLive[string(run)+"/"+k] = fmt.Sprint(v.Version, v.Value, ok)
					}
				}

				var mu sync.Mutex
				var vers []Version
				acked := 0
				type image struct {
					fs    *vfs.Mem
					acked int
					what  string
				}
				var images []image
				nops := 0
				efs.SetAfter(func(op vfs.Op) {
					mu.Lock()
					defer mu.Unlock()
					nops++
					if (op.Kind == vfs.OpWrite || op.Kind == vfs.OpSync) && nops%29 != 0 {
						return // a sample of the writes and fsyncs (mostly the writer's)
					}
					a := acked
					images = append(images,
						image{mem.CrashClone(0), a, fmt.Sprintf("power loss after %v", op)},
						image{mem.CrashClone(1), a, fmt.Sprintf("process crash after %v", op)},
						image{mem.CrashImage(vfs.Pages(64, func(name string, p int64) bool {
							return (uint64(p)*0x9E3779B97F4A7C15^uint64(nops)*0xBF58476D1CE4E5B9)>>63 == 1
						}, func(b []byte) { clear(b) })), a, fmt.Sprintf("page subset after %v", op)})
				})
				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Go(func() {
					for i := 0; i < 600; i++ {
						select {
						case <-stop:
							return
						default:
						}
						v, err := db.Put("w", fmt.Sprintf("n%06d", i), Int(int64(i)))
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						vers = append(vers, v)
						acked = len(vers)
						mu.Unlock()
					}
				})
				st, err := db.Compact(context.Background())
				close(stop)
				wg.Wait()
				efs.SetAfter(nil)
				require.NoError(t, err)
				require.Positive(t, st.SegmentsIn)
				require.NoError(t, db.Close())

				t.Logf("%d images, %d writes", len(images), len(vers))
				check := func(db *DB, img image, what string, full bool) {
					if want != nil && full {
						require.Empty(t, r51Diff(want, r51SnapAt(t, db, base)), what)
					}
					for _, run := range r51Runs {
						for _, k := range r51Keys() {
							v, ok, err := db.Get(run, k)
							require.NoError(t, err, what)
							require.Equal(t, wantLive[string(run)+"/"+k], fmt.Sprint(v.Version, v.Value, ok), "%s: %s/%s", what, run, k)
						}
					}
					a := img.acked
					if mode == Buffered && !strings.HasPrefix(img.what, "process") {
						a = 0
					}
					r51CheckWriter(t, db, vers, a, what)
				}
				for _, img := range images {
					ro := opts
					ro.ReadOnly = true
					db, err := openMem(t, img.fs, ro)
					require.NoError(t, err, "%s (read-only)", img.what)
					check(db, img, img.what+" (read-only)", true)
					require.NoError(t, db.Close())
					for round := range 2 {
						db, err := openMem(t, img.fs, opts)
						require.NoError(t, err, "%s (open %d)", img.what, round)
						check(db, img, fmt.Sprintf("%s (open %d)", img.what, round), round == 0)
						require.NoError(t, db.Close())
					}
				}
			})
		}
	}
}

// A Compact under KeepVersions 2 that drops versions and then merges
// the small segments left, over segments holding DropRun and ForkRun
// events, cut by a power loss (or a process crash) after each of its
// file-system operations: each image opens to what the database answered
// before the Compact or to what it answered after it, never to anything
// else (no version lost that the result keeps, no deleted key back).
func TestReview51RetentionCompactCrashPointsBeforeOrAfter(t *testing.T) {
	seeds := []uint64{4, 5}
	if raceEnabled {
		seeds = seeds[:1] // about ten times slower
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			mem := vfs.NewMem()
			efs := vfs.NewErrorFS(mem, -1, false)
			opts := Options{CompactAt: -1}
			r51Build(t, efs, opts, seed, 20, 12)
			opts.Retention.KeepVersions = 2

			db, err := openMem(t, efs, opts)
			require.NoError(t, err)
			before := r51Snap(t, db)
			var mu sync.Mutex
			type image struct {
				fs   *vfs.Mem
				what string
			}
			var images []image
			efs.SetAfter(func(op vfs.Op) {
				mu.Lock()
				defer mu.Unlock()
				images = append(images,
					image{mem.CrashClone(0), fmt.Sprintf("power loss after %v", op)},
					image{mem.CrashClone(1), fmt.Sprintf("process crash after %v", op)})
			})
			st, err := db.Compact(context.Background())
			efs.SetAfter(nil)
			require.NoError(t, err)
			require.Positive(t, st.VersionsDropped)
			after := r51Snap(t, db)
			require.NoError(t, db.Close())
			db, err = openMem(t, efs, opts)
			require.NoError(t, err)
			after2 := r51Snap(t, db)
			require.Empty(t, r51DiffT(after, after2, true), "reopened after the Compact")
			require.NoError(t, db.Close())

			nb, na := 0, 0
			for _, img := range images {
				db, err := openMem(t, img.fs, opts)
				require.NoError(t, err, img.what)
				got := r51Snap(t, db)
				require.NoError(t, db.Close())
				db1 := r51Diff(before, got)
				db2 := r51DiffT(after, got, true)
				switch {
				case db1 == "":
					nb++
				case db2 == "":
					na++
				default:
					t.Fatalf("%s: neither before nor after the Compact:\nagainst before:\n%s\nagainst after:\n%s", img.what, db1, db2)
				}
			}
			t.Logf("%d images: %d before, %d after", len(images), nb, na)
		})
	}
}
