//go:build !race

package kv

// raceEnabled: the tests run under the race detector, about ten times
// slower; the longest ones do less.
const raceEnabled = false
