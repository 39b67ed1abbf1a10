//go:build !linux

package main

// setIDs does nothing off Linux: the frontend image is Linux-only, and a
// frontend built for another system runs as whoever started it.
func setIDs(uid, gid int) (string, error) { return "not on Linux: user unchanged", nil }

func regainRoot() error { return nil }
