//go:build !race

package kv_test

// raceOn is the external tests' raceEnabled (see race_ext_test.go).
const raceOn = false
