package segment

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/strata-kv/strata/internal/hashset"
)

// The review found dupKey's set probed linearly from the low bits of an
// unseeded hash of (run, key): a commit whose keys were chosen (offline,
// ~64 tries a key) to land in the first 1/64 of the table formed one
// cluster, quadratic in the commit's size, in the Encoder and again in
// the Scanner at every scan of its segment (64k such keys: 0.8 s to
// encode, 0.8 s a scan, against 15 and 6 ms). Counted in probes here (no
// clock): about 1.5 an Add, held to 4; and such a commit still encodes
// and scans.
func TestReview9DupKeyClusteredKeysNotQuadratic(t *testing.T) {
	const n = 1 << 16
	size := uint64(2 * n)
	rh := bits.RotateLeft64(xxhash.Sum64String("r"), 31)
	var crafted, plain [][2]string
	var ents []EntrySpec
	for i := 0; len(crafted) < n; i++ {
		k := fmt.Sprintf("user:%d", i)
		if (rh^xxhash.Sum64String(k))&(size-1) < size/64 {
			crafted = append(crafted, [2]string{"r", k})
			ents = append(ents, put("r", k, "v"))
		}
	}
	r := rand.New(rand.NewPCG(1, 1))
	for range n {
		plain = append(plain, [2]string{"r", fmt.Sprintf("user:%d", r.Uint64())})
	}
	for name, pairs := range map[string][][2]string{"crafted": crafted, "plain": plain} {
		var set hashset.Set
		if k, dup := dupKey(pairs, &set); dup {
			t.Fatalf("%s: %q reported twice", name, k)
		}
		if p := set.Probes(); p > 4*len(pairs) {
			t.Errorf("%s keys: %d probes for %d pairs", name, p, len(pairs))
		}
	}
	s := newSeg(1)
	s.commit(t, ents...)
	if _, _, err := scanAll(t, s.data); err != nil {
		t.Fatal(err)
	}
}
