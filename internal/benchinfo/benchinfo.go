// Package benchinfo describes the machine a benchmark runs on. Every
// benchmark prints it, because figures from different processors cannot be
// compared and a ratio against libvips depends on the libvips version; and
// it measures the CPU time a benchmark used, which on a shared machine
// moves far less with other load than the wall-clock time does.
package benchinfo

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// CPU describes the processor from /proc/cpuinfo: model name,
// family/model/stepping (the name alone is often just "AMD EPYC"), the
// number of CPUs and how many Go may use.
func CPU() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return fmt.Sprintf("unknown (%s/%s), NumCPU=%d, GOMAXPROCS=%d", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			if len(fields) > 0 {
				break // the end of the first processor's block
			}
			continue
		}
		k = strings.TrimSpace(k)
		if _, seen := fields[k]; !seen {
			fields[k] = strings.TrimSpace(v)
		}
	}
	return fmt.Sprintf("%s (family %s model %s stepping %s), NumCPU=%d, GOMAXPROCS=%d", fields["model name"],
		fields["cpu family"], fields["model"], fields["stepping"], runtime.NumCPU(), runtime.GOMAXPROCS(0))
}

// Libvips returns the version the vips command on the PATH reports (the
// libvips that vipsthumbnail, installed with it, runs on), or says that
// there is none.
func Libvips() string {
	out, err := exec.Command("vips", "--version").Output()
	if err != nil {
		return "libvips not installed"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

// Line is the one-line description benchmarks print first.
func Line() string {
	return fmt.Sprintf("machine: cpu %s; %s; %s", CPU(), Libvips(), runtime.Version())
}

// Run runs a package's tests and benchmarks (from its TestMain), printing
// Line first when benchmarks were asked for.
func Run(m *testing.M) int {
	flag.Parse()
	if b := flag.Lookup("test.bench"); b != nil && b.Value.String() != "" {
		fmt.Println(Line())
	}
	return m.Run()
}
