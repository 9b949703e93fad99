package segment

import (
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// A scan resumed at any mark of another scan of the same segment reads
// the same frames from there on, runs named before the mark included.
func TestResumeScanner(t *testing.T) {
	h := Header{ID: 3, Salt: 0x55aa55aa55aa55aa, BaseVersion: 10, BaseTime: 1_764_000_000_000_000}
	enc := NewEncoder(h)
	data := h.Encode()
	for i := range 40 {
		var err error
		run := fmt.Sprintf("run%d", i%9) // more runs than fit in the flags
		data, _, err = enc.AppendCommit(data, int64(len(data)), int64(len(data)), enc.Next(), h.BaseTime+int64(i*7),
			[]EntrySpec{{Op: OpPut, Run: run, Key: fmt.Sprintf("k%d", i), Value: []byte("v")}}, nil)
		require.NoError(t, err)
		if i%5 == 4 {
			data, _, err = enc.AppendMarker(data, int64(len(data)), int64(len(data)))
			require.NoError(t, err)
		}
	}
	type seen struct {
		off      int64
		version  uint64
		ts       int64
		run, key string
	}
	read := func(sc *Scanner) []seen {
		var out []seen
		for {
			f, err := sc.Next()
			if err == io.EOF {
				return out
			}
			require.NoError(t, err)
			require.NoError(t, f.Entries(func(e Entry) error {
				out = append(out, seen{f.Offset, f.Version, f.Timestamp, string(e.Run), string(e.Key)})
				return nil
			}))
			if f.Marker() {
				out = append(out, seen{f.Offset, f.Version, f.Timestamp, "", ""})
			}
		}
	}
	full, err := NewScanner(data)
	require.NoError(t, err)
	var marks []Mark
	sc, err := NewScanner(data)
	require.NoError(t, err)
	for {
		marks = append(marks, sc.Mark())
		if _, err := sc.Next(); err == io.EOF {
			break
		}
	}
	runs := sc.RunNames()
	all := read(full)
	for i, m := range marks {
		r, err := ResumeScanner(data, m, runs)
		require.NoError(t, err)
		var want []seen
		for _, s := range all {
			if s.off >= m.Off {
				want = append(want, s)
			}
		}
		require.Equal(t, want, read(r), "resumed at mark %d (offset %d)", i, m.Off)
	}
	_, err = ResumeScanner(data, Mark{Off: 3}, runs)
	require.ErrorIs(t, err, ErrMalformed)
	_, err = ResumeScanner(data, Mark{Off: HeaderSize, Runs: len(runs) + 1}, runs)
	require.ErrorIs(t, err, ErrMalformed)
}
