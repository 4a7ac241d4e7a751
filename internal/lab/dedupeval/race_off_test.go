//go:build !race

package dedupeval

const raceEnabled = false
