//go:build unix

package dedupeval

import (
	"syscall"
	"time"
)

// cpuTime is the process's processor time so far: on a machine shared
// with other work, what a timing on one core means.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
