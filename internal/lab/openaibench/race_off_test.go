//go:build !race

package openaibench_test

const raceEnabled = false
