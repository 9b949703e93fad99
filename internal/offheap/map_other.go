//go:build !unix || race

package offheap

import "unsafe"

// Enabled says arenas map their memory: not off Unix, nor under the race
// detector (which sees only Go memory, so that -race checks every access
// to an arena's buffers).
const Enabled = false

func mapAnon(int) unsafe.Pointer { return nil }

func unmap(unsafe.Pointer, int) {}
