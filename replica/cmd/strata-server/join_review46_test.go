package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Review 46 found this defect (the text below says what it was); fixed
// since, and this test keeps it fixed.
//
// A node whose join is refused (here 401: the member it joins through has
// another token) cannot serve: join() gives up (main.go:229), the
// goroutine in run logs "join failed" and cancels the context
// (main.go:189-190), and run then takes the path of a normal shutdown
// and returns node.Close()'s nil (main.go:207). main exits 0: a
// supervisor (systemd's Restart=on-failure, a script's `&&`, a
// container's restart policy) sees a clean exit of a node that never
// joined. run must return the join's error.
func TestReview46RefusedJoinExitsNonZero(t *testing.T) {
	t.Setenv("STRATA_TOKEN", "tok-review46")
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"a valid bearer token is required","code":"unauthorized"}`)
	}))
	defer member.Close()

	dir := t.TempDir()
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		done <- run(ctx, []string{"-id", "n9", "-dir", filepath.Join(dir, "n9"), "-http", freeAddr(t), "-raft", freeAddr(t),
			"-join", strings.TrimPrefix(member.URL, "http://")}, io.Discard)
	}()
	select {
	case err := <-done:
		require.Error(t, err, "the join was refused (401), yet run returned nil: strata-server exits 0")
	case <-time.After(20 * time.Second):
		cancel()
		<-done
		t.Fatal("run did not return after its join was refused")
	}
}
