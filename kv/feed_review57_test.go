package kv

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReview57FeedSpinsOnOtherRuns follows the change feed exactly as
// WaitFor's doc comment (and ExampleDB_Changes) write it. After one
// change of run "a" the only later commit is to run "b": Changes("a",
// after) is empty. The loop the docs gave until review 57 then called
// WaitFor(after+1), which returned at once (b's version is committed):
// it spun, re-reading every frame after `after` on each turn, for as
// long as run "a" got no commit. The feed must block instead.
func TestReview57FeedSpinsOnOtherRuns(t *testing.T) {
	db, err := Open("", &Options{Durability: InMemory})
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Put("a", "k", Int(1))
	require.NoError(t, err)
	_, err = db.Put("b", "k", Int(1)) // another run's commit, the last one
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	after, calls, seen := Version(0), 0, 0
	for ctx.Err() == nil {
		calls++
		last := db.LastVersion()
		cs, err := db.Changes("a", "", after, 0)
		require.NoError(t, err)
		for _, c := range cs {
			after = c.Version
			seen++
		}
		if len(cs) == 0 {
			after = max(after, last)
			if err := db.WaitFor(ctx, after+1); err != nil {
				break // ctx done: what a blocked feed does
			}
		}
	}
	require.Equal(t, 1, seen)
	// A feed that waits for the next commit calls Changes twice here:
	// once for the change, once to find nothing more.
	require.LessOrEqual(t, calls, 3, "the documented feed loop called Changes %d times in 300 ms with nothing committed: it busy-spins", calls)
}
