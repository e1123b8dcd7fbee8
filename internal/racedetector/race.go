//go:build race

package racedetector

// Enabled is true when the program (or test) is built with -race.
const Enabled = true
