package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

const helpText = `listinggen rewrites supplier products into marketplace listings.

Usage:
  listinggen serve    [flags]   serve the HTTP API (what "make run" runs)
  listinggen worker   [flags]   work batch job items (any number, sharing one PostgreSQL)
  listinggen batch -i catalogue.xlsx -o results.xlsx --shops a,b [flags]
                                a whole catalogue on the embedded default, with progress; resumable
  listinggen migrate  [flags]   apply database migrations and exit
  listinggen eval     [what]    dedup evaluation: Abt-Buy F1, catalogue clusters, per-shop diversity, check latency
  listinggen keys     create|list|revoke   manage API keys
  listinggen help               show this help

Development:
  listinggen fake-llm [flags]   a fake OpenAI-compatible provider on loopback, with
                                rate limits, latency and faults, for benchmarks

Run "listinggen <command> -h" for a command's flags. Every flag can also be
set by the environment variable shown in its help.
`

// run is the whole program: it reads configuration only from args and
// getenv, so that tests can start it like the real process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, helpText)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "worker":
		return worker(ctx, args[1:], getenv, stdout, stderr)
	case "batch":
		return batch(ctx, args[1:], getenv, stderr)
	case "migrate":
		return migrate(ctx, args[1:], getenv, stdout, stderr)
	case "fake-llm":
		return fakeLLM(ctx, args[1:], getenv, stdout, stderr)
	case "eval":
		return eval(ctx, args[1:], stdout, stderr)
	case "keys":
		return keys(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, helpText)
		return nil
	}
	fmt.Fprint(stderr, helpText)
	return fmt.Errorf("unknown command %q", args[0])
}

// envFlags binds a flag set to environment variables: the environment sets
// the default and an explicit flag wins.
type envFlags struct {
	fs     *flag.FlagSet
	getenv func(string) string
}

func newEnvFlags(name string, getenv func(string) string, stderr io.Writer) *envFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &envFlags{fs: fs, getenv: getenv}
}

func (f *envFlags) String(name, env, def, help string) *string {
	if v := f.getenv(env); v != "" {
		def = v
	}
	return f.fs.String(name, def, fmt.Sprintf("%s (env %s)", help, env))
}

func (f *envFlags) parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(f.fs.Args(), " "))
	}
	return nil
}
