//go:build race

package kv_test

// raceOn is the external tests' raceEnabled: they run fewer seeds under
// the race detector, which makes them ten times slower.
const raceOn = true
