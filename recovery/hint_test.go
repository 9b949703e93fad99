package recovery

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// dump lists every version the index holds, with where its value lies.
func dump(ix *index.Index) []string {
	var out []string
	for it := ix.Seek("run", ""); it.Valid(); it.Next() {
		c := it.Chain()
		c.Versions(1<<60, func(r index.Record) bool {
			out = append(out, fmt.Sprintf("%s@%d seg %d field %d flags %d ts %d", c.Key(), r.Version, r.Segment, r.Field, r.Flags, r.Timestamp))
			return true
		})
	}
	return out
}

// recoverLogged runs a recovery and returns what it logged.
func recoverLogged(t *testing.T, fs vfs.FS, opts Options) (*index.Index, *Result, string) {
	t.Helper()
	var log bytes.Buffer
	opts.Logger = slog.New(slog.NewTextHandler(&log, nil))
	ix, res, err := runRecovery(t, fs, opts)
	require.NoError(t, err)
	return ix, res, log.String()
}

func TestHintsWrittenThenUsed(t *testing.T) {
	fs := vfs.NewMem()
	writeSegments(t, fs, 3, 5, closed)
	scanned, res1, log := recoverLogged(t, fs, Options{})
	require.NotContains(t, log, "rebuilding", "no hint to rebuild: there were none")
	for id := uint32(1); id <= 3; id++ {
		_, err := segment.ReadHint(fs, dir, id)
		require.NoError(t, err, "recovery wrote the hint of segment %d", id)
	}
	res1.Close()

	fromHints, res2, log := recoverLogged(t, fs, Options{})
	require.NotContains(t, log, "rebuilding")
	require.Equal(t, dump(scanned), dump(fromHints))
	require.Equal(t, res1.LastVersion, res2.LastVersion)
	require.Equal(t, res1.LastTimestamp, res2.LastTimestamp)
	require.Equal(t, res1.Frames, res2.Frames)
	require.Equal(t, res1.Entries, res2.Entries)
	require.Equal(t, res1.Segments, res2.Segments)
	require.Len(t, dump(fromHints), 15)
	res2.Close()

	// Damage a value byte of segment 2: the frames are verified all the
	// same, so Open fails; with TrustHints it reads no frame of a
	// hinted segment and gives the same index as the scan did.
	b := fileBytes(t, fs, segPath(2))
	b[len(b)-10] ^= 1
	rewrite(t, fs, segPath(2), b)
	_, _, err := runRecovery(t, fs, Options{})
	require.ErrorIs(t, err, segment.ErrChecksum)
	trusted, _, log := recoverLogged(t, fs, Options{TrustHints: true})
	require.NotContains(t, log, "rebuilding")
	require.Equal(t, dump(scanned), dump(trusted))
}

func TestBadHintsAreRebuilt(t *testing.T) {
	for name, spoil := range map[string]func(t *testing.T, fs vfs.FS){
		"a flipped byte": func(t *testing.T, fs vfs.FS) {
			h := fileBytes(t, fs, dir+"/"+segment.HintName(2))
			h[len(h)/2] ^= 4
			rewrite(t, fs, dir+"/"+segment.HintName(2), h)
		},
		"cut short": func(t *testing.T, fs vfs.FS) {
			h := fileBytes(t, fs, dir+"/"+segment.HintName(2))
			rewrite(t, fs, dir+"/"+segment.HintName(2), h[:len(h)-3])
		},
		"empty": func(t *testing.T, fs vfs.FS) { rewrite(t, fs, dir+"/"+segment.HintName(2), nil) },
		"another segment's": func(t *testing.T, fs vfs.FS) {
			rewrite(t, fs, dir+"/"+segment.HintName(2), fileBytes(t, fs, dir+"/"+segment.HintName(1)))
		},
		"missing": func(t *testing.T, fs vfs.FS) { require.NoError(t, fs.Remove(dir+"/"+segment.HintName(2))) },
		"records out of order, checksum right": func(t *testing.T, fs vfs.FS) {
			hr, err := segment.NewHintReader(fileBytes(t, fs, dir+"/"+segment.HintName(2)))
			require.NoError(t, err)
			es, err := hr.All()
			require.NoError(t, err)
			es[len(es)-2], es[len(es)-1] = es[len(es)-1], es[len(es)-2]
			rewrite(t, fs, dir+"/"+segment.HintName(2), segment.EncodeHint(hr.Header(), es))
		},
	} {
		t.Run(name, func(t *testing.T) {
			fs := vfs.NewMem()
			writeSegments(t, fs, 3, 5, closed)
			want, res, _ := recoverLogged(t, fs, Options{})
			res.Close()
			good := fileBytes(t, fs, dir+"/"+segment.HintName(2))
			spoil(t, fs)
			got, _, log := recoverLogged(t, fs, Options{})
			require.Equal(t, dump(want), dump(got))
			if name != "missing" {
				require.Contains(t, log, "rebuilding a hint file", "logged")
			}
			require.Equal(t, good, fileBytes(t, fs, dir+"/"+segment.HintName(2)), "rebuilt as it was")
		})
	}
}

