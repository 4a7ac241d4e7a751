// Package openaitest is a fake OpenAI-compatible HTTP server for tests and
// benchmarks: POST /v1/chat/completions (plain, response_format json_object
// and json_schema, stream=true server-sent events) and POST /v1/embeddings.
//
// Its default answer is realistic: it reads the product the prompt quotes
// in a ```json block and answers with grounded, compliant copy built from
// the product's own words (see Compose), so a pipeline fed by it passes
// validation. Faults are scripted per call (Config.Script, Server.Script) or
// drawn with fixed probabilities from a seeded generator (Config.Rates);
// request and token limits are enforced over a sliding window and answered
// with 429 and Retry-After, the way real providers do.
package openaitest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/pipeline/compliance"
)

// Fault is what the server does to one call instead of answering normally.
type Fault string

const (
	// OK answers normally.
	OK Fault = "ok"
	// Status429 answers 429 with Retry-After (Config.RetryAfter).
	Status429 Fault = "429"
	// Status408 and Status409 answer 408 (request timeout) and 409
	// (conflict), which some gateways send for transient trouble.
	Status408 Fault = "408"
	Status409 Fault = "409"
	// Status500 answers 500 server_error.
	Status500 Fault = "500"
	// Status503 answers 503 (overloaded).
	Status503 Fault = "503"
	// Hang never answers: the call lasts until the client gives up (or the
	// server closes).
	Hang Fault = "hang"
	// Truncated answers with half of the JSON and finish_reason "stop" (a
	// broken provider or proxy); in a stream, the stream ends without
	// a finish_reason or [DONE].
	Truncated Fault = "truncated"
	// Length answers with a cut-off JSON and finish_reason "length".
	Length Fault = "length"
	// ContentFilter answers with no content and finish_reason "content_filter".
	ContentFilter Fault = "content_filter"
	// Refusal answers with message.refusal and no content.
	Refusal Fault = "refusal"
	// Invent answers with copy that states facts the source lacks: a brand
	// in the title, a weight in a selling point, a material in the
	// description.
	Invent Fault = "invent"
	// Banned answers with copy containing an advertising-law term.
	Banned Fault = "banned"
)

// Faults lists every fault, for table tests.
var Faults = []Fault{OK, Status429, Status408, Status409, Status500, Status503, Hang, Truncated, Length, ContentFilter, Refusal, Invent, Banned}

// Config configures the fake server. The zero value answers every call
// immediately and correctly, with no limits.
type Config struct {
	// LatencyMin and LatencyMax bound the uniformly drawn time before an
	// answer (before the first chunk of a stream).
	LatencyMin, LatencyMax time.Duration
	// StreamChunkRunes is the size of a streamed content delta (default 8);
	// StreamChunkDelay the pause between deltas.
	StreamChunkRunes int
	StreamChunkDelay time.Duration
	// RPM and TPM are enforced over a sliding Window (default one minute):
	// at most RPM*Window/1m requests and TPM*Window/1m tokens (prompt plus
	// completion) in any window. 0 means no limit. A shorter window is
	// stricter: providers enforce per-minute limits over sub-minute periods.
	RPM, TPM int
	Window   time.Duration
	// Script gives the faults of the first chat calls in order (call 0 gets
	// Script[0]); later calls draw from Rates. Server.Script appends.
	Script []Fault
	// Rates are per-fault probabilities for unscripted calls, drawn from a
	// generator seeded with Seed, so a run is reproducible.
	Rates map[Fault]float64
	Seed  uint64
	// RetryAfter is what a scripted 429 asks for (default 1s). The server
	// sends retry-after-ms and Retry-After (whole seconds, rounded up).
	RetryAfter time.Duration
	// RejectJSONSchema answers 400 to response_format json_schema, like
	// providers that only know json_object.
	RejectJSONSchema bool
	// APIKey, when set, is required as the bearer token (401 otherwise).
	APIKey string
	// EmbeddingDimensions is the default vector length (256); a request's
	// "dimensions" overrides it. EmbeddingScript gives the faults of the
	// first embedding calls (the error statuses and Hang apply).
	EmbeddingDimensions int
	EmbeddingScript     []Fault
	// Rules bound the copy the server composes (default: 60 title units,
	// 5 selling points of 40 units, 300-character description), which fits
	// every platform's profile.
	Rules listinggen.TextRules
}

