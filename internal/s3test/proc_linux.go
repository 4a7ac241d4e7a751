package s3test

import "syscall"

// sysProcAttr kills the server with the test binary, so a test killed by
// its timeout leaves no node process behind.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
