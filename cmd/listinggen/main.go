// Command listinggen serves the listing API and runs its maintenance tasks.
// main only wires the process to run, so that tests drive run directly.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startProfile(os.Getenv("CPU_PROFILE"), os.Getenv("MUTEX_PROFILE"), os.Getenv("BLOCK_PROFILE"))
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stopProfile()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "listinggen:", err)
		os.Exit(1)
	}
}

// startProfile writes the whole process's CPU profile to cpuPath, its
// mutex contention to mutexPath and where its goroutines wait to blockPath
// (any empty: not profiled), so that a batch run as a child process, as
// the benchmarks run it, can be profiled as it is measured. The returned
// func writes and closes them.
func startProfile(cpuPath, mutexPath, blockPath string) func() {
	var cpu *os.File
	if cpuPath != "" {
		f, err := os.Create(cpuPath)
		if err == nil {
			if err = pprof.StartCPUProfile(f); err != nil {
				f.Close()
			} else {
				cpu = f
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "listinggen: CPU_PROFILE: not profiling:", err)
		}
	}
	if mutexPath != "" {
		runtime.SetMutexProfileFraction(5)
	}
	if blockPath != "" {
		runtime.SetBlockProfileRate(int(time.Microsecond))
	}
	return func() {
		if cpu != nil {
			pprof.StopCPUProfile()
			cpu.Close()
		}
		writeProfile("mutex", mutexPath)
		writeProfile("block", blockPath)
	}
}

// writeProfile writes the named runtime profile to path (empty: none).
func writeProfile(name, path string) {
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "listinggen: %s profile: %v\n", name, err)
		return
	}
	defer f.Close()
	_ = pprof.Lookup(name).WriteTo(f, 0)
}
