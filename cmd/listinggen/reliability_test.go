package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/listinggen/listinggen/internal/openaitest"
	"github.com/listinggen/listinggen/internal/sample"
)

// With no key, serve refuses any address but loopback and says how to
// create a key; on loopback it serves the default tenant until the first
// key exists, and says so in its log.
func TestSafeDefault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var logs bytes.Buffer
	env := map[string]string{"DATA_DIR": dir, "LISTEN_ADDR": "0.0.0.0:0"}
	err := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, &logs)
	if err == nil || !strings.Contains(err.Error(), "listinggen keys create --tenant") || !strings.Contains(err.Error(), "not a loopback address") {
		t.Fatalf("serve on 0.0.0.0 with no keys: %v", err)
	}

	s := startServer(t, dir, nil)
	if !strings.Contains(s.logs.String(), "no API keys") || !strings.Contains(s.logs.String(), "tenant=default") {
		t.Errorf("the start log does not say requests run as the default tenant:\n%s", s.logs.String())
	}
	shop := createShop(t, s, "本机店", "douyin")
	// Open mode can mint the first key (for the default tenant), which ends it.
	st, body, _ := s.call("", "POST", "/v1/keys", "application/json", []byte(`{"name":"first","scopes":["read"]}`))
	var created struct{ Token string }
	if st != 201 || json.Unmarshal(body, &created) != nil || !strings.HasPrefix(created.Token, "lgk_") {
		t.Fatalf("POST /v1/keys in open mode: %d %s", st, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _, _ := s.call("", "GET", "/v1/shops", "", nil)
		if st == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("keyless requests still answer %d after a key was created", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if st, body, _ := s.call(bearer(created.Token), "GET", "/v1/shops/"+shop.ID, "", nil); st != 200 {
		t.Errorf("the first key does not see the default tenant's shop: %d %s", st, body)
	}
}

// keys create / list / revoke, and the last-used time a request leaves.
func TestKeysCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir}
	keys := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"keys"}, args...), func(k string) string { return env[k] }, strings.NewReader(""), &out, io.Discard)
		return out.String(), err
	}
	for _, bad := range [][]string{{"create", "--scopes", "read"}, {"create", "--tenant", "t", "--scopes", "root"}, {"revoke"}, {"revoke", "0000000000000000"}, {"rotate"}} {
		if _, err := keys(bad...); err == nil {
			t.Errorf("keys %v succeeded", bad)
		}
	}
	token := createKey(t, dir, "acme", "read,write")
	id := keyID(token)
	out, err := keys("list")
	if err != nil || !regexp.MustCompile(id+`\s+acme\s+-\s+read,write\s+\S+\s+-\s+-`).MatchString(out) {
		t.Fatalf("keys list: %v\n%s", err, out)
	}
	if strings.Contains(out, strings.TrimPrefix(token, "lgk_"+id+"_")) {
		t.Fatal("keys list shows the secret")
	}
	s := startServer(t, dir, nil)
	if st, _, _ := s.call(bearer(token), "GET", "/v1/shops", "", nil); st != 200 {
		t.Fatalf("GET with the new key: %d", st)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ = keys("list", "--tenant", "acme")
		if !regexp.MustCompile(id + `.*\s-\s*$`).MatchString(strings.TrimSpace(out)) {
			t.Fatalf("list --tenant acme: %s", out)
		}
		if regexp.MustCompile(id + `\s+acme\s+-\s+read,write\s+\S+\s+\d{4}-\S+\s+-`).MatchString(out) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no last-used time after a request:\n%s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if out, err := keys("revoke", id); err != nil || !strings.Contains(out, "revoked "+id) {
		t.Fatalf("revoke: %v %s", err, out)
	}
	if st, _, _ := s.call(bearer(token), "GET", "/v1/shops", "", nil); st != 401 {
		t.Errorf("a revoked key still works: %d", st)
	}
	if out, _ := keys("list", "--tenant", "other"); strings.Contains(out, id) {
		t.Errorf("list --tenant other shows acme's key: %s", out)
	}
}

