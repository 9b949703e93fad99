package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Review 56. Malformed addresses in -join, -raft-advertise and
// -http-advertise are taken as they are: the server starts and serves,
// and nothing says the flag is wrong. The flags' help says host:port,
// and the server itself refuses such addresses in another node's join
// (server.go checkMember: "join: address %q: want host:port"), but not
// its own:
//   - -join without a port: join() retries every 500 ms forever, logging
//     nothing; the node never joins, and run returns nil when stopped;
//   - -raft-advertise without a port, with -bootstrap: the cluster is
//     bootstrapped with that address as its only voter's, for good;
//   - -http-advertise without a port: registered as the leader's HTTP
//     address, to which followers forward.
//
// Each must end run with an error that names the flag (here, within 6 s;
// the four cases run in parallel).
func TestReview56MalformedAddressFlagsAreRefused(t *testing.T) {
	tok := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tok, []byte("tok-review56"), 0o600))
	for _, tc := range []struct{ name, flag, value string }{
		{"join without a port", "-join", "127.0.0.1"},
		{"join given as a URL", "-join", "http://127.0.0.1:7070"},
		{"raft-advertise without a port", "-raft-advertise", "node1.example"},
		{"http-advertise without a port", "-http-advertise", "node1.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
			defer cancel()
			args := []string{"-id", "n1", "-dir", filepath.Join(dir, "n1"), "-http", freeAddr(t), "-raft", freeAddr(t), "-token-file", tok, tc.flag, tc.value}
			if tc.flag != "-join" {
				args = append(args, "-bootstrap")
			}
			start := time.Now()
			err := run(ctx, args, io.Discard)
			served := ctx.Err() != nil
			require.False(t, served && err == nil,
				"%s %q was accepted: the server served for %v and run returned nil when stopped; want an error naming the flag at start",
				tc.flag, tc.value, time.Since(start).Round(time.Second))
			require.Error(t, err)
		})
	}
}

// Review 56. -http 127.0.0.1:0 serves on a port the kernel picks, but the
// server advertises the literal "127.0.0.1:0" (o.httpAdvertise defaults
// to the flag's text, main.go parse): that is the address it joins with
// and registers in the cluster, so followers forward to port 0, and its
// "serving" log line names port 0 too. -raft 127.0.0.1:0, by contrast,
// advertises the port the listener got (replica.Config: "127.0.0.1:0"
// picks a port). Here n2 joins with -http 127.0.0.1:0, and the cluster
// records "127.0.0.1:0" as its HTTP address.
func TestReview56HTTPPortZeroIsAdvertisedAsPortZero(t *testing.T) {
	t.Setenv("STRATA_TOKEN", "tok-review56")
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	http1 := freeAddr(t)
	errs := make(chan error, 2)
	go func() {
		errs <- run(ctx, []string{"-id", "n1", "-dir", filepath.Join(dir, "n1"), "-http", http1, "-raft", freeAddr(t), "-bootstrap"}, io.Discard)
	}()
	var log bytes.Buffer
	lw := &lockedWriter{w: &log}
	go func() {
		errs <- run(ctx, []string{"-id", "n2", "-dir", filepath.Join(dir, "n2"), "-http", "127.0.0.1:0", "-raft", freeAddr(t), "-join", http1}, lw)
	}()
	defer func() {
		cancel()
		for range 2 {
			<-errs
		}
	}()
	var n2 any
	deadline := time.Now().Add(20 * time.Second)
	for {
		req, _ := http.NewRequest("GET", "http://"+http1+"/v1/status", nil)
		req.Header.Set("Authorization", "Bearer tok-review56")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var out map[string]any
			json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if m, ok := out["members"].(map[string]any); ok && m["n2"] != nil && m["n2"] != "" {
				n2 = m["n2"]
				break
			}
		}
		require.True(t, time.Now().Before(deadline), "n2 did not join")
		time.Sleep(20 * time.Millisecond)
	}
	require.NotEqual(t, "127.0.0.1:0", n2,
		"the cluster records n2's HTTP address as %v, where nobody can reach it (followers forward writes there once n2 leads); n2's log: %s",
		n2, firstLine(lw.String(), "serving"))
}

// lockedWriter is an io.Writer safe for the server's log and the test.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func firstLine(s, with string) string {
	for _, line := range bytes.Split([]byte(s), []byte("\n")) {
		if bytes.Contains(line, []byte(with)) {
			return string(line)
		}
	}
	return "(no line with " + with + ")"
}