func (c Config) withDefaults() Config {
	if c.Window <= 0 {
		c.Window = time.Minute
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = time.Second
	}
	if c.StreamChunkRunes <= 0 {
		c.StreamChunkRunes = 8
	}
	if c.EmbeddingDimensions <= 0 {
		c.EmbeddingDimensions = 256
	}
	if c.LatencyMax < c.LatencyMin {
		c.LatencyMax = c.LatencyMin
	}
	if c.Rules.TitleMaxUnits <= 0 {
		c.Rules.TitleMaxUnits = 60
	}
	if c.Rules.MaxSellingPoints <= 0 {
		c.Rules.MaxSellingPoints = 5
	}
	if c.Rules.SellingPointMaxUnits <= 0 {
		c.Rules.SellingPointMaxUnits = 40
	}
	if c.Rules.DescriptionMaxRunes <= 0 || c.Rules.DescriptionMaxRunes > 300 {
		c.Rules.DescriptionMaxRunes = 300
	}
	return c
}

// Stats counts what the server saw. Token counts cover answered calls.
type Stats struct {
	Requests int // every HTTP request
	Chat     int // chat completion calls, streamed or not
	Streams  int // of which streamed
	// Conversations counts chat calls that carry an earlier assistant
	// answer (repair rounds).
	Conversations int
	Embeddings    int
	// Answered is the number of 200 answers to chat calls.
	Answered int
	// Status429 counts every 429; RateLimited those caused by the enforced
	// RPM/TPM limits (the rest were scripted).
	Status429   int
	RateLimited int
	Status5xx   int
	Status400   int
	Faults      map[Fault]int
	// PromptTokens and CompletionTokens are the usage reported in answers.
	PromptTokens     int
	CompletionTokens int
	MaxInFlight      int
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	cfg     Config
	http    *httptest.Server
	checker *compliance.Checker
	closing chan struct{}
	once    sync.Once

	mu        sync.Mutex
	rng       *rand.Rand
	script    []Fault
	embScript []Fault
	window    []admitted
	winTokens int
	stats     Stats
	inFlight  int
	calls     int
}

type admitted struct {
	at     time.Time
	tokens int
}

// New starts a fake server on a loopback port. Close it when done.
func New(cfg Config) *Server {
	s := NewHandler(cfg)
	s.http = httptest.NewServer(s)
	return s
}

// NewHandler returns the fake as an http.Handler without starting a server
// (ListenAndServe and tests that mount it elsewhere use it).
func NewHandler(cfg Config) *Server {
	checker, err := compliance.New()
	if err != nil {
		panic("openaitest: " + err.Error())
	}
	cfg = cfg.withDefaults()
	return &Server{
		cfg:       cfg,
		checker:   checker,
		closing:   make(chan struct{}),
		rng:       rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x6f70656e6169)),
		script:    append([]Fault(nil), cfg.Script...),
		embScript: append([]Fault(nil), cfg.EmbeddingScript...),
		stats:     Stats{Faults: map[Fault]int{}},
	}
}

// ListenAndServe serves the fake on addr (for example "127.0.0.1:8081")
// until ctx is done: the entry point of a dev command that runs benchmarks
// against it. It refuses non-loopback addresses: the fake is never a
// service for other machines.
func ListenAndServe(ctx context.Context, addr string, cfg Config) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("openaitest: %q is not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return Serve(ctx, ln, cfg)
}

// Serve serves the fake on ln until ctx is done, then shuts down (hanging
// calls are released) and closes ln.
func Serve(ctx context.Context, ln net.Listener, cfg Config) error {
	s := NewHandler(cfg)
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	s.stop()
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// URL is the base URL clients use, ending in /v1.
func (s *Server) URL() string { return s.http.URL + "/v1" }

// Close releases hanging calls and stops the server.
func (s *Server) Close() {
	s.stop()
	if s.http != nil {
		s.http.Close()
	}
}

func (s *Server) stop() { s.once.Do(func() { close(s.closing) }) }

// Script appends faults for the next unscripted chat calls.
func (s *Server) Script(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, faults...)
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Faults = make(map[Fault]int, len(s.stats.Faults))
	for k, v := range s.stats.Faults {
		st.Faults[k] = v
	}
	return st
}

