//go:build race

package privacy

// raceEnabled is set when the tests run with the race detector.
const raceEnabled = true
