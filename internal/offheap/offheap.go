// Package offheap hands out memory that the Go heap does not hold, for
// large, short-lived, pointer-free buffers: a hint build's records, keys
// and sort keys (tens of megabytes a segment).
//
// Why: memory the garbage collector frees is not given back to the
// system at once. The runtime keeps it for reuse and its scavenger
// returns it slowly, so a 64 MB buffer that lived for a tenth of a
// second stays in the process's resident memory for seconds after, on
// top of whatever is allocated next. Memory an Arena maps is returned to
// the system the moment Free unmaps it, and while it lives it does not
// raise the heap the collector paces itself by.
//
// The cost: an allocation is a system call (small ones come from the
// heap, see minMapped), and nothing catches a use after Free: a slice
// kept past Free reads and writes whatever is mapped at its address next
// (another arena's memory, a file's mapping), or faults if nothing is.
// So an owner must never let a slice of its arena outlive it. Under the
// race detector, which sees only Go memory, and off Unix, everything
// comes from the heap.
package offheap

import (
	"fmt"
	"reflect"
	"runtime"
	"unsafe"
)

// minMapped is the smallest allocation an Arena maps; smaller ones come
// from the Go heap (a mapping costs two system calls and a page at least).
const minMapped = 64 << 10

// Arena allocates pointer-free memory outside the Go heap and returns
// all of it to the system at once in Free. The zero Arena is ready to
// use. An Arena that becomes unreachable without Free is freed by the
// garbage collector (a safety net; Free returns the memory at once).
// Its methods are not safe for concurrent use.
type Arena struct {
	o *owner
}

// owner is the heap object whose collection frees the arena's mappings
// when Free was never called.
type owner struct {
	m *mappings
}

// mappings lists what an arena has mapped.
type mappings struct {
	list []unsafe.Pointer
	lens []int
}

// free unmaps every mapping in m.
func (m *mappings) free() {
	for i, p := range m.list {
		unmap(p, m.lens[i])
	}
	m.list, m.lens = nil, nil
}

// Bytes returns n zeroed bytes, valid until Free.
func (a *Arena) Bytes(n int) []byte {
	return Slice[byte](a, n)
}

// Slice returns n zeroed Ts, valid until a's Free. T must hold no
// pointers (the collector never looks inside an arena): Slice panics if
// it does.
func Slice[T any](a *Arena, n int) []T {
	var zero T
	size := unsafe.Sizeof(zero)
	if n < 0 || (size > 0 && uintptr(n) > maxBytes/size) {
		panic(fmt.Sprintf("offheap: %d elements of %d bytes", n, size))
	}
	if hasPointers(reflect.TypeFor[T]()) {
		panic(fmt.Sprintf("offheap: %v holds pointers", reflect.TypeFor[T]()))
	}
	bytes := int(size) * n
	if !Enabled || bytes < minMapped {
		return make([]T, n)
	}
	p := mapAnon(bytes)
	if p == nil {
		return make([]T, n) // the system refused: the heap then
	}
	if a.o == nil {
		a.o = &owner{m: &mappings{}}
		runtime.AddCleanup(a.o, (*mappings).free, a.o.m)
	}
	a.o.m.list = append(a.o.m.list, p)
	a.o.m.lens = append(a.o.m.lens, bytes)
	return unsafe.Slice((*T)(p), n)
}

// maxBytes bounds an allocation: half the address space.
const maxBytes = ^uintptr(0) >> 1

// Free returns every mapping of a to the system: no slice a returned may
// be used after. The arena can be used again.
func (a *Arena) Free() {
	if a.o != nil {
		a.o.m.free()
		// Until free is done the owner must stay reachable: else a
		// collection meanwhile could run the cleanup, which frees the
		// same mappings (twice unmapped, the second time perhaps
		// someone else's memory).
		runtime.KeepAlive(a.o)
	}
}

// Mapped returns the bytes a holds outside the Go heap.
func (a *Arena) Mapped() int {
	n := 0
	if a.o != nil {
		for _, l := range a.o.m.lens {
			n += l
		}
	}
	return n
}

// hasPointers reports whether a value of type t holds pointers.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	return true
}
