package kv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/segment"
)

// A torn tail is cut, logged through slog.Default() when no Logger is
// given, and reported by Recovery; a clean open reports nothing.
func TestRecoveryReportAndDefaultLogger(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, &Options{Durability: Strict})
	require.NoError(t, err)
	mustPut(t, db, "r", "a", Int(1))
	require.Zero(t, db.Recovery(), "a new directory needs no repair")
	require.Empty(t, db.Recovery().String())
	require.NoError(t, db.Close())
	segs := segmentFiles(t, dir)
	clean, err := os.Stat(segs[0])
	require.NoError(t, err)
	f, err := os.OpenFile(segs[0], os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write(bytes.Repeat([]byte{0xAB}, 37))
	require.NoError(t, err)
	require.NoError(t, f.Close())

	var logs bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	defer slog.SetDefault(old)
	db, err = Open(dir, nil)
	require.NoError(t, err)
	rep := db.Recovery()
	require.Equal(t, segs[0], rep.TornFile)
	require.EqualValues(t, 37, rep.TornBytes)
	require.Contains(t, rep.String(), "cut a torn write of 37 bytes")
	require.Contains(t, logs.String(), "torn write", "a nil Logger logs to slog.Default()")
	require.Contains(t, logs.String(), filepath.Base(segs[0]))
	mustGet(t, db, "r", "a")
	v := mustPut(t, db, "r", "b", Int(2))
	require.EqualValues(t, 2, v)
	require.NoError(t, db.Close())
	require.Equal(t, rep, db.Recovery(), "Recovery works on a closed DB")

	db, err = Open(dir, nil)
	require.NoError(t, err)
	require.Zero(t, db.Recovery().TornBytes, "nothing left to cut")
	h, err := db.History("r", "b", 0, 0)
	require.NoError(t, err)
	require.Len(t, h, 1)
	require.NoError(t, db.Close())
	cut, err := os.Stat(segs[0])
	require.NoError(t, err)
	require.Equal(t, clean.Size(), cut.Size(), "cut back, and the commit after the cut went to a new segment")
}

// Corruption is an error wrapping ErrCorrupt in which errors.As finds a
// *CorruptError; its message names the file and the offset once.
// RecoverSalvage opens at the last intact version instead, moves the rest
// aside and goes on from there.
func TestCorruptionAndSalvage(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, &Options{SegmentSize: 400})
	require.NoError(t, err)
	for i := 0; i < 60; i++ {
		mustPut(t, db, "r", fmt.Sprintf("k%02d", i), String(fmt.Sprintf("value %d", i)))
	}
	require.NoError(t, db.Close())
	segs := segmentFiles(t, dir)
	require.Greater(t, len(segs), 3)
	victim := segs[1]
	b, err := os.ReadFile(victim)
	require.NoError(t, err)
	ends := frameEnds(t, victim)
	b[ends[2]+3] ^= 0x08 // the fourth frame of the second segment
	require.NoError(t, os.WriteFile(victim, b, 0o600))

	_, err = Open(dir, nil)
	require.ErrorIs(t, err, ErrCorrupt)
	var ce *CorruptError
	require.True(t, errors.As(err, &ce))
	require.Equal(t, victim, ce.File)
	require.Equal(t, ends[2], ce.Offset)
	require.Error(t, ce.Err)
	require.Equal(t, 1, strings.Count(err.Error(), victim), err.Error())
	require.Equal(t, 1, strings.Count(err.Error(), fmt.Sprintf("offset %d", ends[2])), err.Error())

	db, err = Open(dir, &Options{Recovery: RecoverSalvage, ReadOnly: true})
	require.NoError(t, err, "read-only salvage serves the intact versions")
	salvaged := db.LastVersion()
	require.Positive(t, salvaged)
	require.Empty(t, db.Recovery().MovedAside, "read-only moves nothing")
	require.NoError(t, db.Close())
	require.Equal(t, segs, segmentFiles(t, dir))

	db, err = Open(dir, &Options{Recovery: RecoverSalvage})
	require.NoError(t, err)
	rep := db.Recovery()
	require.Equal(t, salvaged, rep.SalvagedAt)
	require.Equal(t, salvaged, db.LastVersion())
	require.Len(t, rep.MovedAside, len(segs)-1)
	require.Equal(t, victim, rep.Damage.File)
	require.Contains(t, rep.String(), "moved aside")
	for _, f := range rep.MovedAside {
		require.FileExists(t, f, "moved aside, never deleted")
	}
	for i := 0; i < int(salvaged); i++ {
		v := mustGet(t, db, "r", fmt.Sprintf("k%02d", i))
		require.EqualValues(t, i+1, v.Version)
	}
	absent(t, db, "r", fmt.Sprintf("k%02d", salvaged))
	v := mustPut(t, db, "r", "after", Int(1))
	require.Equal(t, salvaged+1, v, "versions go on after the salvaged one")
	require.NoError(t, db.Close())

	db, err = Open(dir, nil)
	require.NoError(t, err, "a salvaged directory opens strictly")
	require.Equal(t, salvaged+1, db.LastVersion())
	require.Zero(t, db.Recovery())
	require.NoError(t, db.Close())

	_, err = Open(dir, &Options{Recovery: 7})
	require.Error(t, err)
}

