package kv

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/internal/vfs"
)

// With Retention keeping everything, a merge drops nothing, so no
// snapshot can need anything it would drop. Yet a ViewAt at an old
// version that begins while the merge writes its output makes the switch
// abandon it (errPinned), and Compact, which before this change returned
// nil at once when Retention keeps all, now fails after
// maxCompactAttempts such abandoned merges. Fixed: a job that dropped
// nothing is switched in whatever is pinned.
func TestReview39KeepAllMergeAbandonedByViewAt(t *testing.T) {
	mem := vfs.NewMem()
	opts := Options{SegmentSize: 64 << 10, CompactAt: -1}
	n := mergeMin + 2
	memOpenCloses(t, mem, opts, n)
	efs := vfs.NewErrorFS(mem, -1, false)
	db, err := openMem(t, efs, opts)
	require.NoError(t, err)
	defer db.Close()

	// A reader doing time travel: a ViewAt(1) that starts while the merge
	// writes its output and ends when the merge gives it up.
	var mu sync.Mutex
	var release chan struct{}
	var ended chan struct{}
	views := 0
	efs.SetAfter(func(op vfs.Op) {
		if !strings.Contains(op.Path, ".seg") {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case op.Kind == vfs.OpCreate && release == nil:
			release, ended = make(chan struct{}), make(chan struct{})
			pinned := make(chan struct{})
			rel, end := release, ended
			go func() {
				defer close(end)
				_ = db.ViewAt(1, func(tx *Txn) error {
					close(pinned)
					<-rel
					return nil
				})
			}()
			<-pinned
			views++
		case op.Kind == vfs.OpRemove && release != nil:
			close(release)
			<-ended
			release = nil
		}
	})
	st, err := db.Compact(t.Context())
	efs.SetAfter(nil)
	mu.Lock()
	if release != nil {
		close(release)
		<-ended
	}
	mu.Unlock()
	t.Logf("views during the merge: %d, stats %+v", views, st)
	require.NoError(t, err, "Retention keeps everything: the merge drops nothing a snapshot could need")
}
