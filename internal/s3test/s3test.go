// Package s3test runs s3rver, a real S3-compatible server (Node.js), on a
// free loopback port for tests, so the S3 blob store is tested against S3's
// HTTP protocol rather than a mock. scripts/install-s3rver.sh installs it
// into tools/s3rver and scripts/test.sh names it in TEST_S3RVER.
package s3test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Credentials and region s3rver accepts (its built-in account).
const (
	AccessKey = "S3RVER"
	SecretKey = "S3RVER"
	Region    = "us-east-1"
)

// Binary returns the s3rver executable: $TEST_S3RVER, else the repository's
// tools/s3rver install if it is there, else "".
func Binary() string {
	if p := os.Getenv("TEST_S3RVER"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "tools", "s3rver", "node_modules", ".bin", "s3rver")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

// Server is one s3rver process, storing into a temporary directory.
type Server struct {
	// Endpoint is http://127.0.0.1:PORT.
	Endpoint string

	cmd  *exec.Cmd
	out  *syncBuffer
	once sync.Once
	done chan struct{}
}

var listening = regexp.MustCompile(`S3rver listening on 127\.0\.0\.1:(\d+)`)

// Start runs a server for the test and stops it when the test ends. Without
// s3rver the test is skipped, or fails under CI=true: a skipped store is
// not a tested one.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true and s3rver is not installed: run scripts/install-s3rver.sh or set TEST_S3RVER")
		}
		t.Skip("s3rver is not installed (scripts/install-s3rver.sh installs it; TEST_S3RVER names another): skipping the S3 tests")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("TEST_S3RVER: %v", err)
	}
	s := &Server{out: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "--silent", "--address", "127.0.0.1", "--port", "0", "--directory", t.TempDir())
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start s3rver: %v", err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Stop)
	deadline := time.After(30 * time.Second) // node starts in about a second; -race and other packages share the cores
	for {
		if m := listening.FindStringSubmatch(s.out.String()); m != nil {
			s.Endpoint = "http://127.0.0.1:" + m[1]
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("s3rver exited before listening:\n%s", s.out.String())
		case <-deadline:
			s.Stop()
			t.Fatalf("s3rver did not start within 30 s:\n%s", s.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop kills the server and waits for it to exit; it can be called again.
func (s *Server) Stop() {
	s.once.Do(func() {
		s.cmd.Process.Kill()
		<-s.done
	})
}

// Output returns what the server printed (its errors), for failure messages.
func (s *Server) Output() string { return s.out.String() }

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
