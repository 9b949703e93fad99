package replica

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// Review 46 found this defect (the text below says what it was); fixed
// since, and this test keeps it fixed.
//
// POST /v1/leave with the leader's own ID: Node.Leave (RemoveServer)
// succeeds, the leader commits its removal and raft shuts itself down
// (ShutdownOnRemove, raft's default, which startRaft keeps); then
// handleLeave's SetMember (server.go:520) fails on the shut-down
// raft and the call is answered 500 "internal" (ErrRaftShutdown ->
// kv.ErrClosed, raftErr, node.go:325) or 503 "not_leader": per the API doc,
// a failure or "not the leader", though the node did leave. A client
// that retries, or gives up thinking nothing happened, is misled, and the
// member's HTTP record is left as it was.
func TestReview46LeaveOfTheLeaderAnsweredOK(t *testing.T) {
	c := newCluster(t, 3, nil)
	urls := serve(t, c)
	leader := c.leader()
	l := c.index(leader)

	st, out := call(t, "POST", urls[l]+"/v1/leave", testToken, map[string]any{"id": leader.ID()})
	var members map[string]string
	eventually(t, "a new leader", func() bool {
		nl := c.leaderOf()
		if nl == nil || nl == leader {
			return false
		}
		m, err := nl.Members()
		members = m
		return err == nil
	})
	_, stillMember := members[leader.ID()]
	require.False(t, stillMember, "the leader did not leave")
	require.Equal(t, http.StatusOK, st, "the leader left the cluster (members now %v), but /v1/leave answered %d %v", members, st, out)
}
