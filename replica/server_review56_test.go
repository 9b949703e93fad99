package replica

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Review 56. /v1/leave of an ID that is no member of the cluster (a
// typo, a node that already left) answers 200 {"left": ID}, and so does
// an ID that no node can have (the join refuses it: checkMember's
// validID): Node.Leave is raft's RemoveServer, a no-op for an unknown ID,
// and handleLeave also commits a member record for it. The caller is
// told a node left while the node it meant is still a voter. A leave of
// an unknown member must be refused (4xx), with nothing written.
func TestReview56LeaveOfAnUnknownNodeAnswersLeft(t *testing.T) {
	c := newCluster(t, 1, nil)
	urls := serve(t, c)
	for _, id := range []string{"n7", "not a node id!"} {
		before, err := c.leader().LastVersion(ReadOptions{})
		require.NoError(t, err)
		st, out := call(t, "POST", urls[0]+"/v1/leave", testToken, map[string]any{"id": id})
		after, err := c.leader().LastVersion(ReadOptions{})
		require.NoError(t, err)
		require.True(t, st >= 400 && st < 500 && after == before,
			"leave of %q, no member: %d %v, and %d commit(s) written; want a 4xx and nothing written", id, st, out, after-before)
	}
}
