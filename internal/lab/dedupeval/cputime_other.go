//go:build !unix

package dedupeval

import "time"

// cpuTime is unknown here; timings fall back on the wall clock.
func cpuTime() time.Duration { return 0 }
