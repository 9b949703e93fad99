package prefetch

import (
	"testing"
	"unsafe"
)

// Line on every byte of a buffer changes nothing in it. (go test -tags
// purego runs the portable Line.)
func TestLineChangesNothing(t *testing.T) {
	b := make([]byte, 4096)
	for i := range b {
		b[i] = byte(i)
	}
	for i := range b { // every alignment (the portable Line loads a word)
		Line(unsafe.Pointer(&b[i]))
	}
	for i := range b {
		if b[i] != byte(i) {
			t.Fatalf("byte %d is %d after Line", i, b[i])
		}
	}
}

// BenchmarkLine is one call.
func BenchmarkLine(b *testing.B) {
	buf := make([]byte, 64)
	for b.Loop() {
		Line(unsafe.Pointer(&buf[0]))
	}
}