// A segment of format version 1 is refused with a plain message, not as
// corruption, and nothing is changed.
func TestOldFormatIsRefusedPlainly(t *testing.T) {
	dir := t.TempDir()
	v1 := make([]byte, 32)
	copy(v1, segment.Magic)
	binary.LittleEndian.PutUint32(v1[8:], 1)
	binary.LittleEndian.PutUint32(v1[12:], 1)
	binary.LittleEndian.PutUint64(v1[24:], xxhash.Sum64(v1[:24]))
	path := filepath.Join(dir, segment.FileName(1))
	require.NoError(t, os.WriteFile(path, v1, 0o600))
	for _, mode := range []RecoveryMode{RecoverStrict, RecoverSalvage} {
		_, err := Open(dir, &Options{Recovery: mode})
		require.Error(t, err)
		require.NotErrorIs(t, err, ErrCorrupt)
		require.Contains(t, err.Error(), "format version 1")
		require.Contains(t, err.Error(), path)
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, v1, b)
}

// LockTimeout waits for the holder; ErrLocked says who holds the
// directory.
func TestLockTimeoutAndHolder(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, nil)
	require.NoError(t, err)
	start := time.Now()
	_, err = Open(dir, &Options{LockTimeout: 50 * time.Millisecond})
	require.ErrorIs(t, err, ErrLocked)
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "it waited")
	require.Contains(t, err.Error(), "held by a writer")
	if runtime.GOOS != "windows" {
		require.Contains(t, err.Error(), fmt.Sprintf("process %d", os.Getpid()))
	}
	_, err = Open(dir, &Options{ReadOnly: true})
	require.ErrorIs(t, err, ErrLocked)

	done := make(chan error)
	go func() {
		db2, err := Open(dir, &Options{LockTimeout: time.Minute})
		if err == nil {
			err = db2.Close()
		}
		done <- err
	}()
	require.NoError(t, db.Close())
	require.NoError(t, <-done, "the waiting Open gets the directory once it is free")

	r, err := Open(dir, &Options{ReadOnly: true})
	require.NoError(t, err)
	_, err = Open(dir, nil)
	require.ErrorIs(t, err, ErrLocked)
	require.Contains(t, err.Error(), "held by read-only opens")
	require.NoError(t, r.Close())
	_, err = Open(dir, &Options{LockTimeout: -1})
	require.Error(t, err)
}

// A new data directory and its files are private to their owner.
func TestFilesArePrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no unix permissions")
	}
	dir := filepath.Join(t.TempDir(), "data")
	db, err := Open(dir, nil)
	require.NoError(t, err)
	mustPut(t, db, "r", "k", Int(1))
	require.NoError(t, db.Close())
	st, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	for _, e := range entries {
		info, err := e.Info()
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), e.Name())
	}
}