// ServeHTTP implements the OpenAI wire format for the endpoints above.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests++
	s.inFlight++
	s.stats.MaxInFlight = max(s.stats.MaxInFlight, s.inFlight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	if s.cfg.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+s.cfg.APIKey {
		s.apiError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/chat/completions":
		s.chat(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/embeddings":
		s.embeddings(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/models":
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{map[string]any{"id": "fake-model", "object": "model", "owned_by": "openaitest"}}})
	default:
		s.apiError(w, http.StatusNotFound, "invalid_request_error", "unknown_url", "Unknown request URL: "+r.Method+" "+r.URL.Path)
	}
}

// chatRequest is the part of a chat completion request the fake reads.
type chatRequest struct {
	Model         string        `json:"model"`
	Messages      []chatMessage `json:"messages"`
	Stream        bool          `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
	MaxTokens           int `json:"max_tokens"`
	MaxCompletionTokens int `json:"max_completion_tokens"`
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// text returns the message content: a string or the text parts of a list.
func (m chatMessage) text() string {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(m.Content, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.Text)
		}
		return b.String()
	}
	return ""
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now() // limits count arrivals, as a gateway does
	var req chatRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<20)).Decode(&req); err != nil {
		s.badRequest(w, "", "We could not parse the JSON body of your request.")
		return
	}
	if req.Model == "" || len(req.Messages) == 0 {
		s.badRequest(w, "model", "you must provide a model parameter and at least one message")
		return
	}
	mode := "text"
	if rf := req.ResponseFormat; rf != nil && rf.Type != "" && rf.Type != "text" {
		mode = rf.Type
	}
	switch mode {
	case "text":
	case "json_schema":
		if s.cfg.RejectJSONSchema {
			s.badRequest(w, "response_format", "This response_format type is unavailable now")
			return
		}
		if req.ResponseFormat.JSONSchema == nil || len(req.ResponseFormat.JSONSchema.Schema) == 0 {
			s.badRequest(w, "response_format.json_schema", "Missing required parameter: 'response_format.json_schema'.")
			return
		}
	case "json_object":
		mentions := false
		for _, m := range req.Messages {
			mentions = mentions || strings.Contains(strings.ToLower(m.text()), "json")
		}
		if !mentions {
			s.badRequest(w, "messages", "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.")
			return
		}
	default:
		s.badRequest(w, "response_format.type", "Invalid value: '"+mode+"'. Supported values are: 'json_object', 'json_schema', and 'text'.")
		return
	}

	s.mu.Lock()
	s.stats.Chat++
	if req.Stream {
		s.stats.Streams++
	}
	for _, m := range req.Messages {
		if m.Role == "assistant" {
			s.stats.Conversations++
			break
		}
	}
	fault := s.nextFault()
	s.mu.Unlock()

	content := s.answer(req, fault, mode)
	finish := "stop"
	var refusal string
	switch fault {
	case Truncated:
		content = cut(content, 0.5)
	case Length:
		content = cut(content, 0.6)
		finish = "length"
	case ContentFilter:
		content, finish = "", "content_filter"
	case Refusal:
		content, refusal = "", "I'm sorry, but I can't help with that request."
	}
	promptTokens := 3
	for _, m := range req.Messages {
		promptTokens += EstimateTokens(m.text()) + 4
	}
	completionTokens := EstimateTokens(content) + EstimateTokens(refusal)
	if limit := max(req.MaxTokens, req.MaxCompletionTokens); fault == Length && limit > 0 {
		completionTokens = max(completionTokens, limit)
	}
	if retry, why, ok := s.admit(arrived, promptTokens+completionTokens); !ok {
		s.rateLimited(w, retry, why)
		return
	}
	if !s.sleep(r.Context(), s.latency()) {
		return
	}
	if s.failCall(w, r, fault) {
		return
	}
	s.mu.Lock()
	s.stats.Answered++
	s.stats.PromptTokens += promptTokens
	s.stats.CompletionTokens += completionTokens
	s.mu.Unlock()
	usage := map[string]int{"prompt_tokens": promptTokens, "completion_tokens": completionTokens, "total_tokens": promptTokens + completionTokens}
	id := fmt.Sprintf("chatcmpl-fake%d", s.callNumber())
	if req.Stream {
		s.stream(w, r, req, id, content, refusal, finish, fault == Truncated, usage)
		return
	}
	msg := map[string]any{"role": "assistant", "content": content}
	if content == "" {
		msg["content"] = nil
	}
	if refusal != "" {
		msg["refusal"] = refusal
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": id, "object": "chat.completion", "created": time.Now().Unix(), "model": req.Model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": finish}},
		"usage":   usage,
	})
}

func (s *Server) callNumber() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return s.calls
}

// nextFault pops the script or draws from Rates. s.mu is held.
func (s *Server) nextFault() Fault {
	f := OK
	if len(s.script) > 0 {
		f, s.script = s.script[0], s.script[1:]
	} else if len(s.cfg.Rates) > 0 {
		x := s.rng.Float64()
		keys := make([]string, 0, len(s.cfg.Rates))
		for k := range s.cfg.Rates {
			keys = append(keys, string(k))
		}
		sort.Strings(keys) // map order must not change a seeded run
		for _, k := range keys {
			if p := s.cfg.Rates[Fault(k)]; x < p {
				f = Fault(k)
				break
			} else {
				x -= p
			}
		}
	}
	s.stats.Faults[f]++
	return f
}

// answer is the assistant content for a normal call: the composed copy as
// JSON, wrapped in a sentence and a ```json fence when no response_format
// asked for bare JSON (as chat models do), which the client must tolerate.
func (s *Server) answer(req chatRequest, fault Fault, mode string) string {
	for _, m := range req.Messages {
		if m.Role == "user" {
			if a, b, ok := ParsePair(m.text()); ok {
				return JudgePair(a, b)
			}
		}
	}
	var product *listinggen.Product
	for _, m := range req.Messages {
		if m.Role == "user" {
			if p := ParseProduct(m.text()); p != nil {
				product = p
				break
			}
		}
	}
	if product == nil {
		product = &listinggen.Product{}
	}
	cp := Compose(s.checker, product, s.cfg.Rules)
	switch fault {
	case Invent:
		cp = invent(product, cp, s.cfg.Rules)
	case Banned:
		cp.Title = "全网最低价" + cp.Title
	}
	b, _ := json.Marshal(cp)
	if mode == "text" {
		return "好的，以下是改写后的文案：\n```json\n" + string(b) + "\n```"
	}
	return string(b)
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, req chatRequest, id, content, refusal, finish string, truncate bool, usage map[string]int) {
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	created := time.Now().Unix()
	send := func(choices []any, extra map[string]any) bool {
		ev := map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": req.Model, "choices": choices}
		for k, v := range extra {
			ev[k] = v
		}
		b, _ := json.Marshal(ev)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	delta := func(d map[string]any, finish any) []any {
		return []any{map[string]any{"index": 0, "delta": d, "finish_reason": finish}}
	}
	if !send(delta(map[string]any{"role": "assistant", "content": ""}, nil), nil) {
		return
	}
	if refusal != "" && !send(delta(map[string]any{"refusal": refusal}, nil), nil) {
		return
	}
	rs := []rune(content)
	for i := 0; i < len(rs); i += s.cfg.StreamChunkRunes {
		if i > 0 && !s.sleep(r.Context(), s.cfg.StreamChunkDelay) {
			return
		}
		j := min(i+s.cfg.StreamChunkRunes, len(rs))
		if !send(delta(map[string]any{"content": string(rs[i:j])}, nil), nil) {
			return
		}
	}
	if truncate {
		return // the connection ends: no finish_reason, no [DONE]
	}
	if !send(delta(map[string]any{}, finish), nil) {
		return
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage && !send([]any{}, map[string]any{"usage": usage}) {
		return
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	if flusher != nil {
		flusher.Flush()
	}
}

// admit records a call in the sliding window, or says how long to wait.
func (s *Server) admit(now time.Time, tokens int) (retry time.Duration, why string, ok bool) {
	if s.cfg.RPM <= 0 && s.cfg.TPM <= 0 {
		return 0, "", true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := 0
	for ; i < len(s.window) && now.Sub(s.window[i].at) >= s.cfg.Window; i++ {
		s.winTokens -= s.window[i].tokens
	}
	s.window = s.window[i:]
	frac := float64(s.cfg.Window) / float64(time.Minute)
	if s.cfg.RPM > 0 {
		limit := max(1, int(math.Floor(float64(s.cfg.RPM)*frac)))
		if len(s.window)+1 > limit {
			oldest := s.window[len(s.window)-limit]
			return oldest.at.Add(s.cfg.Window).Sub(now), fmt.Sprintf("requests per min (RPM): Limit %d, Used %d, Requested 1", s.cfg.RPM, len(s.window)), false
		}
	}
	if s.cfg.TPM > 0 {
		limit := max(1, int(math.Floor(float64(s.cfg.TPM)*frac)))
		if tokens > limit {
			return s.cfg.Window, fmt.Sprintf("Request too large: tokens per min (TPM): Limit %d, Requested %d", s.cfg.TPM, tokens), false
		}
		if excess := s.winTokens + tokens - limit; excess > 0 {
			freed := 0
			for _, a := range s.window {
				if freed += a.tokens; freed >= excess {
					return a.at.Add(s.cfg.Window).Sub(now), fmt.Sprintf("tokens per min (TPM): Limit %d, Used %d, Requested %d", s.cfg.TPM, s.winTokens, tokens), false
				}
			}
		}
	}
	s.window = append(s.window, admitted{at: now, tokens: tokens})
	s.winTokens += tokens
	return 0, "", true
}

// failCall answers the call as fault says when the fault fails it (an
// error status or a hang), the same for chat and embeddings, and reports
// whether it did.
func (s *Server) failCall(w http.ResponseWriter, r *http.Request, fault Fault) bool {
	switch fault {
	case Status429:
		s.mu.Lock()
		s.stats.Status429++
		s.mu.Unlock()
		setRetryAfter(w.Header(), s.cfg.RetryAfter)
		s.apiError(w, http.StatusTooManyRequests, "requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later.")
	case Status408:
		s.apiError(w, http.StatusRequestTimeout, "server_error", "", "Request timed out.")
	case Status409:
		s.apiError(w, http.StatusConflict, "server_error", "", "The request conflicted with another request; please retry.")
	case Status500:
		s.apiError(w, http.StatusInternalServerError, "server_error", "", "The server had an error while processing your request. Sorry about that!")
	case Status503:
		s.apiError(w, http.StatusServiceUnavailable, "server_error", "", "The engine is currently overloaded, please try again later.")
	case Hang:
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
	default:
		return false
	}
	return true
}

func (s *Server) rateLimited(w http.ResponseWriter, retry time.Duration, why string) {
	s.mu.Lock()
	s.stats.Status429++
	s.stats.RateLimited++
	s.mu.Unlock()
	if retry < time.Millisecond {
		retry = time.Millisecond
	}
	setRetryAfter(w.Header(), retry)
	s.apiError(w, http.StatusTooManyRequests, "requests", "rate_limit_exceeded",
		fmt.Sprintf("Rate limit reached for fake-model on %s. Please try again in %dms.", why, retry.Milliseconds()))
}

func setRetryAfter(h http.Header, d time.Duration) {
	h.Set("retry-after-ms", strconv.FormatInt(int64(math.Ceil(float64(d)/float64(time.Millisecond))), 10))
	h.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10))
}

func (s *Server) latency() time.Duration {
	if s.cfg.LatencyMax <= 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg.LatencyMin + time.Duration(s.rng.Int64N(int64(s.cfg.LatencyMax-s.cfg.LatencyMin)+1))
}

// sleep waits d; false if the client went away or the server is closing.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}

func (s *Server) badRequest(w http.ResponseWriter, param, msg string) {
	s.mu.Lock()
	s.stats.Status400++
	s.mu.Unlock()
	body := map[string]any{"message": msg, "type": "invalid_request_error", "param": nil, "code": nil}
	if param != "" {
		body["param"] = param
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": body})
}

func (s *Server) apiError(w http.ResponseWriter, status int, typ, code, msg string) {
	if status >= 500 {
		s.mu.Lock()
		s.stats.Status5xx++
		s.mu.Unlock()
	}
	body := map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}
	if code != "" {
		body["code"] = code
	}
	writeJSON(w, status, map[string]any{"error": body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// cut returns the first frac of s, on a rune boundary.
func cut(s string, frac float64) string {
	rs := []rune(s)
	return string(rs[:int(float64(len(rs))*frac)])
}

// EstimateTokens is the fake's tokenizer: one token per non-ASCII rune
// (CJK), one per four ASCII bytes, rounded up. A chat request costs the sum
// over its messages plus 4 per message and 3 per request.
func EstimateTokens(s string) int {
	ascii, other := 0, 0
	for _, r := range s {
		if r < 0x80 {
			ascii++
		} else {
			other++
		}
	}
	return other + (ascii+3)/4
}
