package replica

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strata-kv/strata/kv"
)

// embedded opens a plain kv.DB, the reference the replicated calls must
// match.
func embedded(t *testing.T) *kv.DB {
	t.Helper()
	db, err := kv.Open(filepath.Join(t.TempDir(), "ref"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// kv stores Null like any other value; the replicated Put refuses it,
// because command.Value (*kv.Value, command.go) marshals &Null as JSON
// null and decodes back as a nil pointer ("put without a value").
func TestReviewPutNullValue(t *testing.T) {
	ref := embedded(t)
	_, err := ref.Put("r", "k", kv.Null())
	require.NoError(t, err, "the embedded engine stores Null")

	c := newCluster(t, 1, nil)
	_, err = c.leader().Put("r", "k", kv.Null())
	require.NoError(t, err, "the replicated Put of a Null value")
}

// An Update that puts Null must store Null; the replica turns it into a
// deletion (txnWrite.Value decodes as nil, and applyUpdate deletes when
// w.Value == nil).
func TestReviewUpdatePutNullIsNotADelete(t *testing.T) {
	c := newCluster(t, 1, nil)
	leader := c.leader()
	_, err := leader.Put("r", "k", kv.Int(1))
	require.NoError(t, err)
	_, err = leader.Update(func(tx *Txn) error { return tx.Put("r", "k", kv.Null()) })
	require.NoError(t, err)
	got, ok, err := leader.Get("r", "k", ReadOptions{})
	require.NoError(t, err)
	require.True(t, ok, "Update put Null: the key must be live, holding Null (the replica deleted it)")
	require.Equal(t, kv.KindNull, got.Value.Kind())
}

// CompareAndSwapValue with expected = &Null means "the key holds Null",
// not "the key is absent" (nil). The replica sends &Null as JSON null,
// which decodes as nil: an absent key is swapped.
func TestReviewCASExpectedNullIsNotAbsent(t *testing.T) {
	null := kv.Null()
	ref := embedded(t)
	ok, err := ref.CompareAndSwapValue("r", "absent", &null, kv.Int(1))
	require.NoError(t, err)
	require.False(t, ok, "embedded: an absent key does not hold Null")

	c := newCluster(t, 1, nil)
	leader := c.leader()
	ok, err = leader.CompareAndSwapValue("r", "absent", &null, kv.Int(1))
	require.NoError(t, err)
	require.False(t, ok, "replicated: an absent key does not hold Null")
	_, found, err := leader.Get("r", "absent", ReadOptions{})
	require.NoError(t, err)
	require.False(t, found, "nothing written")
}

// A key that is not valid UTF-8 is refused by kv (ErrInvalidKey); the
// replica's JSON command encoding replaces the bad bytes with U+FFFD, so
// the write is accepted and lands on another key. A run ID may hold any
// byte but NUL: a write to run "r\xff" lands in run "r\uFFFD".
func TestReviewNonUTF8KeyAndRun(t *testing.T) {
	ref := embedded(t)
	_, err := ref.Put("r", "a\xffb", kv.Int(1))
	require.ErrorIs(t, err, kv.ErrInvalidKey, "embedded refuses the key")
	_, err = ref.Put("r\xff", "k", kv.Int(1))
	require.NoError(t, err, "embedded accepts the run")

	c := newCluster(t, 1, nil)
	leader := c.leader()
	_, errKey := leader.Put("r", "a\xffb", kv.Int(1))
	_, errRun := leader.Put("r\xff", "k", kv.Int(2))
	_, wrongKey, err := leader.Get("r", "a\uFFFDb", ReadOptions{})
	require.NoError(t, err)
	_, wrongRun, err := leader.Get("r\uFFFD", "k", ReadOptions{})
	require.NoError(t, err)
	_, rightRun, err := leader.Get("r\xff", "k", ReadOptions{})
	require.NoError(t, err)

	assert.ErrorIs(t, errKey, kv.ErrInvalidKey, "an invalid key must be refused")
	assert.False(t, wrongKey, "a write to key a\\xffb landed on key a\\uFFFDb")
	assert.NoError(t, errRun)
	assert.False(t, wrongRun, "a write to run r\\xff landed in run r\\uFFFD")
	assert.True(t, rightRun, "a write to run r\\xff must be read back from it")

	// A value is stored exactly by kv, also an Object whose field name is
	// not UTF-8; through the replica's JSON command the name becomes
	// U+FFFD (kv.Value's JSON form does not escape object keys).
	obj := kv.Object(map[string]kv.Value{"\xff": kv.Int(1)})
	_, err = ref.Put("r", "obj", obj)
	require.NoError(t, err)
	got, _, err := ref.Get("r", "obj")
	require.NoError(t, err)
	require.True(t, obj.Equal(got.Value), "embedded stores it exactly")
	_, err = leader.Put("r", "obj", obj)
	require.NoError(t, err)
	got, _, err = leader.Get("r", "obj", ReadOptions{})
	require.NoError(t, err)
	assert.True(t, obj.Equal(got.Value), "replicated Put stored %v for %v", got.Value, obj)
}

// An Update whose only write deletes an absent key writes nothing in kv
// ((0, nil)); the replica commits a new version anyway (applyUpdate
// reports a write whenever c.Writes is non-empty, so PutMeta commits).
func TestReviewUpdateNoopDeleteCommitsNothing(t *testing.T) {
	ref := embedded(t)
	v, err := ref.Update(func(tx *kv.Txn) error { _, err := tx.Delete("r", "absent"); return err })
	require.NoError(t, err)
	require.Zero(t, v, "embedded: nothing written")

	c := newCluster(t, 1, nil)
	leader := c.leader()
	before, err := leader.LastVersion(ReadOptions{})
	require.NoError(t, err)
	v, err = leader.Update(func(tx *Txn) error { return tx.Delete("r", "absent") })
	require.NoError(t, err)
	after, err := leader.LastVersion(ReadOptions{})
	require.NoError(t, err)
	require.Zero(t, v, "replicated Update that deleted nothing returned a version")
	require.Equal(t, before, after, "a command that writes nothing commits nothing (doc.go)")
}

// A versioned read (GetAt) names one point of the cluster's history,
// the same on every node. A stale GetAt on a follower that has not yet
// applied that version answers with what it has (kv's "at above
// LastVersion reads the latest", ops.go:176), so it claims a value the
// key did not hold at that version. It should wait for the version or
// refuse, not answer wrong.
func TestReviewStaleGetAtAboveApplied(t *testing.T) {
	c := newCluster(t, 3, nil)
	v1 := c.put("r", "k", kv.Int(1))
	c.caughtUp(v1)
	leader := c.leader()
	f := c.nodes[(c.index(leader)+1)%3]
	c.part.Isolate(f.RaftAddr())
	defer c.part.Heal()
	v2 := c.put("r", "k", kv.Int(2))

	got, err := f.GetAt("r", "k", v2, ReadOptions{Stale: true})
	if err == nil {
		require.True(t, kv.Int(2).Equal(got.Value),
			"stale GetAt(k, %d) on a follower that applied only up to %d answered %v (version %d): at %d k was 2", v2, v1, got.Value, got.Version, v2)
	}
}
