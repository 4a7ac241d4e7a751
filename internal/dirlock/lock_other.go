//go:build !unix && !windows

package dirlock

import (
	"errors"
	"os"
)

var errLocked = errors.New("locked by another process")

// lock has no operating-system lock to take on this platform: the
// directory is not guarded.
func lock(*os.File) error { return nil }