// Each key has its own token bucket: over the limit it answers 429 with
// Retry-After, and another key is not affected.
func TestRateLimitPerKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k1, k2 := createKey(t, dir, "t1", "read"), createKey(t, dir, "t2", "read")
	s := startServer(t, dir, map[string]string{"RATE_LIMIT_RPS": "0.5", "RATE_LIMIT_BURST": "3"})
	for i := range 3 {
		if st, body, _ := s.call(bearer(k1), "GET", "/v1/shops", "", nil); st != 200 {
			t.Fatalf("request %d within the burst: %d %s", i, st, body)
		}
	}
	st, body, hdr := s.call(bearer(k1), "GET", "/v1/shops", "", nil)
	if st != 429 || hdr.Get("Retry-After") != "2" || !strings.Contains(string(body), "rate_limited") {
		t.Fatalf("over the limit: %d Retry-After=%q %s", st, hdr.Get("Retry-After"), body)
	}
	if st, _, _ := s.call(bearer(k2), "GET", "/v1/shops", "", nil); st != 200 {
		t.Errorf("another key was limited too: %d", st)
	}
}

// The client address in the request log is the connection's peer; a
// forged X-Forwarded-For is believed only from a trusted proxy.
func TestClientIPIgnoresForwardedForUnlessTrusted(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		trusted, want string
	}{{"", "127.0.0.1"}, {"10.0.0.0/8", "127.0.0.1"}, {"127.0.0.1", "203.0.113.9"}} {
		s := startServer(t, t.TempDir(), map[string]string{"TRUSTED_PROXIES": c.trusted})
		s.call("", "GET", "/healthz", "", nil, "X-Forwarded-For", "203.0.113.9", "X-Real-IP", "203.0.113.9")
		if !strings.Contains(s.logs.String(), "uri=/healthz status=200") || !regexp.MustCompile(`uri=/healthz .*remote_ip=`+regexp.QuoteMeta(c.want)+`\b`).MatchString(s.logs.String()) {
			t.Errorf("TRUSTED_PROXIES=%q: want remote_ip=%s in\n%s", c.trusted, c.want, s.logs.String())
		}
	}
	if _, _, err := serverConfig(func(k string) string { return map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"}[k] }); err == nil {
		t.Error("a bad TRUSTED_PROXIES was accepted")
	}
}

// 50 concurrent POST /v1/generate with one Idempotency-Key: the pipeline
// runs once (one original response, every other answer is a replay of it
// or 409 while it runs), one listing set exists; then the same key with
// another body answers 422, and another tenant's same key is its own.
func TestIdempotencyKeyOnGenerate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k, other := createKey(t, dir, "t1", "read,write,admin"), createKey(t, dir, "t2", "read,write,admin")
	// The fake model is slow enough that the requests overlap.
	fake := openaitest.New(openaitest.Config{LatencyMin: 200 * time.Millisecond, LatencyMax: 300 * time.Millisecond})
	defer fake.Close()
	s := startServer(t, dir, map[string]string{"RATE_LIMIT_RPS": "0", "LLM_BASE_URL": fake.URL(), "LLM_MODEL": "fake-4o", "LLM_CACHE_SIZE": "0"})
	var shops []string
	for _, name := range []string{"一店", "二店"} {
		var shop struct{ ID string }
		_, body, _ := s.call(bearer(k), "POST", "/v1/shops", "application/json", []byte(`{"name":"`+name+`","platform":"douyin"}`))
		json.Unmarshal(body, &shop)
		shops = append(shops, shop.ID)
	}
	body := generateBody(t, sample.RawLines(t)[5], shops...)
	type answer struct {
		status   int
		replayed bool
		body     string
	}
	answers := make([]answer, 50)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			st, b, hdr := s.call(bearer(k), "POST", "/v1/generate", "application/json", body, "Idempotency-Key", "order-42")
			answers[i] = answer{st, hdr.Get("Idempotent-Replayed") == "true", string(b)}
		})
	}
	wg.Wait()
	originals, first := 0, ""
	for _, a := range answers {
		switch {
		case a.status == 200 && !a.replayed:
			originals++
			first = a.body
		case a.status == 200, a.status == 409:
		default:
			t.Errorf("answer %d: %s", a.status, a.body)
		}
	}
	if originals != 1 {
		t.Fatalf("%d of 50 requests ran the pipeline, want exactly 1", originals)
	}
	for _, a := range answers {
		if a.status == 200 && a.body != first {
			t.Errorf("a replay differs from the original:\n%s\n%s", a.body, first)
		}
	}
	st, b, hdr := s.call(bearer(k), "POST", "/v1/generate", "application/json", body, "Idempotency-Key", "order-42")
	if st != 200 || string(b) != first || hdr.Get("Idempotent-Replayed") != "true" {
		t.Errorf("a retry after completion: %d replayed=%q", st, hdr.Get("Idempotent-Replayed"))
	}
	_, page, _ := s.call(bearer(k), "GET", "/v1/listings", "", nil)
	var listings pageJSON
	json.Unmarshal(page, &listings)
	if len(listings.Items) != 2 {
		t.Errorf("%d listings after 51 requests for 2 shops, want 2", len(listings.Items))
	}
	if stats := fake.Stats(); stats.Chat > 2*2 {
		t.Errorf("the model was called %d times for one request of 2 shops", stats.Chat)
	}
	other2 := generateBody(t, sample.RawLines(t)[6], shops...)
	if st, b, _ := s.call(bearer(k), "POST", "/v1/generate", "application/json", other2, "Idempotency-Key", "order-42"); st != 422 || !strings.Contains(string(b), "Idempotency-Key") {
		t.Errorf("same key, other body: %d %s", st, b)
	}
	// Tenant t2's "order-42" is its own: its shops do not exist, so 404,
	// not t1's replay.
	if st, b, hdr := s.call(bearer(other), "POST", "/v1/generate", "application/json", body, "Idempotency-Key", "order-42"); st != 404 || hdr.Get("Idempotent-Replayed") != "" {
		t.Errorf("another tenant's same key: %d %s", st, b)
	}
	for _, bad := range []string{"заказ-42", strings.Repeat("k", 256)} {
		if st, b, _ := s.call(bearer(k), "POST", "/v1/generate", "application/json", body, "Idempotency-Key", bad); st != 422 {
			t.Errorf("Idempotency-Key %.20q: %d %s", bad, st, b)
		}
	}
}

