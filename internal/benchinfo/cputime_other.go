//go:build !unix

package benchinfo

import "time"

// CPUTime is unknown here: 0, and timings fall back on the wall clock.
func CPUTime() time.Duration { return 0 }

// ChildCPUTime is unknown here: 0.
func ChildCPUTime(any) time.Duration { return 0 }
