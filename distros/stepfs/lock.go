package stepfs

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/copa/frontend/distros"
)

// Commands are the helper commands every format's steps may run.
var Commands = []distros.HelperCommand{
	{Name: distros.CmdLock, Usage: "FD", Args: 1, Run: runLock},
}

// runLock takes the exclusive lock on descriptor FD, which the helper
// inherited from the step's shell: flock locks belong to the open file,
// so the shell holds the lock after the helper exits, until it closes the
// descriptor (or exits, also when a command fails under set -e). The
// message says why a step is waiting, as BuildKit shows no progress then.
func runLock(args []string) error {
	fd, err := strconv.Atoi(args[0])
	if err != nil || fd < 3 {
		return fmt.Errorf("lock: %q is not a descriptor the shell opened (3 or more)", args[0])
	}
	return Lock(fd, func() {
		fmt.Fprintln(os.Stderr, "copa: waiting for a concurrent build that shares this step's package caches")
	})
}

// Lock takes an exclusive flock on fd, calling waiting first when another
// holder makes it wait.
func Lock(fd int, waiting func()) error {
	err := flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		waiting()
		err = flock(fd, syscall.LOCK_EX)
	}
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	return nil
}

func flock(fd, how int) error {
	for {
		err := syscall.Flock(fd, how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
