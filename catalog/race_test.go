//go:build race

package catalog

// raceEnabled shrinks the million-row test under -race, which makes it
// many times slower; `go test -run Million ./catalog` runs all of it.
const raceEnabled = true
