package replica

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// /v1/join adds the raft voter first and validates the ID only when it
// records the member's HTTP address (server.go:439-446): a join whose ID
// is no valid metadata key (here longer than a key may be) is answered
// 400, yet the cluster now has a voter it cannot reach. A refused call
// must change nothing.
func TestReviewRefusedJoinAddsAVoter(t *testing.T) {
	c := newCluster(t, 3, nil)
	urls := serve(t, c)
	leader := c.index(c.leader())
	bad := strings.Repeat("x", 1100)
	st, out := call(t, "POST", urls[leader]+"/v1/join", testToken, map[string]any{"id": bad, "raft_addr": "127.0.0.1:1", "http_addr": "127.0.0.1:1"})
	require.NotEqual(t, 200, st, "%v", out)
	m, err := c.leader().Members()
	require.NoError(t, err)
	_, added := m[bad]
	require.False(t, added, "the join was answered %d %v, but the voter was added: the cluster now has %d voters, one unreachable", st, out["code"], len(m))
}

// A follower that forwards a write and loses the leader's answer (the
// leader died, or the connection broke, after it committed) answers 503
// code "not_leader" (server.go:185-189), which the API documents as "not
// the leader": a client takes it that nothing was written and retries,
// applying an Incr twice. The write did commit: the answer must be the
// documented 504 outcome_unknown. Here a proxy in front of the leader
// hands the request on and drops the connection instead of the answer.
func TestReviewForwardedWriteLostAnswerIsNotLeader(t *testing.T) {
	c := newCluster(t, 3, nil)
	urls := serve(t, c)
	leader := c.leader()
	l := c.index(leader)
	f := (l + 1) % 3
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequest(r.Method, urls[l]+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close() // the answer is lost
		}
	}))
	defer proxy.Close()
	require.NoError(t, leader.SetMember(leader.ID(), strings.TrimPrefix(proxy.URL, "http://")))
	eventually(t, "the follower to know the proxy", func() bool {
		a, _ := c.nodes[f].MemberAddr(leader.ID())
		return a == strings.TrimPrefix(proxy.URL, "http://")
	})

	st, out := call(t, "POST", urls[f]+"/v1/incr", testToken, map[string]any{"run": "r", "key": "n", "delta": 1})
	got, ok, err := leader.Get("r", "n", ReadOptions{})
	require.NoError(t, err)
	require.True(t, ok && kv.Int(1).Equal(got.Value), "the incr committed")
	require.False(t, st == http.StatusServiceUnavailable && out["code"] == "not_leader",
		"a committed write was answered %d %v: a client retries it", st, out)
}

// A write the engine refuses (a value above MaxValueBytes, 16 MiB by
// default) is refused only when it applies: the leader appends it to
// raft's log first, so every node fsyncs and keeps it (server.go reads
// up to 64 MiB; submit, node.go:323, checks nothing). Here one refused
// put grows a follower's raft log by its whole size.
func TestReviewRefusedPutStillReplicated(t *testing.T) {
	c := newCluster(t, 3, nil)
	v := c.put("r", "a", kv.Int(1))
	c.caughtUp(v)
	leader := c.leader()
	f := c.nodes[(c.index(leader)+1)%3]
	size := func() int64 {
		fi, err := os.Stat(filepath.Join(f.cfg.Dir, raftDir, "raft.db"))
		require.NoError(t, err)
		return fi.Size()
	}
	before := size()
	_, err := leader.Put("r", "big", kv.String(strings.Repeat("x", 17<<20)))
	require.Error(t, err, "the value is above MaxValueBytes")
	t.Logf("the refused put: %v", err)
	v = c.put("r", "b", kv.Int(1))
	c.caughtUp(v)
	grown := size() - before
	require.Less(t, grown, int64(1<<20), "a refused 17 MiB put grew the follower's raft log by %d bytes", grown)
}
