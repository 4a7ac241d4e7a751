package openaitest

import (
	"encoding/json"
	"hash/fnv"
	"math"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/listinggen/listinggen"
	"github.com/listinggen/listinggen/internal/htmltext"
	"github.com/listinggen/listinggen/pipeline/compliance"
	"github.com/listinggen/listinggen/textnorm"
)

var fencedJSON = regexp.MustCompile("(?s)```json\\s*\n(.*?)\n```")

// ParseProduct finds the product a prompt quotes: the first ```json block
// of text that decodes to an object with a "title". It returns nil if there
// is none.
func ParseProduct(text string) *listinggen.Product {
	for _, m := range fencedJSON.FindAllStringSubmatch(text, -1) {
		var p listinggen.Product
		var probe map[string]json.RawMessage
		if json.Unmarshal([]byte(m[1]), &probe) != nil {
			continue
		}
		if _, ok := probe["title"]; !ok {
			continue
		}
		if json.Unmarshal([]byte(m[1]), &p) == nil {
			return &p
		}
	}
	return nil
}

// Compose writes the copy a well-behaved model would: only the product's own
// words (category, brand, title phrases, attribute values, description
// lines), cleaned of banned terms and emoji by checker, within rules (zero
// limits take the server's defaults). It is deterministic.
func Compose(checker *compliance.Checker, p *listinggen.Product, rules listinggen.TextRules) listinggen.Copy {
	rules = Config{Rules: rules}.withDefaults().Rules
	clean := func(s string) string { return textnorm.CollapseSpace(checker.Clean(s)) }
	core := clean(p.CategoryLeaf())
	brand := clean(p.Brand)
	chunks := distinctChunks(clean(p.Title))

	var parts []string
	taken := ""
	add := func(s string, limit int) {
		if s == "" || strings.Contains(strings.ToLower(taken), strings.ToLower(s)) {
			return
		}
		with := textnorm.JoinWords(append(append([]string(nil), parts...), s))
		if limit > 0 && listinggen.TitleUnits(with) > limit {
			return
		}
		parts = append(parts, s)
		taken = with
	}
	if brand != "" {
		add(brand, rules.TitleMaxUnits)
	}
	if core != "" {
		add(core, rules.TitleMaxUnits)
	}
	for _, c := range chunks {
		add(c, rules.TitleMaxUnits)
	}
	title := textnorm.JoinWords(parts)
	if title == "" {
		title = "商品"
	}

	var points []string
	addPoint := func(label string, values []string) {
		if len(points) >= rules.MaxSellingPoints {
			return
		}
		for n := len(values); n > 0; n-- {
			pt := label + "：" + strings.Join(values[:n], "、")
			if listinggen.TitleUnits(pt) <= rules.SellingPointMaxUnits {
				points = append(points, pt)
				return
			}
		}
	}
	var material []string
	for _, at := range p.Attributes {
		name := clean(at.Name)
		var vs []string
		for _, v := range at.Values {
			if v = clean(v); v != "" {
				vs = append(vs, v)
			}
		}
		if name == "" || len(vs) == 0 {
			continue
		}
		if material == nil && (strings.Contains(name, "材质") || strings.Contains(name, "面料") || strings.Contains(name, "材料")) {
			material = vs
		}
		addPoint(name, vs)
	}
	var features []string
	for _, c := range chunks {
		if len(features) < 3 && c != core && c != brand {
			features = append(features, c)
		}
	}
	if len(features) > 0 {
		addPoint("特点", features)
	}
	if points == nil {
		points = []string{}
	}

	var desc []string
	subject := core
	if subject == "" {
		subject = title
	}
	if len(material) > 0 {
		desc = append(desc, "这款"+subject+"采用"+strings.Join(material, "、")+"。")
	} else {
		desc = append(desc, "这款"+subject+"，"+title+"。")
	}
	for _, pt := range points {
		if !strings.HasPrefix(pt, "特点：") {
			desc = append(desc, "可选"+pt+"。")
			break
		}
	}
	for _, line := range strings.Split(htmltext.PlainText(p.Description), "\n") {
		line = clean(line)
		if line == "" || strings.Contains(line, "【") || textnorm.Squash(line) == textnorm.Squash(clean(p.Title)) || utf8.RuneCountInString(line) > 80 {
			continue
		}
		desc = append(desc, line)
		break
	}
	description := ""
	for _, d := range desc {
		if utf8.RuneCountInString(description+d) > rules.DescriptionMaxRunes {
			break
		}
		description += d
	}

	keywords := []string{}
	seen := map[string]bool{}
	addKW := func(s string) {
		if k := strings.ToLower(s); s != "" && !seen[k] && len(keywords) < 6 && utf8.RuneCountInString(s) <= 12 {
			seen[k] = true
			keywords = append(keywords, s)
		}
	}
	addKW(core)
	addKW(brand)
	for _, c := range chunks {
		addKW(c)
	}
	for _, at := range p.Attributes {
		if len(at.Values) > 0 {
			addKW(clean(at.Values[0]))
		}
	}
	return listinggen.Copy{Title: title, SellingPoints: points, Description: description, Keywords: keywords}
}

