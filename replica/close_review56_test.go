package replica

import (
	"io"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// stallReader gives a few bytes, then blocks until release is closed (a
// sender that stopped mid-stream: a paused process, a link that went
// silent).
type stallReader struct {
	sent    bool
	release chan struct{}
}

func (r *stallReader) Read(p []byte) (int, error) {
	if !r.sent {
		r.sent = true
		return copy(p, "partial snapshot bytes"), nil
	}
	<-r.release
	return 0, io.EOF
}

// Review 56. Close must stop the node (doc: "Close stops the node: raft,
// its transport and stores, and the database"). While the node receives
// a snapshot (raft's InstallSnapshot, which a lagging follower gets from
// its leader), raft's main goroutine reads the stream with no deadline.
// Node.Close first waits for raft's goroutines (node.go, Close:
// n.stopRaft().Error()) and only then closes the transport (closeParts),
// the one thing that would end that read: so if the sender stops sending
// mid-stream, Close never returns. Here a peer that knows the cluster's
// secret starts a snapshot of 1 MiB, sends its request and a few bytes,
// and stalls.
func TestReview56CloseDuringSnapshotReceiveHangs(t *testing.T) {
	nd, err := Open(Config{ID: "n1", Dir: t.TempDir(), RaftAddr: "127.0.0.1:0", Bootstrap: true, Tune: fastRaft, Secret: testSecret})
	require.NoError(t, err)
	eventually(t, "a leader", nd.IsLeader)
	_, err = nd.Put("r", "k", kv.Int(1))
	require.NoError(t, err)

	// The sender: a peer's raft transport over the same stream layer.
	layer, err := newStreamLayer("127.0.0.1:0", nil, testSecret, nil)
	require.NoError(t, err)
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{Stream: layer, MaxPool: 1, Timeout: time.Minute})
	stall := &stallReader{release: make(chan struct{})}
	t.Cleanup(func() { close(stall.release); trans.Close() })
	conf := raft.Configuration{Servers: []raft.Server{
		{ID: "n1", Address: raft.ServerAddress(nd.RaftAddr())},
		{ID: "peer", Address: raft.ServerAddress(layer.self)},
	}}
	const term = 1000
	req := &raft.InstallSnapshotRequest{
		RPCHeader:          raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("peer"), Addr: []byte(layer.self)},
		SnapshotVersion:    raft.SnapshotVersionMax,
		Term:               term,
		LastLogIndex:       1000,
		LastLogTerm:        term,
		Configuration:      raft.EncodeConfiguration(conf),
		ConfigurationIndex: 1,
		Size:               1 << 20,
	}
	go trans.InstallSnapshot("n1", raft.ServerAddress(nd.RaftAddr()), req, &raft.InstallSnapshotResponse{}, stall)

	// installSnapshot raises the term before it reads the stream: from
	// then on raft's main goroutine is in (or about to be in) the read.
	eventually(t, "the node to take the snapshot request", func() bool { return nd.raft.CurrentTerm() == term })

	closed := make(chan error, 1)
	go func() { closed <- nd.Close() }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatalf("Node.Close did not return within 30 s: it waits for raft's main goroutine, blocked reading a snapshot stream that only closing the transport (which Close does after the wait) would end")
	}
}
