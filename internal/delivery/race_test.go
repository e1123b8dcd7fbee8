//go:build race

package delivery

// raceEnabled is set when the tests run with the race detector.
const raceEnabled = true
