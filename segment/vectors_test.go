package segment

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/format-v2.txt from the encoder")

// vectorSegment is a fixed segment: header, a put naming its run, a batch
// naming a second run and referring to the first (one compressed value,
// one tombstone), a put referring to a run by number, and a sync marker.
func vectorSegment(t *testing.T) (Header, []byte) {
	h := Header{ID: 7, Salt: 0x0123456789abcdef, BaseVersion: 100, BaseTime: 1_764_000_000_000_000}
	enc := NewEncoder(h)
	data := h.Encode()
	commit := func(synced, ts int64, ents ...EntrySpec) {
		var err error
		data, _, err = enc.AppendCommit(data, int64(len(data)), synced, enc.Next(), ts, ents, nil)
		require.NoError(t, err)
	}
	long, codec := Compress(nil, []byte(strings.Repeat("abcdefgh", 16)))
	require.Equal(t, CodecS2, codec)
	commit(HeaderSize, h.BaseTime+1, EntrySpec{Op: OpPut, Run: "agent", Key: "plan", Value: []byte("draft")})
	commit(int64(len(data)), h.BaseTime+300,
		EntrySpec{Op: OpPut, Codec: CodecS2, Run: "job", Key: "log", Value: long},
		EntrySpec{Op: OpDelete, Run: "agent", Key: "old"})
	commit(int64(len(data)), h.BaseTime+300, EntrySpec{Op: OpPut, Run: "agent", Key: "plan", Value: []byte("final")})
	var err error
	data, _, err = enc.AppendMarker(data, int64(len(data)), int64(len(data)))
	require.NoError(t, err)
	return h, data
}

// TestFormatVectors pins the byte layout of format version 2: the encoder
// must produce testdata/format-v2.txt exactly, and the scanner must read
// it back. A change here is a change of the on-disk format: bump
// FormatVersion and keep reading the old one, or refuse it plainly.
func TestFormatVectors(t *testing.T) {
	h, data := vectorSegment(t)
	path := filepath.Join("testdata", "format-v2.txt")
	var b strings.Builder
	b.WriteString("# Segment format version 2: a fixed segment (see vectorSegment in vectors_test.go),\n")
	b.WriteString("# one line per part: the header, then each frame. Regenerate with go test -run TestFormatVectors -update.\n")
	b.WriteString("header " + hex.EncodeToString(data[:HeaderSize]) + "\n")
	sc, err := NewScanner(data)
	require.NoError(t, err)
	require.Equal(t, h, sc.Header())
	for {
		f, err := sc.Next()
		if err != nil {
			require.Equal(t, int64(len(data)), sc.Offset(), "%v", err)
			break
		}
		kind := "commit"
		if f.Marker() {
			kind = "marker"
		}
		b.WriteString(kind + " " + hex.EncodeToString(f.Bytes()) + "\n")
	}
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, string(want), b.String(), "the encoder no longer writes format version 2 as pinned")

	// And the pinned bytes decode to what was written.
	var pinned []byte
	for _, line := range strings.Split(strings.TrimSpace(string(want)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		_, hx, _ := strings.Cut(line, " ")
		raw, err := hex.DecodeString(hx)
		require.NoError(t, err)
		pinned = append(pinned, raw...)
	}
	require.True(t, bytes.Equal(data, pinned))
	frames, _, err := scanAll(t, pinned)
	require.NoError(t, err)
	require.Len(t, frames, 4)
	var got []string
	for _, f := range frames[:3] {
		require.NoError(t, f.Entries(func(e Entry) error {
			v, err := DecodeValue(e.Codec, e.Value)
			require.NoError(t, err)
			got = append(got, string(e.Run)+"/"+string(e.Key)+"="+string(v))
			return nil
		}))
	}
	require.Equal(t, []string{"agent/plan=draft", "job/log=" + strings.Repeat("abcdefgh", 16), "agent/old=", "agent/plan=final"}, got)
	require.EqualValues(t, 102, frames[2].Version)
	require.EqualValues(t, 103, frames[3].Version, "a marker carries the version the next commit takes")
}

// TestDocExample checks the worked example of the package doc against
// the encoder: the hex column of its table, read from doc.go, must be the
// bytes the encoder writes for the commit it describes.
func TestDocExample(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(src), "// # Worked example\n")
	require.True(t, ok, "doc.go has a worked example")
	section, _, _ = strings.Cut(section, "// #")
	var doc []byte
	inTable := false
	for line := range strings.SplitSeq(section, "\n") {
		row, ok := strings.CutPrefix(line, "//\t")
		if !ok {
			inTable = inTable && line == "//"
			continue
		}
		if strings.HasPrefix(row, "hex ") {
			inTable = true
			continue
		}
		require.True(t, inTable)
		col, _, _ := strings.Cut(row, "  ")
		b, err := hex.DecodeString(strings.ReplaceAll(col, " ", ""))
		require.NoError(t, err, "row %q", row)
		doc = append(doc, b...)
	}
	h := Header{ID: 1, Salt: 0x0123456789abcdef, BaseVersion: 1, BaseTime: 1_764_000_000_000_000}
	require.Equal(t, byte(0x81), h.tag())
	data, _, err := NewEncoder(h).AppendCommit(h.Encode(), HeaderSize, HeaderSize, 1, h.BaseTime+5,
		[]EntrySpec{{Op: OpPut, Run: "r", Key: "k", Value: []byte("hi")}}, nil)
	require.NoError(t, err)
	require.Equal(t, hex.EncodeToString(data[HeaderSize:]), hex.EncodeToString(doc), "the worked example in doc.go")
	sc, err := NewScanner(data)
	require.NoError(t, err)
	f, err := sc.Next()
	require.NoError(t, err)
	require.Equal(t, uint64(1), f.Version)
	require.Equal(t, 21, f.Size)
}
