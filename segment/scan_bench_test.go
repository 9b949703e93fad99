package segment

import (
	"fmt"
	"io"
	"testing"
)

// buildManyRuns builds a segment of n commits, each putting one key into a
// run of its own (the segment names n runs).
func buildManyRuns(t testing.TB, n int) []byte {
	h := NewHeader(1, 1, 1_700_000_000_000_000)
	enc := NewEncoder(h)
	data := h.Encode()
	var err error
	for i := 0; i < n; i++ {
		ents := []EntrySpec{{Op: OpPut, Run: fmt.Sprintf("run-%09d", i), Key: "k", Value: []byte("v")}}
		data, _, err = enc.AppendCommit(data, int64(len(data)), HeaderSize, enc.Next(), h.BaseTime, ents, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	return data
}

// BenchmarkScanManyRuns scans segments whose every commit names a new
// run: ns/frame must not grow with the number of runs named (each name is
// checked against the segment's runs in a map).
func BenchmarkScanManyRuns(b *testing.B) {
	for _, n := range []int{5_000, 40_000} {
		data := buildManyRuns(b, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				sc, err := NewScanner(data)
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := sc.Next(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/frame")
		})
	}
}
