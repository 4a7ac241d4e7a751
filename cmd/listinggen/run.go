package main

import (
	"context"
	"errors"
	"fmt"
	"io"
)

const helpText = `listinggen rewrites supplier products into marketplace listings.

Usage:
  listinggen serve    [flags]   serve the HTTP API (what "make run" runs)
  listinggen worker   [flags]   work batch job items (any number, sharing one PostgreSQL)
  listinggen batch -i catalogue.xlsx -o results.xlsx --shops a,b [flags]
                                a whole catalogue on the embedded default, with progress; resumable
  listinggen migrate  [flags]   apply database migrations and exit
  listinggen keys     create|list|revoke   manage API keys
  listinggen help               show this help

The evaluation, benchmark and fake-provider tools are in listinggen-lab.

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
	case "keys":
		return keys(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, helpText)
		return nil
	}
	fmt.Fprint(stderr, helpText)
	return fmt.Errorf("unknown command %q", args[0])
}