// invent adds facts the source does not state, to test grounding: a brand,
// a weight and a material.
func invent(p *listinggen.Product, cp listinggen.Copy, rules listinggen.TextRules) listinggen.Copy {
	src := strings.ToLower(p.Title + p.Description + p.Brand + p.Category)
	for _, at := range p.Attributes {
		src += strings.ToLower(at.Name + strings.Join(at.Values, ""))
	}
	pick := func(options ...string) string {
		for _, o := range options {
			if !strings.Contains(src, strings.ToLower(o)) {
				return o
			}
		}
		return options[len(options)-1]
	}
	brand := pick("Nike", "Adidas", "Zara")
	weight := pick("2.5kg", "3.7kg", "9.3kg")
	material := pick("真丝", "羊绒", "钛合金")
	title := brand + " " + cp.Title
	for listinggen.TitleUnits(title) > rules.TitleMaxUnits {
		rs := []rune(title)
		title = string(rs[:len(rs)-1])
	}
	cp.Title = strings.TrimSpace(title)
	cp.SellingPoints = append([]string{"净重" + weight}, cp.SellingPoints...)
	if len(cp.SellingPoints) > rules.MaxSellingPoints {
		cp.SellingPoints = cp.SellingPoints[:rules.MaxSellingPoints]
	}
	cp.Description = "精选" + material + "材质。" + cp.Description
	return cp
}

// distinctChunks is textnorm.Chunks of a cleaned title without repeats (ignoring
// case), in order.
func distinctChunks(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range textnorm.Chunks(s) {
		if k := strings.ToLower(c); !seen[k] {
			seen[k] = true
			out = append(out, c)
		}
	}
	return out
}

// embeddingRequest is the part of an embeddings request the fake reads.
type embeddingRequest struct {
	Input      json.RawMessage `json:"input"`
	Model      string          `json:"model"`
	Dimensions int             `json:"dimensions"`
}

func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) {
	var req embeddingRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<20)).Decode(&req); err != nil || req.Model == "" {
		s.badRequest(w, "input", "We could not parse the JSON body of your request.")
		return
	}
	var inputs []string
	var one string
	if json.Unmarshal(req.Input, &one) == nil {
		inputs = []string{one}
	} else if json.Unmarshal(req.Input, &inputs) != nil || len(inputs) == 0 {
		s.badRequest(w, "input", "'input' must be a string or a non-empty array of strings")
		return
	}
	s.mu.Lock()
	s.stats.Embeddings++
	fault := OK
	if len(s.embScript) > 0 {
		fault, s.embScript = s.embScript[0], s.embScript[1:]
	}
	s.mu.Unlock()
	if !s.sleep(r.Context(), s.latency()) {
		return
	}
	if s.failCall(w, r, fault) {
		return
	}
	dims := s.cfg.EmbeddingDimensions
	if req.Dimensions > 0 {
		dims = req.Dimensions
	}
	data := make([]any, len(inputs))
	tokens := 0
	for i, in := range inputs {
		tokens += EstimateTokens(in)
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": Vector(in, dims)}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list", "data": data, "model": req.Model,
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens},
	})
}

// Vector is the fake's embedding of text: character unigrams and bigrams
// hashed into dims signed buckets, L2-normalised. Equal texts give equal
// vectors and similar texts similar ones.
func Vector(text string, dims int) []float32 {
	v := make([]float64, dims)
	rs := []rune(strings.ToLower(text))
	feature := func(s string) {
		h := fnv.New64a()
		h.Write([]byte(s))
		x := h.Sum64()
		sign := 1.0
		if x>>63 == 1 {
			sign = -1
		}
		v[x%uint64(dims)] += sign
	}
	for i := range rs {
		feature(string(rs[i : i+1]))
		if i+1 < len(rs) {
			feature(string(rs[i : i+2]))
		}
	}
	var norm float64
	for _, x := range v {
		norm += x * x
	}
	out := make([]float32, dims)
	if norm == 0 {
		out[0] = 1
		return out
	}
	norm = math.Sqrt(norm)
	for i, x := range v {
		out[i] = float32(x / norm)
	}
	return out
}
