package segment

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/strata-kv/strata/internal/vfs"
	"github.com/stretchr/testify/require"
)

func sampleManifest() *Manifest {
	return &Manifest{Generation: 9, Active: 12, Trimmed: 40, Segments: []SegmentInfo{
		{ID: 11, Base: 1, Last: 30, Size: 4096},
		{ID: 4, Base: 31, Last: 31, Size: HeaderSize + 20},
		{ID: 10, Base: 32, Last: 90, Size: 1 << 20},
	}}
}

func TestManifestRoundTrip(t *testing.T) {
	m := sampleManifest()
	b := m.Encode()
	require.Len(t, b, 40+3*32+8)
	got, err := DecodeManifest(b)
	require.NoError(t, err)
	require.Equal(t, m, got)
	require.EqualValues(t, 90, got.Last())

	for i := range b {
		bad := bytes.Clone(b)
		bad[i] ^= 0x10
		_, err := DecodeManifest(bad)
		require.ErrorIs(t, err, ErrBadManifest, "flipped byte %d", i)
	}
	for n := range len(b) {
		_, err := DecodeManifest(b[:n])
		require.ErrorIs(t, err, ErrBadManifest, "cut to %d bytes", n)
	}
	empty, err := DecodeManifest((&Manifest{Active: 1}).Encode())
	require.NoError(t, err)
	require.Empty(t, empty.Segments)
}

func TestManifestRefusesWhatCannotBe(t *testing.T) {
	for name, edit := range map[string]func(m *Manifest){
		"a gap":           func(m *Manifest) { m.Segments[1].Base = 32 },
		"an overlap":      func(m *Manifest) { m.Segments[2].Base = 30 },
		"not from 1":      func(m *Manifest) { m.Segments[0].Base = 2 },
		"backwards range": func(m *Manifest) { m.Segments[1].Last = 30 },
		"id twice":        func(m *Manifest) { m.Segments[2].ID = 11 },
		"active listed":   func(m *Manifest) { m.Active = 4 },
		"id zero":         func(m *Manifest) { m.Segments[0].ID = 0 },
		"tiny file":       func(m *Manifest) { m.Segments[0].Size = 10 },
	} {
		m := sampleManifest()
		edit(m)
		_, err := DecodeManifest(m.Encode())
		require.ErrorIs(t, err, ErrBadManifest, name)
	}
}

func TestReadWriteManifest(t *testing.T) {
	fs := vfs.NewMem()
	require.NoError(t, fs.MkdirAll("/d"))
	m, err := ReadManifest(fs, "/d")
	require.NoError(t, err)
	require.Nil(t, m, "no manifest yet")
	require.NoError(t, WriteManifest(fs, "/d", sampleManifest()))
	m, err = ReadManifest(fs, "/d")
	require.NoError(t, err)
	require.Equal(t, sampleManifest(), m)
}

// Vanished is stored as its gap below Trimmed: a version 1 manifest,
// written before the gap existed (zeros there), reads as Vanished ==
// Trimmed, what reads assumed then; a gap too wide for 32 bits errs
// upward; one above Trimmed is refused, and so is any gap in version 1.
func TestManifestVanished(t *testing.T) {
	m := sampleManifest()
	m.Vanished = 25
	got, err := DecodeManifest(m.Encode())
	require.NoError(t, err)
	require.EqualValues(t, 25, got.Vanished)
	require.EqualValues(t, 40-25, binary.LittleEndian.Uint32(m.Encode()[28:]))

	// What an older build wrote: version 1, zeros at 28.
	reseal := func(b []byte) []byte {
		end := len(b) - 8
		binary.LittleEndian.PutUint64(b[end:], xxhash.Sum64(b[:end]))
		return b
	}
	b := sampleManifest().Encode()
	binary.LittleEndian.PutUint32(b[8:], 1)
	binary.LittleEndian.PutUint32(b[28:], 0)
	got, err = DecodeManifest(reseal(b))
	require.NoError(t, err)
	require.EqualValues(t, 40, got.Vanished, "version 1 reads as Vanished == Trimmed")
	require.Equal(t, uint32(2), binary.LittleEndian.Uint32(got.Encode()[8:]), "written back as version 2")
	binary.LittleEndian.PutUint32(b[28:], 5)
	_, err = DecodeManifest(reseal(b))
	require.ErrorIs(t, err, ErrBadManifest, "version 1 with a gap")
	binary.LittleEndian.PutUint32(b[8:], 3)
	_, err = DecodeManifest(reseal(b))
	require.ErrorContains(t, err, "format version 3", "a later version is refused by name")

	above := sampleManifest()
	above.Vanished = 1000
	got, err = DecodeManifest(above.Encode())
	require.NoError(t, err)
	require.EqualValues(t, 40, got.Vanished, "never above Trimmed")

	wide := &Manifest{Active: 1, Trimmed: 1 << 40}
	got, err = DecodeManifest(wide.Encode())
	require.NoError(t, err)
	require.Equal(t, uint64(1<<40-math.MaxUint32), got.Vanished, "a capped gap reads as a Vanished above the truth")

	b = sampleManifest().Encode()
	binary.LittleEndian.PutUint32(b[28:], 41)
	_, err = DecodeManifest(reseal(b))
	require.ErrorIs(t, err, ErrBadManifest, "a gap above Trimmed")
	binary.LittleEndian.PutUint32(b[28:], 40)
	_, err = DecodeManifest(reseal(b))
	require.NoError(t, err, "a gap of Trimmed: Vanished 0")
}
