package replica

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// Probe: a follower removed with Leave and added again with Join (still
// running, same address) receives what was written meanwhile, at the
// same versions as the others.
func TestReviewProbeLeaveRejoin(t *testing.T) {
	c := newCluster(t, 3, nil)
	leader := c.leader()
	f := (c.index(leader) + 1) % 3
	c.put("r", "a", kv.Int(1))
	require.NoError(t, leader.Leave(c.nodes[f].ID()))
	for i := range 10 {
		c.put("r", fmt.Sprintf("k%d", i), kv.Int(int64(i)))
	}
	require.NoError(t, c.leader().Join(c.nodes[f].ID(), c.addrs[f]))
	v := c.put("r", "z", kv.Int(1))
	c.caughtUp(v)
	// 12 puts; a retried Put of unknown outcome may have written twice.
	lh, err := c.leader().Changes("r", "", 0, 0, ReadOptions{})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(lh), 12)
	require.LessOrEqual(t, len(lh), 12+c.putUnknowns)
	for _, nd := range c.nodes {
		h, err := nd.Changes("r", "", 0, 0, ReadOptions{Stale: true})
		require.NoError(t, err)
		require.Len(t, h, len(lh), nd.ID())
		require.Equal(t, v, h[len(h)-1].Version)
	}
}

// Probe: malformed bodies and query parameters never get a 500 or a
// dropped connection (a handler panic).
func TestReviewProbeBadInput(t *testing.T) {
	c := newCluster(t, 1, nil)
	urls := serve(t, c)
	deep := strings.Repeat("[", 200) + strings.Repeat("]", 200)
	bodies := []string{"", "null", "[]", "{", `{"run":"r","key":"k"}`, `{"run":"r","key":"k","value":` + deep + `}`,
		`{"run":"r","key":"k","value":1e999}`, `{"run":"r","key":"k","value":99999999999999999999}`,
		`{"run":"r","key":"k","value":{"$float":"x"}}`, `{"run":"r","key":"k","value":{"$bytes":"!!"}}`,
		`{"run":"","key":"k","value":1}`, `{"run":"r","key":"_strata/x","value":1}`, `{"run":"r\u0000","key":"k","value":1}`,
		`{"run":"r","key":"k","value":1,"expected_version":-1}`, `{"run":"r","key":"k","value":1,"expected_version":1,"expected_value":1}`,
		`{"run":"r","key":"k","value":1,"expected_value":{"$float":"bad"}}`, `{"run":"r","key":"k","delta":"x"}`,
		`{"id":""}`, `{"id":"x","raft_addr":"","http_addr":""}`}
	for _, ep := range []string{"put", "delete", "incr", "cas", "join", "leave"} {
		for _, b := range bodies {
			req, _ := http.NewRequest("POST", urls[0]+"/v1/"+ep, strings.NewReader(b))
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err, "%s %s", ep, b)
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Errorf("POST /v1/%s %.80s: %d", ep, b, resp.StatusCode)
			}
		}
	}
	for _, q := range []string{"get?run=r&key=k&at=x", "get?run=r&key=k&at=-1", "get?run=&key=k", "get?run=r&key=", "history?run=r&key=k&limit=x",
		"history?run=r&key=k&before=-1", "history?run=r&key=k&limit=-5", "scan?run=r&limit=99999999999999999999", "scan?run=r&cursor=zz",
		"scan?run=r&prefix=%00", "changes?run=r&after=x", "changes?run=r&limit=-1", "get?run=r&key=%ff"} {
		req, _ := http.NewRequest("GET", urls[0]+"/v1/"+q, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, q)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("GET /v1/%s: %d", q, resp.StatusCode)
		}
	}
}
