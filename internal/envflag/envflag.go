// Package envflag binds command-line flags to environment variables, so
// that every setting of the binaries can come from either: the environment
// sets the default and an explicit flag wins.
package envflag

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// FlagSet is a flag.FlagSet whose String flags may also be set by an
// environment variable. getenv is injected so that tests run a command as
// the real process would, without touching the process environment.
type FlagSet struct {
	*flag.FlagSet
	getenv func(string) string
}

// New returns a FlagSet that reports errors to stderr and returns them
// rather than exiting.
func New(name string, getenv func(string) string, stderr io.Writer) *FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &FlagSet{FlagSet: fs, getenv: getenv}
}

// String defines a string flag whose default is the variable env when it is
// set; the help text names the variable.
func (f *FlagSet) String(name, env, def, help string) *string {
	if v := f.getenv(env); v != "" {
		def = v
	}
	return f.FlagSet.String(name, def, fmt.Sprintf("%s (env %s)", help, env))
}

// Parse parses args and refuses positional arguments: a stray word is a
// typo, and a silently ignored one would run with settings nobody asked for.
func (f *FlagSet) Parse(args []string) error {
	if err := f.FlagSet.Parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(f.Args(), " "))
	}
	return nil
}
