package replica

import (
	"archive/tar"
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/raft"

	"github.com/strata-kv/strata/kv"
)

// fsm is the node's database as raft's finite state machine. Raft calls
// Apply, Snapshot and Restore from one goroutine, never at once.
type fsm struct {
	n *Node
	// dbApplied is the raft index of the last command whose commit the
	// database holds (its metadata): commands up to it are skipped.
	dbApplied uint64
}

// Apply applies a committed log entry.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Index <= f.dbApplied {
		return &result{} // replayed after a restart: already in the database
	}
	c, err := decodeCommand(l.Data)
	if err != nil {
		return &result{Err: err}
	}
	res := apply(f.n.database(), l.Index, c)
	switch {
	case storageFailure(res.Err):
		// This node can no longer follow the log: stop it, rather than
		// let it answer from a state the others do not have.
		f.n.fail(fmt.Errorf("replica: applying raft index %d: %w", l.Index, res.Err))
	case res.Version != 0:
		f.dbApplied = l.Index
	}
	return &res
}

// snapshotHeader is the first line of a snapshot stream.
type snapshotHeader struct {
	Applied uint64     `json:"applied"` // the raft index the database holds (dbApplied)
	Version kv.Version `json:"version"` // the database's LastVersion
}

// Snapshot takes a Strata checkpoint of the database.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	tmp, err := os.MkdirTemp(f.n.cfg.Dir, snapshotPrefix)
	if err != nil {
		return nil, fmt.Errorf("replica: snapshot: %w", err)
	}
	dir := filepath.Join(tmp, "db")
	v, err := f.n.database().Checkpoint(dir)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("replica: snapshot: %w", err)
	}
	return &snapshot{tmp: tmp, dir: dir, hd: snapshotHeader{Applied: f.dbApplied, Version: v}}, nil
}

// snapshot is a checkpoint waiting to be streamed.
type snapshot struct {
	tmp, dir string
	hd       snapshotHeader
}

// Persist streams the checkpoint: the header line, then a tar archive
// of its files.
func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.write(sink); err != nil {
		sink.Cancel()
		return fmt.Errorf("replica: snapshot: %w", err)
	}
	return sink.Close()
}

func (s *snapshot) write(w io.Writer) error {
	hd, err := json.Marshal(s.hd)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := bw.Write(append(hd, '\n')); err != nil {
		return err
	}
	tw := tar.NewWriter(bw)
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := addFile(tw, s.dir, e.Name()); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

func addFile(tw *tar.Writer, dir, name string) error {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: fi.Size(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.CopyN(tw, f, fi.Size())
	return err
}

// Release removes the checkpoint.
func (s *snapshot) Release() { os.RemoveAll(s.tmp) }

// Restore replaces the database with the snapshot in rc.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	n := f.n
	// A node whose restore failed keeps its database: raft, its newest
	// snapshot refused, offers the older one next, which would replace the
	// node's newer database all the same (review 56).
	if err := n.failure(); err != nil {
		return err
	}
	staged := n.path(stagedDir)
	if err := os.RemoveAll(staged); err != nil {
		return fmt.Errorf("replica: restore: %w", err)
	}
	if _, err := unpack(rc, staged); err != nil {
		os.RemoveAll(staged)
		return fmt.Errorf("replica: restore: %w", err)
	}
	applied, err := n.swapIn()
	if err != nil {
		n.fail(err)
		return err
	}
	f.dbApplied = applied
	f.n.restores.Add(1)
	return nil
}

// unpack writes the snapshot stream r into a new directory dir, each
// file fsynced, and returns its header.
func unpack(r io.Reader, dir string) (snapshotHeader, error) {
	var hd snapshotHeader
	br := bufio.NewReaderSize(r, 1<<20)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return hd, fmt.Errorf("snapshot header: %w", err)
	}
	if err := json.Unmarshal(line, &hd); err != nil {
		return hd, fmt.Errorf("snapshot header: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return hd, err
	}
	tr := tar.NewReader(br)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return hd, err
		}
		name := h.Name
		if h.Typeflag != tar.TypeReg || name != filepath.Base(name) || strings.HasPrefix(name, ".") || !fs.ValidPath(name) {
			return hd, fmt.Errorf("snapshot: unexpected entry %q", h.Name)
		}
		if err := writeSynced(filepath.Join(dir, name), tr); err != nil {
			return hd, err
		}
	}
	return hd, syncDir(dir)
}

func writeSynced(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// readHeader reads the header of the snapshot stream r.
func readHeader(r io.Reader) (snapshotHeader, error) {
	var hd snapshotHeader
	line, err := bufio.NewReader(r).ReadBytes('\n')
	if err != nil {
		return hd, err
	}
	return hd, json.Unmarshal(line, &hd)
}
