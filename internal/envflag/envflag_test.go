package envflag_test

import (
	"io"
	"strings"
	"testing"

	"github.com/listinggen/listinggen/internal/envflag"
)

func TestEnvironmentSetsTheDefaultAndAFlagWins(t *testing.T) {
	t.Parallel()
	env := map[string]string{"ADDR": "127.0.0.1:9000"}
	getenv := func(k string) string { return env[k] }

	f := envflag.New("t", getenv, io.Discard)
	addr := f.String("addr", "ADDR", "127.0.0.1:8080", "listen address")
	if err := f.Parse(nil); err != nil || *addr != "127.0.0.1:9000" {
		t.Fatalf("from the environment: %q, %v", *addr, err)
	}
	f = envflag.New("t", getenv, io.Discard)
	addr = f.String("addr", "ADDR", "127.0.0.1:8080", "listen address")
	if err := f.Parse([]string{"--addr", "127.0.0.1:1"}); err != nil || *addr != "127.0.0.1:1" {
		t.Fatalf("flag over environment: %q, %v", *addr, err)
	}
	var help strings.Builder
	f = envflag.New("t", func(string) string { return "" }, &help)
	f.String("addr", "ADDR", "127.0.0.1:8080", "listen address")
	f.PrintDefaults()
	if !strings.Contains(help.String(), "(env ADDR)") {
		t.Errorf("help does not name the variable: %s", help.String())
	}
}

func TestPositionalArgumentsAreRefused(t *testing.T) {
	t.Parallel()
	f := envflag.New("t", func(string) string { return "" }, io.Discard)
	if err := f.Parse([]string{"stray"}); err == nil || !strings.Contains(err.Error(), "stray") {
		t.Fatalf("Parse(stray) = %v", err)
	}
}
