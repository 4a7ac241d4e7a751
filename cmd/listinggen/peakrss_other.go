//go:build !unix

package main

// peakRSS is not measured where getrusage is missing.
func peakRSS() (int64, bool) { return 0, false }
