package openaitest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/openaitest"
	"github.com/listinggen/listinggen/internal/sample"
	"github.com/listinggen/listinggen/pipeline/compliance"
	"github.com/listinggen/listinggen/pipeline/grounding"
	"github.com/listinggen/listinggen/prompts"
)

func userPrompt(t testing.TB, p *listinggen.Product) (string, string) {
	t.Helper()
	sys, user, err := prompts.Render(listinggen.PlatformDouyin, "zh", prompts.Data{Product: p, Rules: listinggen.TextRules{Platform: "douyin", TitleMaxUnits: 60, MaxSellingPoints: 5, SellingPointMaxUnits: 40, DescriptionMaxRunes: 5000}})
	if err != nil {
		t.Fatal(err)
	}
	return sys, user
}

type chatResponse struct {
	Model   string `json:"model"`
	Choices []struct {
		Message struct {
			Content *string `json:"content"`
			Refusal string  `json:"refusal"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	} `json:"usage"`
}

func post(t testing.TB, url string, body any) *http.Response {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func chat(t testing.TB, s *openaitest.Server, p *listinggen.Product, format string) (*http.Response, chatResponse) {
	t.Helper()
	sys, user := userPrompt(t, p)
	body := map[string]any{"model": "fake", "messages": []any{
		map[string]string{"role": "system", "content": sys},
		map[string]string{"role": "user", "content": user},
	}}
	switch format {
	case "json_object":
		body["response_format"] = map[string]any{"type": "json_object"}
	case "json_schema":
		body["response_format"] = map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "x", "schema": map[string]any{"type": "object"}}}
	}
	resp := post(t, s.URL()+"/chat/completions", body)
	var out chatResponse
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
	}
	return resp, out
}

func TestComposedCopyIsGroundedAndCompliantOnTheSampleCatalogue(t *testing.T) {
	t.Parallel()
	checker, err := compliance.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range sample.Products(t) {
		p.Normalize()
		_, user := userPrompt(t, &p)
		parsed := openaitest.ParseProduct(user)
		if parsed == nil || parsed.Title != p.Title {
			t.Fatalf("%s: the fake could not read the product from the prompt", p.ID)
		}
		cp := openaitest.Compose(checker, parsed, listinggen.TextRules{})
		for _, pl := range listinggen.Platforms {
			if rep := checker.Check(checker.Rules(pl), cp); !rep.OK {
				t.Errorf("%s on %s: %+v\n%+v", p.ID, pl, rep.Violations, cp)
			}
		}
		if problems := grounding.Check(&p, cp); problems != nil {
			t.Errorf("%s: %v\n%+v", p.ID, problems, cp)
		}
		if len(cp.SellingPoints) == 0 || cp.Description == "" || len(cp.Keywords) == 0 {
			t.Errorf("%s: incomplete copy %+v", p.ID, cp)
		}
	}
}

func dress() *listinggen.Product {
	return &listinggen.Product{
		Title:      "2024夏季新款法式复古碎花连衣裙女收腰显瘦气质长裙 厂家直销一件代发",
		Category:   "女装/连衣裙",
		Attributes: listinggen.Attributes{{Name: "材质", Values: []string{"聚酯纤维"}}, {Name: "颜色", Values: []string{"白色", "黑色"}}},
	}
}

func TestChatFormatsAndUsage(t *testing.T) {
	t.Parallel()
	s := openaitest.New(openaitest.Config{})
	defer s.Close()
	_, plain := chat(t, s, dress(), "text")
	content := *plain.Choices[0].Message.Content
	if !strings.Contains(content, "```json\n{") || plain.Choices[0].FinishReason != "stop" {
		t.Fatalf("plain answer should be JSON in a fence after prose: %q", content)
	}
	_, obj := chat(t, s, dress(), "json_object")
	var cp listinggen.Copy
	if err := json.Unmarshal([]byte(*obj.Choices[0].Message.Content), &cp); err != nil || !strings.Contains(cp.Title, "连衣裙") {
		t.Fatalf("json_object answer: %v %+v", err, cp)
	}
	if u := obj.Usage; u.PromptTokens < 200 || u.CompletionTokens < 30 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Fatalf("usage %+v", u)
	}
	if _, schema := chat(t, s, dress(), "json_schema"); schema.Choices[0].Message.Content == nil {
		t.Fatal("json_schema answer empty")
	}
	// json_object without the word JSON in the messages is refused, as OpenAI does.
	resp := post(t, s.URL()+"/chat/completions", map[string]any{"model": "m", "messages": []any{map[string]string{"role": "user", "content": "hi"}}, "response_format": map[string]string{"type": "json_object"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("json_object without json: %d", resp.StatusCode)
	}
	if got := openaitest.EstimateTokens("连衣裙abcd"); got != 4 {
		t.Fatalf("EstimateTokens = %d", got)
	}
}

func TestRejectJSONSchema(t *testing.T) {
	t.Parallel()
	s := openaitest.New(openaitest.Config{RejectJSONSchema: true})
	defer s.Close()
	if resp, _ := chat(t, s, dress(), "json_schema"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if resp, _ := chat(t, s, dress(), "json_object"); resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestScriptedFaults(t *testing.T) {
	t.Parallel()
	s := openaitest.New(openaitest.Config{RetryAfter: 1500 * time.Millisecond})
	defer s.Close()
	s.Script(openaitest.Status429, openaitest.Status500, openaitest.Status503, openaitest.Length, openaitest.ContentFilter, openaitest.Refusal, openaitest.Truncated, openaitest.Invent, openaitest.Banned, openaitest.OK)
	resp, _ := chat(t, s, dress(), "json_object")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || resp.Header.Get("retry-after-ms") != "1500" {
		t.Fatalf("429: %d %v", resp.StatusCode, resp.Header)
	}
	for _, want := range []int{500, 503} {
		if resp, _ := chat(t, s, dress(), "json_object"); resp.StatusCode != want {
			t.Fatalf("status %d, want %d", resp.StatusCode, want)
		}
	}
	_, r := chat(t, s, dress(), "json_object")
	if r.Choices[0].FinishReason != "length" || json.Valid([]byte(*r.Choices[0].Message.Content)) {
		t.Fatalf("length: %+v", r.Choices[0])
	}
	_, r = chat(t, s, dress(), "json_object")
	if r.Choices[0].FinishReason != "content_filter" || r.Choices[0].Message.Content != nil {
		t.Fatalf("content_filter: %+v", r.Choices[0])
	}
	_, r = chat(t, s, dress(), "json_object")
	if r.Choices[0].Message.Refusal == "" || r.Choices[0].Message.Content != nil {
		t.Fatalf("refusal: %+v", r.Choices[0])
	}
	_, r = chat(t, s, dress(), "json_object")
	if r.Choices[0].FinishReason != "stop" || json.Valid([]byte(*r.Choices[0].Message.Content)) {
		t.Fatalf("truncated: %+v", r.Choices[0])
	}
	_, r = chat(t, s, dress(), "json_object")
	var cp listinggen.Copy
	_ = json.Unmarshal([]byte(*r.Choices[0].Message.Content), &cp)
	if problems := grounding.Check(dress(), cp); len(problems) < 3 {
		t.Fatalf("invent: want a brand, a weight and a material, got %v", problems)
	}
	_, r = chat(t, s, dress(), "json_object")
	if !strings.Contains(*r.Choices[0].Message.Content, "全网最低价") {
		t.Fatal("banned term missing")
	}
	st := s.Stats()
	if st.Chat != 9 || st.Status429 != 1 || st.Status5xx != 2 || st.Faults[openaitest.Refusal] != 1 || st.Faults[openaitest.OK] != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRatesAreReproducibleWithASeed(t *testing.T) {
	t.Parallel()
	run := func() map[openaitest.Fault]int {
		s := openaitest.New(openaitest.Config{Seed: 42, Rates: map[openaitest.Fault]float64{openaitest.Status500: 0.2, openaitest.Refusal: 0.1}})
		defer s.Close()
		for i := 0; i < 50; i++ {
			chat(t, s, dress(), "json_object")
		}
		return s.Stats().Faults
	}
	a, b := run(), run()
	if a[openaitest.Status500] == 0 || a[openaitest.Refusal] == 0 || a[openaitest.Status500] != b[openaitest.Status500] || a[openaitest.Refusal] != b[openaitest.Refusal] {
		t.Fatalf("runs differ or faults missing: %v %v", a, b)
	}
}

func TestHangLastsUntilTheClientGivesUpOrTheServerCloses(t *testing.T) {
	t.Parallel()
	s := openaitest.New(openaitest.Config{Script: []openaitest.Fault{openaitest.Hang, openaitest.Hang}})
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.URL()+"/chat/completions", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"x"}]}`))
	if _, err := http.DefaultClient.Do(req); err == nil || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("hang answered: %v after %v", err, time.Since(start))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Post(s.URL()+"/chat/completions", "application/json", strings.NewReader(`{"model":"m","messages":[{"role":"user","content":"x"}]}`))
		if err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(50 * time.Millisecond)
	s.Close() // must not wait for the hanging call forever
	<-done
}

func TestEnforcedRPMAnswers429WithRetryAfter(t *testing.T) {
	t.Parallel()
	s := openaitest.New(openaitest.Config{RPM: 600, Window: time.Second}) // 10 per second
	defer s.Close()
	ok, limited := 0, 0
	var retry string
	for i := 0; i < 15; i++ {
		resp, _ := chat(t, s, dress(), "json_object")
		switch resp.StatusCode {
		case 200:
			ok++
		case 429:
			limited++
			retry = resp.Header.Get("retry-after-ms")
		}
	}
	if ok != 10 || limited != 5 || retry == "" || retry == "0" {
		t.Fatalf("ok %d limited %d retry-after-ms %q", ok, limited, retry)
	}
	if st := s.Stats(); st.RateLimited != 5 || st.Status429 != 5 {
		t.Fatalf("stats %+v", st)
	}
}

func TestEnforcedTPM(t *testing.T) {
	t.Parallel()
	s := openaitest.New(openaitest.Config{TPM: 60 * 2000, Window: time.Second}) // 2,000 tokens per second
	defer s.Close()
	ok := 0
	for i := 0; i < 10; i++ {
		if resp, _ := chat(t, s, dress(), "json_object"); resp.StatusCode == 200 {
			ok++
		}
	}
	if st := s.Stats(); ok == 0 || ok == 10 || st.PromptTokens+st.CompletionTokens > 2000 {
		t.Fatalf("ok %d, stats %+v", ok, st)
	}
}

func TestStreamSendsSSEChunksUsageAndDone(t *testing.T) {
	t.Parallel()
	s := openaitest.New(openaitest.Config{})
	defer s.Close()
	sys, user := userPrompt(t, dress())
	resp := post(t, s.URL()+"/chat/completions", map[string]any{
		"model": "m", "stream": true, "stream_options": map[string]bool{"include_usage": true},
		"response_format": map[string]string{"type": "json_object"},
		"messages":        []any{map[string]string{"role": "system", "content": sys}, map[string]string{"role": "user", "content": user}},
	})
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatal(ct)
	}
	var text strings.Builder
	var finish string
	var usage map[string]int
	done := false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("not an SSE data line: %q", line)
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var chunk struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage map[string]int `json:"usage"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			t.Fatal(err)
		}
		for _, c := range chunk.Choices {
			text.WriteString(c.Delta.Content)
			if c.FinishReason != nil {
				finish = *c.FinishReason
			}
		}
		if chunk.Usage != nil {
			usage = chunk.Usage
		}
	}
	if !done || finish != "stop" || usage["total_tokens"] == 0 || !json.Valid([]byte(text.String())) {
		t.Fatalf("done %v finish %q usage %v text %q", done, finish, usage, text.String())
	}
}

func TestEmbeddingsAreDeterministic(t *testing.T) {
	t.Parallel()
	s := openaitest.New(openaitest.Config{EmbeddingScript: []openaitest.Fault{openaitest.Status500}})
	defer s.Close()
	if resp := post(t, s.URL()+"/embeddings", map[string]any{"model": "e", "input": "x"}); resp.StatusCode != 500 {
		t.Fatal(resp.StatusCode)
	}
	embed := func(input any) [][]float32 {
		resp := post(t, s.URL()+"/embeddings", map[string]any{"model": "e", "input": input, "dimensions": 64})
		var out struct {
			Data []struct {
				Index     int       `json:"index"`
				Embedding []float32 `json:"embedding"`
			} `json:"data"`
			Usage map[string]int `json:"usage"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Usage["prompt_tokens"] == 0 {
			t.Fatal(err, out.Usage)
		}
		var vecs [][]float32
		for _, d := range out.Data {
			vecs = append(vecs, d.Embedding)
		}
		return vecs
	}
	a := embed([]string{"碎花连衣裙", "碎花连衣裙 夏季", "保温杯"})
	b := embed("碎花连衣裙")
	if len(a) != 3 || len(a[0]) != 64 || listinggen.Cosine(a[0], b[0]) < 0.9999 {
		t.Fatal("not deterministic")
	}
	if near, far := listinggen.Cosine(a[0], a[1]), listinggen.Cosine(a[0], a[2]); near <= far {
		t.Fatalf("similar texts %.3f not closer than different ones %.3f", near, far)
	}
}

func TestListenAndServe(t *testing.T) {
	t.Parallel()
	if err := openaitest.ListenAndServe(context.Background(), "0.0.0.0:0", openaitest.Config{}); err == nil {
		t.Fatal("non-loopback address accepted")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- openaitest.Serve(ctx, ln, openaitest.Config{}) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatal(resp.Status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