// A client that never finishes its headers is cut off after
// READ_HEADER_TIMEOUT, while a server-sent-events stream may outlast
// WRITE_TIMEOUT (it is bounded by the request's own deadline).
func TestServerTimeoutsAndTheStream(t *testing.T) {
	t.Parallel()
	fake := openaitest.New(openaitest.Config{StreamChunkRunes: 4, StreamChunkDelay: 60 * time.Millisecond})
	defer fake.Close()
	// The listing is made by a server without the short timeouts, so that
	// a loaded machine's slow generate cannot run into WRITE_TIMEOUT.
	dir := t.TempDir()
	model := map[string]string{"LLM_BASE_URL": fake.URL(), "LLM_MODEL": "fake-4o", "LLM_CACHE_SIZE": "0"}
	first := startServer(t, dir, model)
	shop := createShop(t, first, "抖店", "douyin")
	var out generateJSON
	first.do("POST", "/v1/generate", generateBody(t, sample.RawLines(t)[16], shop.ID), &out)
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	model["READ_HEADER_TIMEOUT"], model["WRITE_TIMEOUT"] = "300ms", "1s"
	s := startServer(t, dir, model)

	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n") // and never the blank line
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	data, _ := io.ReadAll(conn)
	if waited := time.Since(start); waited > 3*time.Second || strings.Contains(string(data), "200 OK") {
		t.Errorf("a slow header was held %v and got %q", waited, data)
	}

	resp, err := http.Get(s.url + "/v1/listings/" + out.Listings[0].ID + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start = time.Now()
	var events []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			events = append(events, ev)
		}
	}
	if took := time.Since(start); took < 1200*time.Millisecond || len(events) < 3 || events[len(events)-1] != "listing" {
		t.Fatalf("stream took %v (want more than WRITE_TIMEOUT) and sent %v", took, events)
	}
}