func TestHintFilesOfReadOnlyAndOrphans(t *testing.T) {
	fs := vfs.NewMem()
	writeSegments(t, fs, 2, 3, closed)
	rewrite(t, fs, dir+"/"+segment.HintName(7), []byte("a hint of no segment"))
	_, res, _ := recoverLogged(t, fs, Options{ReadOnly: true})
	res.Close()
	names, err := fs.List(dir)
	require.NoError(t, err)
	require.Equal(t, []string{segment.FileName(1), segment.FileName(2), segment.HintName(7)}, names, "read-only writes nothing, removes nothing")

	_, res, _ = recoverLogged(t, fs, Options{})
	res.Close()
	names, err = fs.List(dir)
	require.NoError(t, err)
	require.Equal(t, []string{segment.HintName(1), segment.FileName(1), segment.HintName(2), segment.FileName(2)}, names)
}

// TestHintOfAGrownNewestSegment: a hint of the newest segment only
// counts when it describes the whole file; commits appended after it was
// written (which a writer never does, but a copy of files might) are
// scanned and their torn tail cut.
func TestHintOfAGrownNewestSegment(t *testing.T) {
	fs := vfs.NewMem()
	writeSegments(t, fs, 2, 3, closed)
	_, res, _ := recoverLogged(t, fs, Options{})
	res.Close()
	// Append half a frame of garbage to segment 2.
	b := fileBytes(t, fs, segPath(2))
	rewrite(t, fs, segPath(2), append(b, 0x81, 0x02, 0x03))
	ix, res, log := recoverLogged(t, fs, Options{})
	require.Contains(t, log, "rebuilding a hint file")
	require.EqualValues(t, 6, res.LastVersion)
	require.Len(t, dump(ix), 6)
	require.Len(t, fileBytes(t, fs, segPath(2)), len(b), "the torn tail is cut")
}

// Damage in a segment recovered from its hint is found while the index
// is built; it must be acted on as if the segment had been scanned first:
// Open fails naming it, and nothing after it (a torn tail of the newest
// segment) is cut meanwhile. With Salvage, the damage is the salvage
// point.
func TestDamageBehindAHintComesFirst(t *testing.T) {
	for _, tc := range []struct{ salvage, torn bool }{{false, true}, {true, true}, {false, false}, {true, false}} {
		salvage := tc.salvage
		t.Run(fmt.Sprintf("salvage=%v/torn=%v", tc.salvage, tc.torn), func(t *testing.T) {
			fs := vfs.NewMem()
			writeSegments(t, fs, 3, 5, closed)
			_, res, _ := recoverLogged(t, fs, Options{})
			res.Close()
			b := fileBytes(t, fs, segPath(1))
			b[len(b)-10] ^= 1 // a value of version 5
			rewrite(t, fs, segPath(1), b)
			grown := fileBytes(t, fs, segPath(3))
			if tc.torn {
				grown = append(grown, 0x81, 0x02, 0x03) // a torn write
				rewrite(t, fs, segPath(3), grown)
			}

			// Segment 1's verification waits until the pass has taken
			// its hint, so that the damage shows only once the pass is on.
			used := make(chan struct{})
			testHookVerify = func(id uint32) {
				if id == 1 {
					<-used
				}
			}
			testHookUsed = func(id uint32) {
				if id == 1 {
					close(used)
				}
			}
			defer func() { testHookVerify, testHookUsed = nil, nil }()
			_, res, err := runRecovery(t, fs, Options{Salvage: salvage, Now: func() time.Time { return time.Unix(1700000000, 0) }})
			if !salvage {
				require.ErrorIs(t, err, segment.ErrChecksum)
				require.Contains(t, err.Error(), segPath(1))
				require.Equal(t, grown, fileBytes(t, fs, segPath(3)), "the torn tail is left as it was")
				return
			}
			require.NoError(t, err)
			require.Equal(t, segPath(1), res.Damage.File)
			require.EqualValues(t, 4, res.SalvagedAt)
		})
	}
}
