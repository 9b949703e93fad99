package kv

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/strata-kv/strata/segment"
)

// counters are the commit pipeline's figures since Open, for Stats.
type counters struct {
	commits atomic.Int64
	groups  atomic.Int64
	fsyncs  latencies
}

// latencies is a histogram of durations: each power of two is split in
// four equal buckets (so a bucket's upper bound is at most 25% above any
// duration in it).
type latencies struct {
	n       atomic.Int64
	buckets [4 * 64]atomic.Int64
}

func bucketOf(d time.Duration) int {
	if d < 1 {
		return 0
	}
	// 4*log2(d), from the top bit and the next two.
	hi := 63 - bits.LeadingZeros64(uint64(d))
	frac := 0
	if hi >= 2 {
		frac = int(uint64(d)>>(hi-2)) & 3
	}
	return 4*hi + frac
}

// upper returns the least duration above every one in bucket b.
func upper(b int) time.Duration {
	hi, frac := b/4, b%4
	if hi < 2 {
		return 2 << hi // below 4 ns: one bucket per power of two
	}
	if hi >= 62 {
		return math.MaxInt64 // durations of 146 years and more
	}
	return time.Duration(uint64(4+frac+1) << (hi - 2))
}

func (l *latencies) record(d time.Duration) {
	l.buckets[bucketOf(d)].Add(1)
	l.n.Add(1)
}

// quantile returns an upper bound of the q-quantile (0 < q <= 1), at most
// 25% above it; 0 if nothing was recorded.
func (l *latencies) quantile(q float64) time.Duration {
	n := l.n.Load()
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	var seen int64
	for b := range l.buckets {
		if seen += l.buckets[b].Load(); seen >= rank {
			return upper(b)
		}
	}
	return upper(len(l.buckets) - 1)
}

// fsync makes what w has written durable (an fsync, unless the last one
// covered it all); w's OnSync hook counts and times the fsyncs.
func (db *DB) fsync(w *segment.Writer) error { return w.Sync() }