// /metrics exports request latency by route and status, pipeline step
// durations and the model client's calls and tokens.
func TestMetrics(t *testing.T) {
	t.Parallel()
	fake := openaitest.New(openaitest.Config{})
	defer fake.Close()
	// No workers: a submitted job's items wait, and the queue gauges show them.
	s := startServer(t, t.TempDir(), map[string]string{"LLM_BASE_URL": fake.URL(), "LLM_MODEL": "fake-4o", "WORKERS": "0"})
	shop := createShop(t, s, "抖店", "douyin")
	s.do("POST", "/v1/generate", generateBody(t, sample.RawLines(t)[0], shop.ID), nil)
	s.do("GET", "/v1/listings/nope", nil, nil)
	items := []map[string]any{{"title": "纯棉T恤 男款"}, {"title": "保温杯 316不锈钢"}, {"title": "连衣裙 碎花"}}
	if resp := s.do("POST", "/v1/jobs", map[string]any{"shop_ids": []string{shop.ID}, "items": items}, nil); resp.StatusCode != 202 {
		t.Fatalf("submit a job: %d", resp.StatusCode)
	}
	_, body, _ := s.call("", "GET", "/metrics", "", nil)
	for _, want := range []string{
		`listinggen_http_request_duration_seconds_count{method="POST",route="/v1/generate",status="200"} 1`,
		`listinggen_http_request_duration_seconds_count{method="GET",route="/v1/listings/:id",status="404"} 1`,
		`listinggen_pipeline_step_duration_seconds_count{outcome="ok",step="rewrite"} 1`,
		`listinggen_model_calls_total{client="chat"} 1`,
		`listinggen_model_429_total{client="chat"} 0`,
		`listinggen_model_prompt_tokens_total{client="chat"}`,
		`go_goroutines`,
		"listinggen_queue_depth 3",
		"listinggen_queue_oldest_age_seconds ",
		"listinggen_vector_cache_bytes ",
		"listinggen_vector_cache_max_bytes 5.36870912e+08",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// The model endpoint goes down: generation goes on with the rules rewriter
// and marks the listings for review; when it comes back, the model writes
// again. No request fails.
func TestModelEndpointDownAndBack(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	serveFake := func(ln net.Listener) (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { openaitest.Serve(ctx, ln, openaitest.Config{}); close(done) }()
		return func() { cancel(); <-done }
	}
	stop := serveFake(ln)
	s := startServer(t, t.TempDir(), map[string]string{"LLM_BASE_URL": "http://" + addr + "/v1", "LLM_MODEL": "fake-4o",
		"LLM_MAX_RETRIES": "1", "LLM_TIMEOUT": "2s", "LLM_CACHE_SIZE": "0"})
	shop := createShop(t, s, "抖店", "douyin")
	lines := sample.RawLines(t)
	gen := func(i int) llmListing {
		t.Helper()
		var out struct{ Listings []llmListing }
		if resp := s.do("POST", "/v1/generate", generateBody(t, lines[i], shop.ID), &out); resp.StatusCode != 200 {
			t.Fatalf("generate %d: %d", i, resp.StatusCode)
		}
		return out.Listings[0]
	}
	if l := gen(0); l.Provenance.Rewriter != "openai" {
		t.Fatalf("before the outage: %+v", l.Provenance)
	}
	stop()
	for i := 1; i <= 3; i++ {
		if l := gen(i); l.Provenance.Rewriter != "rules" || l.Status != "needs_review" || len(l.ReviewReasons) == 0 {
			t.Fatalf("during the outage: %+v %v", l.Provenance, l.ReviewReasons)
		}
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("relisten on %s: %v", addr, err)
	}
	defer serveFake(ln)()
	if l := gen(4); l.Provenance.Rewriter != "openai" || l.Status != "draft" {
		t.Fatalf("after the model came back: %+v %v", l.Provenance, l.ReviewReasons)
	}
}

// GENERATE_CONCURRENCY bounds the requests doing model work at once: with
// one slot, three concurrent generations run one after another.
func TestGenerateConcurrencyIsBounded(t *testing.T) {
	t.Parallel()
	fake := openaitest.New(openaitest.Config{LatencyMin: 300 * time.Millisecond})
	defer fake.Close()
	s := startServer(t, t.TempDir(), map[string]string{"GENERATE_CONCURRENCY": "1", "LLM_BASE_URL": fake.URL(), "LLM_MODEL": "fake-4o", "LLM_CACHE_SIZE": "0"})
	shop := createShop(t, s, "抖店", "douyin")
	lines := sample.RawLines(t)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			if resp := s.do("POST", "/v1/generate", generateBody(t, lines[20+i], shop.ID), nil); resp.StatusCode != 200 {
				t.Errorf("generate %d: %d", i, resp.StatusCode)
			}
		})
	}
	wg.Wait()
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("3 generations of 300 ms each took %v with one slot: they ran concurrently", took)
	}
}
