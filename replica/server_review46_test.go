package replica

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// rawCall posts body as is (no JSON marshalling, so its bytes reach the
// server unchanged) or GETs u when body is nil.
func rawCall(t *testing.T, method, u string, body []byte) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// Review 46 found this defect (the text below says what it was); fixed
// since, and this test keeps it fixed.
//
// A key that is not valid UTF-8 is invalid input (kv refuses it with
// ErrInvalidKey, and Node.Put does too: encoding_review_test.go). Over
// HTTP, the request body is decoded by encoding/json into the putReq's
// string fields (putReq, server.go:335; decode, server.go:367), and
// encoding/json silently replaces every invalid byte with U+FFFD: the
// put is answered 200 and writes another key, "a\uFFFDb", that the
// client never named. Input the engine refuses must be refused (400),
// with nothing written.
func TestReview46ServerRefusesABodyNotUTF8(t *testing.T) {
	c := newCluster(t, 1, nil)
	urls := serve(t, c)
	leader := c.leader()
	before, err := leader.LastVersion(ReadOptions{})
	require.NoError(t, err)

	st, out := rawCall(t, "POST", urls[0]+"/v1/put", []byte("{\"run\":\"r\",\"key\":\"a\xffb\",\"value\":1}"))

	_, landed, err := leader.Get("r", "a\uFFFDb", ReadOptions{})
	require.NoError(t, err)
	after, err := leader.LastVersion(ReadOptions{})
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, st, "a put to key \"a\\xffb\" (invalid UTF-8) was answered %d %v; key \"a\\uFFFDb\" written: %v", st, out, landed)
	require.False(t, landed, "the put landed on key \"a\\uFFFDb\"")
	require.Equal(t, before, after, "nothing written")
}

// Review 46 found this defect (the text below says what it was); fixed
// since, and this test keeps it fixed.
//
// A stale GetAt of a version this node has not applied waits for it
// (Node.GetAt, ops.go:176-180) and, after the node's Timeout, fails with
// "replica: version N not applied here yet: context deadline exceeded"
// (ops.go:206), an error writeKVError does not know: the server answers
// 500 "internal" (server.go:609), which the API doc (server.go:42-45)
// does not list for this; a version above the cluster's is bad input
// (400/404), a lagging follower is 503/504. The same query without
// stale=1 is answered 200 at once (kv: an at above LastVersion reads the
// latest).
func TestReview46StaleGetAtUnappliedVersionIs504(t *testing.T) {
	c := newCluster(t, 1, nil)
	urls := serve(t, c)
	c.put("r", "k", kv.Int(1))

	st, out := rawCall(t, "GET", urls[0]+"/v1/get?run=r&key=k&at=1000000", nil)
	require.Equal(t, http.StatusOK, st, "linearizable: %v", out)

	start := time.Now() // waits the node's Timeout (5 s), then 504 not_applied
	st, out = rawCall(t, "GET", urls[0]+"/v1/get?run=r&key=k&at=1000000&stale=1", nil)
	require.Equal(t, http.StatusGatewayTimeout, st,
		"a stale get at a version the node has not applied was answered %d %v after %v", st, out, time.Since(start).Round(time.Millisecond))
}
