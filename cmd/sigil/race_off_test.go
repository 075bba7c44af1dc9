//go:build !race

package main

// raceEnabled reports whether the tests run under the race detector, which
// makes bcrypt about twenty times slower.
const raceEnabled = false
