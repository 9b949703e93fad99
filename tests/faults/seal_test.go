package faults_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-kv/strata/internal/kvtest"
	"github.com/strata-kv/strata/kv"
	"github.com/stretchr/testify/require"
)

func val(i int) kv.Value {
	return kv.String(fmt.Sprintf("value %d padded to fill the segment quickly", i))
}

// A roll whose close(2) of the old segment fails: the database fails, but
// (as roll's comment promises) reads go on. Every acknowledged value must
// still read back.
func TestMappedReadsAfterSealCloseFails(t *testing.T) {
	fs := newFaultFS()
	dir := t.TempDir()
	db, err := kvtest.OpenFS(fs, dir, &kv.Options{SyncInterval: time.Hour, SegmentSize: 8 << 10})
	require.NoError(t, err)
	var fired atomic.Bool
	fs.onClose = func(path string) error {
		if isSeg(path) && fired.CompareAndSwap(false, true) {
			return errInjected
		}
		return nil
	}
	acked := putUntilFailure(db, 1000)
	require.True(t, fired.Load(), "a roll happened")
	requireAcked(t, db, acked)
	db.Close()
}
