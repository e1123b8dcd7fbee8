//go:build !race

// Package racedetector says whether the build runs under the race
// detector, for tests whose allocation counts it changes: its
// instrumentation allocates, and sync.Pool drops what it keeps.
package racedetector

// Enabled is true when the program (or test) is built with -race.
const Enabled = false
