package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's log writes and the
// test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is a running `listinggen serve`, started through run exactly as
// main starts it, on a random loopback port.
type server struct {
	t    testing.TB
	url  string
	logs *syncBuffer
	stop func() error
}

var listenLine = regexp.MustCompile(`msg=listening addr=(http://127\.0\.0\.1:\d+)`)

func startServer(t testing.TB, dataDir string, extraEnv map[string]string) *server {
	t.Helper()
	// The image stage is off unless a test turns it on: the sample
	// catalogue's image host would be looked up in DNS, and tests send
	// traffic to loopback only.
	env := map[string]string{"DATA_DIR": dataDir, "LISTEN_ADDR": "127.0.0.1:0", "LOG_FORMAT": "text", "IMAGES": "off"}
	for k, v := range extraEnv {
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, logs)
	}()
	deadline := time.Now().Add(60 * time.Second) // generous: -race, and other packages share the cores
	for {
		if m := listenLine.FindStringSubmatch(logs.String()); m != nil {
			s := &server{t: t, url: m[1], logs: logs}
			var once sync.Once
			var stopErr error
			s.stop = func() error {
				once.Do(func() { cancel(); stopErr = <-errc })
				return stopErr
			}
			t.Cleanup(func() { _ = s.stop() })
			return s
		}
		select {
		case err := <-errc:
			cancel()
			t.Fatalf("server exited before listening: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server did not start:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// do sends a request with a JSON (or raw []byte) body and decodes the reply.
func (s *server) do(method, path string, body any, out any) *http.Response {
	s.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, s.url+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			s.t.Fatalf("%s %s: status %d, body %q: %v", method, path, resp.StatusCode, data, err)
		}
	}
	return resp
}

// problem is the RFC 9457 body every error has.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
	RequestID string `json:"request_id"`
}

func (p problem) fields() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}
