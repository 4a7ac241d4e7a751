package compliance

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/listinggen/listinggen/internal/sample"
)

var benchOnce sync.Once
var (
	benchTerms    []Term
	benchAllow    []string
	benchNumbers  []*NumberRule
	benchPatterns []*TextPattern
	benchText     string
)

// benchData is a 2,000-term dictionary (the real word lists, contact rules
// and claims plus generated CJK and Latin terms, all spelt in pinyin too)
// and about 10 MB of listing text (the sample catalogue's titles and
// descriptions, shuffled and repeated).
func benchData(b *testing.B) ([]Term, string) {
	benchOnce.Do(func() {
		d, err := loadData()
		if err != nil {
			b.Fatal(err)
		}
		benchTerms, benchAllow, benchNumbers, benchPatterns = d.terms, d.allow, d.numbers, d.patterns
		rng := rand.New(rand.NewPCG(1, 2))
		hanzi := []rune("的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从")
		seen := map[string]bool{}
		for _, t := range benchTerms {
			seen[t.Term] = true
		}
		for len(benchTerms) < 2000 {
			var term string
			if rng.IntN(5) == 0 {
				term = fmt.Sprintf("x%c%cz%d", 'a'+rng.IntN(26), 'a'+rng.IntN(26), rng.IntN(100))
			} else {
				n := 2 + rng.IntN(3)
				rs := make([]rune, n)
				for i := range rs {
					rs[i] = hanzi[rng.IntN(len(hanzi))]
				}
				term = string(rs)
			}
			if !seen[term] {
				seen[term] = true
				benchTerms = append(benchTerms, Term{Term: term, Category: "absolute", Severity: "block", pinyin: true})
			}
		}
		f, err := os.ReadFile(sample.Path("catalogue/sample-300.jsonl"))
		if err != nil {
			b.Fatal(err)
		}
		var lines []string
		for _, line := range strings.Split(string(f), "\n") {
			var p struct{ Title, Description string }
			if json.Unmarshal([]byte(line), &p) == nil {
				lines = append(lines, p.Title, p.Description)
			}
		}
		var sb strings.Builder
		for sb.Len() < 10<<20 {
			sb.WriteString(lines[rng.IntN(len(lines))])
			sb.WriteByte('\n')
		}
		benchText = sb.String()
	})
	return benchTerms, benchText
}

// BenchmarkMatcher: the matcher (normalising with every folding, the term
// and pinyin automata, contact numbers and patterns) against the naive loop
// of strings.Contains over every term, on the same 10 MB, one listing text
// at a time as the checker sees them. scripts/bench.sh reports MB/s and the
// ratio.
func BenchmarkMatcher(b *testing.B) {
	terms, text := benchData(b)
	docs := strings.Split(text, "\n")
	b.Run("baseline=naive-contains", func(b *testing.B) {
		b.SetBytes(int64(len(text)))
		found := 0
		for i := 0; i < b.N; i++ {
			for _, d := range docs {
				for t := range terms {
					if strings.Contains(d, terms[t].Term) {
						found++
					}
				}
			}
		}
		_ = found
	})
	b.Run("aho-corasick", func(b *testing.B) {
		m := NewMatcher(terms, benchAllow).withRules(benchNumbers, benchPatterns)
		b.SetBytes(int64(len(text)))
		b.ResetTimer()
		found := 0
		for i := 0; i < b.N; i++ {
			for _, d := range docs {
				found += len(m.Find(d))
			}
		}
		_ = found
	})
}
