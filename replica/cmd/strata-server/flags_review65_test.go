package main

import (
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Review 65. 847bea2 lets every address flag take a service name for
// its port (net.LookupPort), but -join (and -http-advertise) are not
// given to net.Listen/Dial: they are pasted into URLs
// (scheme+"://"+o.join+"/v1/join" in join, scheme+"://"+addr in the
// server's forwarding to the leader), and net/url takes only digits for
// a port. parse accepts "-join 127.0.0.1:http"; the node is then created
// (its data directory, raft state) and the join fails at once with
// `parse "http://127.0.0.1:http/v1/join": invalid port ":http" after
// host` (a -http-advertise so spelled is stored in the cluster's
// configuration and every forward to that node fails the same way).
func TestReview65JoinWithServiceNamePortAcceptedButUnusable(t *testing.T) {
	t.Setenv("STRATA_TOKEN", "tok-review65")
	args := []string{"-id", "n9", "-dir", filepath.Join(t.TempDir(), "n9"), "-http", freeAddr(t), "-raft", freeAddr(t), "-join", "127.0.0.1:http"}
	_, perr := parse(args, io.Discard)
	if perr != nil {
		return // refused up front: fine
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, io.Discard) }()
	select {
	case err := <-done:
		require.NoError(t, err, "parse accepted -join 127.0.0.1:http, yet the join cannot even build its request")
	case <-time.After(3 * time.Second):
		// Still trying to join (nothing listens on port 80): the address was usable.
		cancel()
		<-done
	}
}
