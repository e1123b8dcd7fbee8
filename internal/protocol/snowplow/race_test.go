//go:build race

package snowplow

// raceEnabled is set when the tests run with the race detector.
const raceEnabled = true
