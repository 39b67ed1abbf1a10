package main

import (
	"fmt"
	"os"
	"syscall"
)

// setIDs switches every thread of the process to uid and gid with no
// supplementary groups, when it runs as root. Go applies these calls to
// all threads on Linux, and setuid last, because after it the process may
// no longer change its groups. A process that is not root is left as it
// is: BuildKit, or whoever runs the image, already chose its user.
func setIDs(uid, gid int) (string, error) {
	if os.Geteuid() != 0 {
		return fmt.Sprintf("running as uid %d", os.Geteuid()), nil
	}
	if err := syscall.Setgroups(nil); err != nil {
		return "", fmt.Errorf("dropping the supplementary groups: %w", err)
	}
	if err := syscall.Setgid(gid); err != nil {
		return "", fmt.Errorf("switching to gid %d: %w", gid, err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return "", fmt.Errorf("switching to uid %d: %w", uid, err)
	}
	if os.Geteuid() != uid || os.Getegid() != gid {
		return "", fmt.Errorf("still uid %d gid %d after switching to %d:%d", os.Geteuid(), os.Getegid(), uid, gid)
	}
	return fmt.Sprintf("switched from root to uid %d gid %d", uid, gid), nil
}

// regainRoot tries to become root again; after setIDs it must fail.
func regainRoot() error { return syscall.Setuid(0) }
