// Command listinggen-lab holds the tools that measure the service rather
// than run it: the dedup evaluation and the fit of its model, the store and
// LLM benchmarks, and the fake OpenAI-compatible provider that load tests
// point a real server at. None of it is linked into the listinggen server
// binary.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const helpText = `listinggen-lab measures listinggen; nothing here runs in production.

Usage:
  listinggen-lab eval     [what]    dedup evaluation: pair F1, catalogue clusters, per-shop diversity, check latency
  listinggen-lab fit      [flags]   refit the dedup verifier and write the model the server embeds (--check: compare only)
  listinggen-lab storebench [flags] the dedup similarity query on both stores against an exact scan
  listinggen-lab llmbench [flags]   LLM rewriting throughput against the fake provider's rate limits
  listinggen-lab fake-llm [flags]   a fake OpenAI-compatible provider on loopback, with
                                    rate limits, latency and faults, for benchmarks
  listinggen-lab help               show this help

Run "listinggen-lab <command> -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "listinggen-lab:", err)
		os.Exit(1)
	}
}

// run is the whole program, reading configuration only from args and
// getenv so that tests start it like the real process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, helpText)
		return errors.New("no command given")
	}
	switch args[0] {
	case "fake-llm":
		return fakeLLM(ctx, args[1:], getenv, stdout, stderr)
	case "eval":
		return eval(ctx, args[1:], stdout, stderr)
	case "fit":
		return fit(ctx, args[1:], stdout, stderr)
	case "storebench":
		return storeBench(ctx, args[1:], getenv, stdout, stderr)
	case "llmbench":
		return llmBench(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, helpText)
		return nil
	}
	fmt.Fprint(stderr, helpText)
	return fmt.Errorf("unknown command %q", args[0])
}
