package recovery

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/index"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/strata-kv/strata/segment"
)

// A frame that verifies where one is expected but does not fit there
// (here: it names a run the segment already named, or refers to a run
// number not yet named) is corruption, never a torn tail: a crash cannot
// cause it. (Found by review.)
func TestVerifiedFrameThatDoesNotFitIsCorruption(t *testing.T) {
	for name, entry := range map[string][]byte{
		// put, run named here ("r", already named by frame 1), key "k", value "x"
		"run named twice": {segment.OpPut | 0x10, 1, 'r', 1, 'k', 1, 'x'},
		// put, run number 5 inline (only run 0 exists), key "k", value "x"
		"unknown run number": {segment.OpPut | 6<<5, 1, 'k', 1, 'x'},
	} {
		t.Run(name, func(t *testing.T) {
			fs := vfs.NewMem()
			require.NoError(t, fs.MkdirAll(dir))
			h := segment.NewHeader(1, 1, 1000)
			enc := segment.NewEncoder(h)
			data := h.Encode()
			var err error
			for v := uint64(1); v <= 2; v++ {
				data, _, err = enc.AppendCommit(data, int64(len(data)), int64(len(data)), v, 1000,
					[]segment.EntrySpec{{Op: segment.OpPut, Run: "r", Key: "k", Value: []byte("v")}}, nil)
				require.NoError(t, err)
			}
			at := int64(len(data))
			// Version 3, where version 3 is expected, verifying under the salt.
			data = segment.WrapEntries(data, h, 2, 0, 0, 1, entry)
			require.NoError(t, vfs.WriteFileAtomic(fs, dir+"/"+segment.FileName(1), data))

			sc, err := segment.NewScanner(data)
			require.NoError(t, err)
			for i := 0; i < 2; i++ {
				_, err = sc.Next()
				require.NoError(t, err)
			}
			_, err = sc.Next()
			t.Logf("frame at %d: %v", at, err)

			res, err := Recover(fs, dir, index.New(), Options{})
			if err == nil {
				t.Fatalf("a frame that verifies where expected but does not fit there was cut as a torn tail (TornBytes %d at %s), not reported as corruption",
					res.TornBytes, res.TornFile)
			}
			require.ErrorIs(t, err, segment.ErrCorrupt)
		})
	}
}
