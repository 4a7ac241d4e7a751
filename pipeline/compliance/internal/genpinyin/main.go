// Command genpinyin writes data/pinyin.json: the toneless pinyin readings
// (heteronyms included) of every Han character in the compliance word lists
// (data/terms.json, claims.json, contact.json), from the pinyin table of
// github.com/mozillazg/go-pinyin. The checker spells banned terms in pinyin
// from it at start-up; keeping only the word lists' characters keeps the
// file small and the run time free of the pinyin module. Run by go generate
// in pipeline/compliance after changing a word list.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"os"
	"path/filepath"
	"runtime/debug"
	"unicode"

	"github.com/mozillazg/go-pinyin"
)

func main() {
	out := flag.String("o", "data/pinyin.json", "output file")
	flag.Parse()
	chars := map[rune]bool{}
	for _, name := range []string{"terms.json", "claims.json", "contact.json"} {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(*out), name))
		if err != nil {
			log.Fatal(err)
		}
		for _, r := range string(b) {
			if unicode.Is(unicode.Han, r) {
				chars[r] = true
			}
		}
	}
	args := pinyin.NewArgs()
	args.Heteronym = true
	readings := map[string][]string{}
	for r := range chars {
		if ps := pinyin.SinglePinyin(r, args); len(ps) > 0 {
			readings[string(r)] = ps
		}
	}
	b, err := json.MarshalIndent(map[string]any{"source": source(), "readings": readings}, "", " ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("%s: %d characters", *out, len(readings))
}

// source names the module and version the readings come from.
func source() string {
	const path = "github.com/mozillazg/go-pinyin"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return path + " " + d.Version + " (MIT), Normal style, heteronyms"
			}
		}
	}
	return path + " (MIT), Normal style, heteronyms"
}
