//go:build race

package openaibench_test

const raceEnabled = true
