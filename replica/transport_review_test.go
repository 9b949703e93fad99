package replica

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// waitUntil polls cond for up to d and reports whether it held.
func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// streamLayer.Accept reads the dialer's hello (and, with TLS, runs the
// handshake) inline, with a 10 s deadline, before it accepts the next
// connection (transport.go:63-93). Anyone who can open a TCP connection
// to a node's raft port, without a certificate or token, stalls all of
// its incoming raft connections for 10 s per idle connection. Here a new
// voter with three idle connections does not receive the log for ~30 s.
func TestReviewIdleConnectionsStallRaftAccept(t *testing.T) {
	c := newCluster(t, 3, nil)
	v := c.put("r", "k", kv.Int(1))
	c.caughtUp(v)

	nd, err := Open(Config{ID: "n3", Dir: filepath.Join(c.dir, "n3"), RaftAddr: "127.0.0.1:0", Tune: fastRaft, Timeout: 5 * time.Second, Secret: testSecret})
	require.NoError(t, err)
	t.Cleanup(func() { nd.Close() })
	for range 3 { // connect, say nothing
		conn, err := net.Dial("tcp", nd.RaftAddr())
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
	}
	require.NoError(t, c.leader().Join("n3", nd.RaftAddr()))
	start := time.Now()
	caught := waitUntil(5*time.Second, func() bool {
		got, err := nd.LastVersion(ReadOptions{Stale: true})
		return err == nil && got >= v
	})
	require.True(t, caught, "the new voter had not received the log after %v: three idle TCP connections block its raft listener", time.Since(start).Round(time.Millisecond))
}

// fdCount returns the number of open sockets of the process.
func socketCount(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd here")
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

func handleConnGoroutines() int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "raft.(*NetworkTransport).handleConn(")
}

// Close must leave no raft connection behind. Node.Close shuts raft down
// and closes the transport, but NetworkTransport.Close only closes the
// listener (streamLayer.Close, transport.go:129): the connections raft
// pooled stay open, and the peers' handleConn goroutines block on them
// forever. Closing every node of a cluster leaks sockets and goroutines.
func TestReviewCloseLeaksRaftConnections(t *testing.T) {
	baseSockets := socketCount(t)
	baseHandlers := handleConnGoroutines()
	c := newCluster(t, 3, nil)
	for i := range 20 {
		c.put("r", fmt.Sprintf("k%d", i), kv.Int(int64(i)))
	}
	last, err := c.leader().LastVersion(ReadOptions{})
	require.NoError(t, err)
	c.caughtUp(last)
	c.closeAll()
	clean := waitUntil(5*time.Second, func() bool {
		return socketCount(t) <= baseSockets && handleConnGoroutines() <= baseHandlers
	})
	require.True(t, clean, "after every node closed: %d sockets open (%d before), %d raft handleConn goroutines (%d before)",
		socketCount(t), baseSockets, handleConnGoroutines(), baseHandlers)
}

// Without TLS (the default of strata-server), raft's port takes
// AppendEntries from any process that connects: it writes to the
// database with no bearer token and no membership. Here a connection
// that claims to be a leader of a higher term appends a put, which the
// node applies.
func TestReviewRaftPortWritesWithoutToken(t *testing.T) {
	c := newCluster(t, 1, nil)
	nd := c.leader()
	c.put("r", "seed", kv.Int(1))

	layer, err := newStreamLayer("127.0.0.1:0", nil, "not the cluster's secret", nil)
	require.NoError(t, err)
	trans := raft.NewNetworkTransport(layer, 1, 5*time.Second, nil)
	defer trans.Close()

	stats := nd.raft.Stats()
	term, _ := strconv.ParseUint(stats["term"], 10, 64)
	lastTerm, _ := strconv.ParseUint(stats["last_log_term"], 10, 64)
	last := nd.raft.LastIndex()
	data, err := encodeCommand(&command{Op: opPut, Run: "r", Key: "intruder", Value: kv.String("no token needed")})
	require.NoError(t, err)
	req := &raft.AppendEntriesRequest{
		RPCHeader:         raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("evil"), Addr: []byte(layer.self)},
		Term:              term + 1,
		PrevLogEntry:      last,
		PrevLogTerm:       lastTerm,
		Entries:           []*raft.Log{{Index: last + 1, Term: term + 1, Type: raft.LogCommand, Data: data}},
		LeaderCommitIndex: last + 1,
	}
	var resp raft.AppendEntriesResponse
	// Amended after the fix: the handshake refuses a peer that does not
	// know the cluster's secret, so the RPC fails.
	require.Error(t, trans.AppendEntries("n0", raft.ServerAddress(nd.RaftAddr()), req, &resp))
	written := waitUntil(3*time.Second, func() bool {
		_, ok, err := nd.Get("r", "intruder", ReadOptions{Stale: true})
		return err == nil && ok
	})
	require.False(t, written, "a process with no token and no certificate wrote key intruder through the raft port (append accepted: %v)", resp.Success)
}

func ptr[T any](v T) *T { return &v }
