//go:build unix

package benchinfo

import (
	"syscall"
	"time"
)

// CPUTime returns the user and system CPU time the process has used so far,
// all its threads together.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return rusageTime(&ru)
}

// ChildCPUTime returns the user and system CPU time of an exited child
// process, from its ProcessState.SysUsage.
func ChildCPUTime(sysUsage any) time.Duration {
	ru, ok := sysUsage.(*syscall.Rusage)
	if !ok || ru == nil {
		return 0
	}
	return rusageTime(ru)
}

func rusageTime(ru *syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
