package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type proc struct {
	cancel context.CancelFunc
	done   chan error
}

func startServer(t *testing.T, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &proc{cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- run(ctx, args, io.Discard) }()
	t.Cleanup(p.stop)
	return p
}

func (p *proc) stop() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	<-p.done
	p.cancel = nil
}

func plainCall(method, url, body string) (int, map[string]any) {
	req, err := http.NewRequest(method, url, bytes.NewBufferString(body))
	if err != nil {
		return 0, nil
	}
	req.Header.Set("Authorization", "Bearer tok-review")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func members(url string) map[string]any {
	st, out := plainCall("GET", url+"/v1/status", "")
	if st != 200 {
		return nil
	}
	m, _ := out["members"].(map[string]any)
	return m
}

func poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// A node that left the cluster (/v1/leave) and is started again with
// -join must join again. join() (main.go:209) skips the join when the
// node's own database still records its HTTP address, and a removed node
// never applies the leader's SetMember(id, "") that follows its removal:
// it restarts outside the cluster, for good, without an error.
// (The third node joins through a follower: that part works.)
func TestReviewRejoinAfterLeave(t *testing.T) {
	t.Setenv("STRATA_TOKEN", "tok-review")
	dir := t.TempDir()
	h1, r1, h2, r2, h3, r3 := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	startServer(t, "-id", "n1", "-dir", filepath.Join(dir, "n1"), "-http", h1, "-raft", r1, "-bootstrap")
	u1 := "http://" + h1
	require.True(t, poll(20*time.Second, func() bool {
		st, out := plainCall("GET", u1+"/v1/status", "")
		return st == 200 && out["leader_http"] == h1
	}), "n1 leads")
	startServer(t, "-id", "n2", "-dir", filepath.Join(dir, "n2"), "-http", h2, "-raft", r2, "-join", h1)
	require.True(t, poll(20*time.Second, func() bool { return members(u1)["n2"] == h2 }), "n2 joined")
	n3args := []string{"-id", "n3", "-dir", filepath.Join(dir, "n3"), "-http", h3, "-raft", r3, "-join", h2}
	n3 := startServer(t, n3args...)
	require.True(t, poll(20*time.Second, func() bool { return members(u1)["n3"] == h3 }), "n3 joined through the follower n2")

	st, out := plainCall("POST", u1+"/v1/leave", `{"id":"n3"}`)
	require.Equal(t, 200, st, "%v", out)
	require.True(t, poll(10*time.Second, func() bool { _, in := members(u1)["n3"]; return !in }), "n3 left")
	n3.stop()

	startServer(t, n3args...)
	rejoined := poll(10*time.Second, func() bool { return members(u1)["n3"] == h3 })
	require.True(t, rejoined, "n3 restarted with -join but is not a member again: %v", members(u1))
}
