//go:build race

package dedupeval

// raceEnabled: the race detector slows scoring every test split tenfold.
const raceEnabled = true
