package replica

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// Review 46 found this defect (the text below says what it was); fixed
// since, and this test keeps it fixed.
//
// A join that names the raft address of a member under another ID is
// invalid input: raft refuses the configuration ("found duplicate
// address in configuration", raft's checkConfiguration), an error
// Node.raftErr (node.go:325) passes through unmapped, so the server
// answers 500 "internal" (server.go:609). The API doc (server.go:
// 42-45) promises 400 for invalid input; checkMember (server.go:482) validates only the syntax of the addresses.
func TestReview46JoinDuplicateAddressIs400(t *testing.T) {
	c := newCluster(t, 1, nil)
	urls := serve(t, c)
	leader := c.leader()
	st, out := call(t, "POST", urls[0]+"/v1/join", testToken, map[string]any{"id": "n7", "raft_addr": leader.RaftAddr(), "http_addr": "127.0.0.1:1"})
	m, err := leader.Members()
	require.NoError(t, err)
	_, added := m["n7"]
	require.False(t, added)
	require.Equal(t, http.StatusBadRequest, st, "a join naming a member's raft address was answered %d %v", st, out)
}
